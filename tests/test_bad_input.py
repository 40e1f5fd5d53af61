"""Bad input at every public entry point: a correct result or a clear error naming the argument,
the value and what is accepted; never a crash, a raw NumPy error or a silently wrong number."""

import math
import os
import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastnn
from fastnn import TwoLayerNet, train
from fastnn.cli import main
from fastnn.datasets import mnist


def _data(mnist_small, x_test=None, x_train=None):
    x, y, xt, yt = mnist_small
    return (x if x_train is None else x_train, y[:len(x if x_train is None else x_train)],
            xt if x_test is None else x_test, yt[:len(xt if x_test is None else x_test)])


# -- train() ------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [2000, -200])
def test_a_test_set_of_another_width_is_refused(backend, mnist_small, extra):
    _, _, xt, _ = mnist_small
    other = np.zeros((len(xt), 784 + extra), np.uint8)
    with pytest.raises(ValueError, match=f"x_test has {784 + extra} pixels per sample but "
                                         "x_train has 784"):
        train(backend=backend.name, iters=2, batch_size=8, data=_data(mnist_small, other))


def test_a_much_wider_test_set_cannot_crash_the_process(mnist_small):
    # It read past the end of W1 (SIGSEGV); in a child so a crash cannot take pytest with it.
    script = textwrap.dedent("""
        import numpy as np, fastnn
        from fastnn.datasets.mnist import load_arrays
        x, y, xt, yt = load_arrays()
        wide = np.full((500, 784 + 30000), 255, np.uint8)
        net = fastnn.TwoLayerNet(784, 50, 10, backend="numba", seed=0)
        for attempt in (lambda: fastnn.train(data=(x[:2000], y[:2000], wide, yt[:500]),
                                             iters=2, batch_size=8),
                        lambda: net.accuracy_u8(wide, yt[:500]),
                        lambda: net.backend.predict_labels_u8(
                            wide, *(net.params[k] for k in ("W1", "b1", "W2", "b2")), "relu",
                            np.empty(500, np.int64))):
            try:
                attempt()
                print("no error")
            except ValueError as exc:
                print("ValueError", "784" in str(exc))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["ValueError True"] * 3


@pytest.mark.parametrize("which, message", [
    ("x_train", "x_train has no samples"), ("x_test", "x_test has no samples")])
def test_empty_sets_are_refused(mnist_small, which, message):
    empty = np.zeros((0, 784), np.uint8)
    data = _data(mnist_small, **{which: empty})
    with pytest.raises(ValueError, match=message):
        train(backend="numpy", iters=2, batch_size=1, data=data)


@pytest.mark.parametrize("kwargs, exc, message", [
    (dict(learning_rate=10**400), ValueError, "learning_rate must be a finite number > 0, got an"
                                              " integer of 401 digits"),
    (dict(learning_rate=Fraction(-1, 2)), ValueError, "learning_rate must be a finite number"),
    (dict(seed=2**40), ValueError, "seed must be an integer in 0..4294967295 .*1099511627776"),
    (dict(dtype=">f2"), ValueError, "dtype='>f2' is not accepted"),
    (dict(hidden_size=10**9), ValueError, "hidden_size=1000000000 .* needs about .* of memory"),
])
def test_more_bad_arguments_name_the_argument(mnist_small, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        train(backend="numpy", iters=2, batch_size=8, data=mnist_small, **kwargs)


def test_a_fraction_learning_rate_is_a_number_like_any_other(mnist_small):
    exact = train(backend="numpy", iters=5, batch_size=8, data=mnist_small, learning_rate=0.25)
    fraction = train(backend="numpy", iters=5, batch_size=8, data=mnist_small,
                     learning_rate=Fraction(1, 4))
    assert exact.history == fraction.history


def test_big_endian_dtypes_are_the_native_ones(backend, mnist_small):
    native = train(backend=backend.name, iters=5, batch_size=8, data=mnist_small,
                   dtype="float64")
    swapped = train(backend=backend.name, iters=5, batch_size=8, data=mnist_small, dtype=">f8")
    assert swapped.config.dtype == "float64" and swapped.history == native.history
    net = TwoLayerNet(784, 5, 10, dtype=">f4", backend=backend.name, seed=0)
    assert net.dtype == np.float32 and net.dtype.isnative
    assert net.predict(np.zeros(784)).dtype == np.float32


# -- TwoLayerNet --------------------------------------------------------------------------------

@pytest.fixture
def net(backend):
    return TwoLayerNet(784, 8, 10, weight_init_std=0.1, backend=backend.name, seed=0)


def test_accuracy_on_pixels_checks_its_arguments(net, mnist_small):
    x, y, _, _ = mnist_small
    for bad_x, message in ((x[:, :700], "shape \\(n_samples, 784\\)"),
                           (x.astype(np.float64), "must be uint8"),
                           (x[:0], "has no samples")):
        with pytest.raises(ValueError, match=message):
            net.accuracy_u8(bad_x, y[:len(bad_x)])
    with pytest.raises(ValueError, match="expected 2000 integer labels"):
        net.accuracy_u8(x, y[:10])
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        net.accuracy_u8(x, y + 10)


@pytest.mark.parametrize("call", ["predict", "predict_labels", "loss", "accuracy", "gradient"])
def test_network_methods_refuse_what_is_not_a_batch(net, call):
    x = np.random.default_rng(0).random((4, 784))
    t = np.array([1, 2, 3, 4])
    method = getattr(net, call)

    def run(x, t=t):
        return method(x) if call in ("predict", "predict_labels") else method(x, t)
    for bad, exc, message in ((x[:, :10], ValueError, "shape \\(n_samples, 784\\)"),
                              ("pixels", TypeError, "array of numbers"),
                              (None, TypeError, "array of numbers"),
                              (np.full((4, 784), np.nan), ValueError, "NaN or infinite")):
        with pytest.raises(exc, match=message):
            run(bad)
    if call not in ("predict", "predict_labels"):
        with pytest.raises(ValueError, match="labels"):
            run(x, np.array([1, 2]))


def test_a_value_too_large_for_float32_is_called_that(backend):
    net = TwoLayerNet(784, 8, 10, dtype="float32", backend=backend.name, seed=0)
    x = np.zeros(784)
    x[5] = 1e300
    with pytest.raises(ValueError, match="too large for float32 .*1e\\+300"):
        net.predict(x)


def test_the_fused_step_and_the_reference_agree_on_an_infinite_weight(mnist_small):
    from fastnn.optimizers import SGD

    x, y, _, _ = mnist_small
    results = {}
    for name in ("numpy", "numba"):
        net = TwoLayerNet(784, 20, 10, backend=name, seed=0)
        net.params["W1"][0, 0] = np.inf  # pixel 0 is 0 in every image: 0 * inf = nan
        step = net.train_step(x, y, SGD(0.05), 32)
        with np.errstate(all="ignore"):
            results[name] = step(np.arange(32))[0], {k: v.copy() for k, v in net.params.items()}
    assert math.isnan(results["numpy"][0]) and math.isnan(results["numba"][0])
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(np.isnan(results["numba"][1][key]),
                                      np.isnan(results["numpy"][1][key]), err_msg=key)


# -- the teaching program's functions -------------------------------------------------------------

@pytest.mark.parametrize("call, arg, exc, message", [
    (fastnn.softmax, [], ValueError, "softmax: x must have at least one value"),
    (fastnn.softmax, np.zeros((3, 0)), ValueError, "softmax: x must have at least one value"),
    (fastnn.sigmoid, "a", TypeError, "sigmoid: x must be an array of numbers, got str"),
    (fastnn.relu, None, TypeError, "relu: x must be an array of numbers, got NoneType"),
    (fastnn.relu_grad, [[1], [1, 2]], TypeError, "relu_grad: x must be an array of numbers"),
    (fastnn.step_function, {"a": 1}, TypeError, "step_function: x must be an array"),
])
def test_functions_refuse_what_is_not_numbers(call, arg, exc, message):
    with pytest.raises(exc, match=message):
        call(arg)


def test_cross_entropy_of_nothing_is_refused():
    with pytest.raises(ValueError, match="not empty"):
        fastnn.cross_entropy_error(np.zeros((0, 10)), np.zeros(0, int))


_floats = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
                     elements=st.floats(allow_nan=True, allow_infinity=True, width=64))


@settings(max_examples=200, deadline=None)
@given(x=_floats)
def test_functions_on_arbitrary_arrays_give_the_formula_or_our_error(x):
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(fastnn.relu(x), np.maximum(0, x))
        np.testing.assert_array_equal(fastnn.sigmoid(x), 1 / (1 + np.exp(-x)))
        y = fastnn.softmax(x)
    assert y.shape == x.shape
    finite_rows = np.isfinite(x).all(axis=-1)
    sums = np.sum(y, axis=-1)
    np.testing.assert_allclose(np.where(finite_rows, sums, 1.0), 1.0, rtol=1e-12)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=hnp.arrays(np.float64, st.tuples(st.integers(0, 3), st.sampled_from([784, 783])),
                    elements=st.floats(-1e6, 1e6) | st.just(np.nan)))
def test_predict_on_arbitrary_arrays_is_right_or_refused(net, x):
    try:
        probs = net.predict(x)
    except ValueError as exc:
        assert ("784" in str(exc) and x.shape[1] != 784) or np.isnan(x).any() or len(x) == 0, exc
        return
    assert x.shape[1] == 784 and np.isfinite(x).all() and len(x) > 0
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)


# -- loaders ------------------------------------------------------------------------------------

def test_load_data_expands_a_tilde(tmp_path, monkeypatch):
    (x, y), (xt, yt) = mnist.load_data()
    np.savez(tmp_path / "mine.npz", x_train=x[:5], y_train=y[:5], x_test=xt[:3], y_test=yt[:3])
    monkeypatch.setenv("HOME", str(tmp_path))
    (x5, _), (x3, _) = mnist.load_data("~/mine.npz")
    np.testing.assert_array_equal(x5, x[:5])
    assert x3.shape == (3, 28, 28)


# -- the command line ---------------------------------------------------------------------------

def test_a_seed_out_of_range_is_named_in_the_cli(capsys):
    assert main(["train", "--seed", str(2**40), "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert "seed must be an integer in 0..4294967295" in err and "(set by --seed)" in err


def test_a_bad_fastnn_backend_variable_is_not_blamed_on_the_flag(capsys, monkeypatch):
    monkeypatch.setenv("FASTNN_BACKEND", "gpu")
    assert main(["train", "--no-plot", "--iters", "1"]) == 2
    err = capsys.readouterr().err
    assert "FASTNN_BACKEND='gpu'" in err and "--backend" not in err


def test_bench_into_an_unwritable_place_fails_at_once(capsys):
    assert main(["bench", "--out", "/proc/fastnn-bench"]) == 1
    err = capsys.readouterr().err
    assert "--out: cannot write /proc/fastnn-bench/REPORT.md" in err and "Traceback" not in err


def test_info_into_a_closed_pipe_exits_0_without_a_traceback():
    script = (f"{sys.executable} -m fastnn info | head -1")
    out = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert out.stdout.startswith("fastnn ")
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr
    assert out.returncode == 0
