"""Shared fixtures: every backend-dependent test runs on every registered backend."""

import signal

import numpy as np
import pytest

from fastnn import backends

# A run started in the background by a non-interactive shell (nohup, `&`) inherits SIGINT
# ignored, and so would every process it starts: the Ctrl-C tests need it delivered.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(params=backends.NAMES)
def backend(request):
    """Each registered backend; an unusable one fails the test (numba is a hard dependency)."""
    reason = backends.unavailable_reason(request.param)
    if reason is not None:
        pytest.fail(f"backend {request.param!r} is unavailable: {reason}")
    return backends.get(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def mnist_small():
    """2,000 training and 500 test images of the bundled MNIST, as train() takes them."""
    from fastnn.datasets.mnist import load_arrays

    x_train, y_train, x_test, y_test = load_arrays()
    return x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]


@pytest.fixture(scope="session")
def crosscheck_report():
    """The cross-check table run once per session: Numba against the NumPy reference."""
    from fastnn.backends.crosscheck import run_crosscheck

    reason = backends.unavailable_reason("numba")
    if reason is not None:
        pytest.fail(f"backend 'numba' is unavailable: {reason}")
    return run_crosscheck(reference="numpy", candidate="numba")
