"""Shared pieces of the pytest-benchmark files.

The default ``pytest`` run passes ``--benchmark-disable`` (pyproject ``addopts``): every benchmark
body then runs exactly once, untimed, and its assertions still hold, so the files cannot rot.
``pytest bench --benchmark-enable`` times them; each group (``kernel|shape|dtype``) puts the
implementations side by side. Warm-up is on (module ``pytestmark``) and every timed function is
also called once before timing, so JIT compilation is never measured.

Implementations: the registry's backends (``backends.NAMES``); for the training benchmarks also
``"naive"`` (the teaching program's loop, :mod:`fastnn.bench.baselines.naive`) and ``"torch"``
(the optional PyTorch twin, :mod:`fastnn.bench.baselines.torch_twin`). One that cannot run here is
skipped with its reason, and the reasons are printed at the end of the run. Each bench file says
at its top which sizes it covers and which marker turns warm-up on.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import backends

#: Relative tolerance of a backend against the NumPy reference, per dtype (scaled by the largest
#: reference value, so that sums with cancellation are judged against their terms' size).
TOL = {"float64": 1e-9, "float32": 2e-4}
_skipped: dict[str, str] = {}


def group(kernel, shape, dtype):
    """The group name ``kernel|shape|dtype`` that puts the implementations side by side."""
    return f"{kernel}|{shape}|{dtype}"


def require(impl):
    """Skip the current benchmark, with the reason, when ``impl`` cannot run here."""
    if impl == "naive":
        return
    if impl == "torch":
        from fastnn.bench.baselines.torch_twin import torch_unavailable
        why = torch_unavailable()
    else:
        why = backends.unavailable_reason(impl)
    if why is not None:
        _skipped[impl] = why
        pytest.skip(f"{impl} unavailable: {why}")


def assert_close(actual, expected, dtype, what="", scale=None):
    """``actual`` equals ``expected`` within the dtype's tolerance, relative to their scale."""
    expected = np.asarray(expected)
    tol = TOL[np.dtype(dtype).name]
    if scale is None:
        scale = float(np.max(np.abs(expected))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(scale, 1e-30),
                               err_msg=what)


class BenchTools:
    """The helpers above, handed to the benchmark files as the ``tools`` fixture (a bench file
    cannot ``import conftest`` safely: ``tests/`` has a ``conftest`` module too)."""

    tol = TOL
    group = staticmethod(group)
    require = staticmethod(require)
    assert_close = staticmethod(assert_close)


def pytest_terminal_summary(terminalreporter):
    for impl, why in sorted(_skipped.items()):
        terminalreporter.write_line(f"bench: the {impl!r} rows were skipped: {why}")


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST as uint8 pixels and int64 labels: (x_train, y_train, x_test, y_test)."""
    from fastnn.datasets.mnist import load_arrays
    return load_arrays()


@pytest.fixture
def timing(request):
    """True when benchmarks are timed; False in the default run (each body runs once).

    pytest-benchmark's own rule: ``--benchmark-enable`` overrides the ``--benchmark-disable``
    that pyproject's ``addopts`` always passes.
    """
    option = request.config.getoption
    return not (option("benchmark_disable") and not option("benchmark_enable"))


@pytest.fixture(scope="session")
def tools():
    """:class:`BenchTools`: ``group``, ``require``, ``assert_close`` and ``tol``."""
    return BenchTools
