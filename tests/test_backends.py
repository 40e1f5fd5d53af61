"""The backend registry: names, auto, FASTNN_BACKEND, lazy imports and the numba fallback."""

import subprocess
import sys
import textwrap

import pytest

from fastnn import backends
from fastnn.backends.interface import Backend


def run_python(code):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_registry_lists_both_backends_and_numpy_always_works():
    assert backends.NAMES == ("numpy", "numba")
    assert "numpy" in backends.available()
    assert backends.unavailable_reason("numpy") is None
    assert isinstance(backends.get("numpy"), Backend)
    assert backends.get(backends.get("numpy")) is backends.get("numpy")


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="backend='tpu' is not a known backend; expected one of "
                                         "'auto', 'numpy', 'numba'"):
        backends.get("tpu")
    with pytest.raises(ValueError, match="backend=3"):
        backends.get(3)


def test_environment_variable_overrides_auto(monkeypatch):
    monkeypatch.setenv("FASTNN_BACKEND", "numpy")
    assert backends.resolve_name("auto") == "numpy"
    assert backends.get().name == "numpy"
    assert backends.resolve_name("numba") == "numba"  # an explicit name wins
    monkeypatch.setenv("FASTNN_BACKEND", "fortran")
    with pytest.raises(ValueError, match="FASTNN_BACKEND='fortran'"):
        backends.get()


def test_auto_prefers_numba_when_it_works():
    if backends.unavailable_reason("numba") is not None:
        pytest.fail(f"numba is a dependency but unusable: {backends.unavailable_reason('numba')}")
    assert backends.resolve_name("auto") == "numba"


def test_import_fastnn_imports_neither_numba_nor_matplotlib():
    out = run_python("""
        import sys, fastnn
        print(sorted(m for m in ("numba", "matplotlib") if m in sys.modules))
    """)
    assert out.strip() == "[]"


def test_auto_falls_back_to_numpy_with_one_warning_when_numba_is_missing():
    out = run_python("""
        import sys, warnings
        sys.modules["numba"] = None  # makes `import numba` raise ImportError
        from fastnn import backends, TwoLayerNet
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            print(backends.available())
            print(backends.get("auto").name, TwoLayerNet(4, 3, 2).backend.name)
        message = str(caught[0].message)
        print(len(caught), caught[0].category.__name__, "pip install numba" in message)
        try:
            backends.get("numba")
        except backends.BackendUnavailableError as exc:
            reason = backends.unavailable_reason("numba")
            print("refused:", reason in str(exc), "backend='numpy'" in str(exc))
    """)
    assert out.splitlines() == ["['numpy']", "numpy numpy", "1 RuntimeWarning True",
                                "refused: True True"]


def test_auto_trains_on_numba_at_every_batch_size(monkeypatch, mnist_small):
    """bench/REPORT.md finds the fused Numba step faster from batch 1 up, so auto never
    switches to NumPy by batch size; FASTNN_BACKEND still overrides it."""
    from fastnn import train

    monkeypatch.delenv("FASTNN_BACKEND", raising=False)
    for batch_size in (1, 8, 64):
        assert train(backend="auto", batch_size=batch_size, iters=2,
                     data=mnist_small).backend == "numba"
    monkeypatch.setenv("FASTNN_BACKEND", "numpy")
    assert train(backend="auto", batch_size=64, iters=2, data=mnist_small).backend == "numpy"


def test_a_backend_that_fails_for_another_reason_says_that_not_install_numba():
    out = run_python("""
        import warnings
        from fastnn.backends import numba_backend
        def broken(self):
            raise RuntimeError("cannot cache function 'probe': no locator available")
        numba_backend.NumbaBackend.__init__ = broken
        from fastnn import backends
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            print(backends.get("auto").name)
        message = str(caught[0].message)
        print("no locator available" in message, "pip install numba" in message,
              "installed but" in message)
    """)
    assert out.splitlines() == ["numpy", "True False True"]
