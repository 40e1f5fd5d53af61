"""fastnn gradcheck: passes on the real gradients, fails on a deliberately broken one."""

import re

import numpy as np
import pytest

import fastnn
from fastnn import network as network_module
from fastnn.backends.numpy_backend import NumpyBackend
from fastnn.cli import main
from fastnn.gradcheck import TOLERANCE, gradient_check, run_gradcheck


@pytest.fixture(scope="module")
def report():
    return run_gradcheck()


def test_every_backend_and_activation_passes(report):
    assert report.ok
    assert {(r.backend, r.activation) for r in report.rows} == {
        (b, a) for b in ("numpy", "numba") for a in ("relu", "sigmoid")}
    assert [r.param for r in report.rows[:4]] == ["W1", "b1", "W2", "b2"]
    for row in report.rows:
        assert row.max_diff <= TOLERANCE == 1e-6
        assert row.max_grad > 1e-4, row  # a gradient to compare, not zeros against zeros
    assert "<= 1e-06: backpropagation agrees" in report.format_table()


def _broken_backward(original, key, by):
    """``two_layer_backward`` that adds ``by`` to one element of gradient ``key``."""
    position = {"dW1": 8, "db1": 9, "dW2": 10, "db2": 11}[key]  # args[0] is the backend

    def broken(*args):
        result = original(*args)
        args[position].flat[-1] += by
        return result
    return broken


def test_a_broken_numpy_gradient_fails_the_check(monkeypatch, capsys):
    monkeypatch.setattr(NumpyBackend, "two_layer_backward",
                        _broken_backward(NumpyBackend.two_layer_backward, "dW1", 1e-5))
    rows = gradient_check("numpy", "relu")
    assert [r.param for r in rows if not r.ok] == ["W1"]
    assert rows[0].max_diff == pytest.approx(1e-5, rel=1e-3)
    assert main(["gradcheck", "--backend", "numpy", "--activation", "relu"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"numpy +relu +W1 .* WRONG \(> 1e-06\)", out)
    assert "gradient of W1 (numpy, relu) differs from the numerical one by 1.00e-05" in out


def test_a_broken_numba_kernel_fails_the_check(monkeypatch):
    from fastnn.backends import numba_backend

    real = numba_backend.NumbaBackend.loss_gradient  # what TwoLayerNet.gradient calls

    def broken(self, X, labels, W1, b1, W2, b2, act, dW1, db1, dW2, db2):
        loss = real(self, X, labels, W1, b1, W2, b2, act, dW1, db1, dW2, db2)
        db2 *= 1.001
        return loss

    monkeypatch.setattr(numba_backend.NumbaBackend, "loss_gradient", broken)
    report = run_gradcheck(["numba", "numpy"], ["sigmoid"])
    assert [(r.backend, r.param) for r in report.rows if not r.ok] == [("numba", "b2")]
    assert not report.ok and report.largest.param == "b2"


def test_the_command_prints_a_row_per_parameter_and_exits_0(capsys):
    assert main(["gradcheck", "--backend", "numba", "--hidden", "3", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^numba +(relu|sigmoid) +(W1|b1|W2|b2) +(\S+) +(\S+)  ok$", out,
                      re.MULTILINE)
    assert len(rows) == 8 and all(float(diff) <= 1e-6 for *_, diff, _ in rows)
    assert "784-3-10 network, 2 MNIST training images" in out


@pytest.mark.parametrize("argv, message", [
    (["--hidden", "0"], "--hidden must be >= 1"),
    (["--batch-size", "70000"], "--batch-size must be <= 60000"),
])
def test_bad_settings_are_named(argv, message, capsys):
    assert main(["gradcheck", *argv]) == 2
    assert message in capsys.readouterr().err


def test_numerical_gradient_documents_its_cost():
    # 784-50-10: W1 784 x 50, b1 50, W2 50 x 10, b2 10, two loss evaluations each
    n_params = 784 * 50 + 50 + 50 * 10 + 10
    assert n_params == 39_760
    doc = fastnn.TwoLayerNet.numerical_gradient.__doc__
    assert "39,760 parameters" in doc and f"{2 * n_params:,} forward passes" in doc


def test_numerical_gradient_shows_progress_when_it_will_take_long(monkeypatch):
    bars = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def close(self):
            self.closed = True

    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    net = fastnn.TwoLayerNet(30, 4, 10, backend="numpy", seed=0)
    x, t = np.random.default_rng(0).random((3, 30)), np.array([1, 2, 3])
    quiet = net.numerical_gradient(x, t)  # a fraction of a second: no bar
    assert bars == []
    monkeypatch.setattr(network_module, "NUMERICAL_GRADIENT_BAR_SECONDS", 0.0)
    shown = net.numerical_gradient(x, t)  # "long" now
    (bar,) = bars
    n_params = 30 * 4 + 4 + 4 * 10 + 10
    assert bar.total == 2 * n_params and 0 < bar.n <= bar.total and bar.closed
    net.numerical_gradient(x, t, progress=False)
    assert len(bars) == 1
    for key in quiet:
        np.testing.assert_array_equal(quiet[key], shown[key])
