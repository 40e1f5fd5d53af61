"""The Numba step's dense route: data with many non-zero pixels goes through BLAS."""

import numpy as np
import pytest

from fastnn import train
from fastnn.backends._fused import DENSE_ROUTE_SHARE
from fastnn.network import TwoLayerNet
from fastnn.optimizers import make_optimizer


def _pixels(n, share, seed=0):
    """uint8 images with exactly round(share * 784) non-zero pixels each."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 784), np.uint8)
    k = int(round(share * 784))
    for row in x:
        row[rng.choice(784, k, replace=False)] = rng.integers(1, 256, k)
    return x, rng.integers(0, 10, n)


def _steps(x, y, optimizer, backend):
    net = TwoLayerNet(784, 20, 10, backend=backend, seed=np.random.RandomState(0))
    return net, net.train_step(x, y, make_optimizer(optimizer, 0.01), 32)


@pytest.mark.parametrize("share, route", [(DENSE_ROUTE_SHARE - 0.02, "sparse"),
                                          (DENSE_ROUTE_SHARE + 0.02, "dense"), (1.0, "dense")])
def test_the_route_follows_the_share_of_non_zero_pixels(share, route):
    x, y = _pixels(200, share)
    assert _steps(x, y, "sgd", "numba")[1].route == route


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_the_dense_route_gives_the_reference_bits(optimizer):
    x, y = _pixels(300, 0.9, seed=1)
    (ours, step), (ref, ref_step) = _steps(x, y, optimizer, "numba"), _steps(x, y, optimizer,
                                                                              "numpy")
    draws = np.random.default_rng(2)
    for _ in range(5):
        idx = draws.integers(0, 300, 32)
        assert step(idx) == ref_step(idx)
    for name, value in ref.params.items():
        np.testing.assert_array_equal(ours.params[name], value)


def test_a_row_outside_the_data_is_refused_on_the_dense_route():
    x, y = _pixels(50, 1.0)
    _, step = _steps(x, y, "sgd", "numba")
    with pytest.raises(IndexError, match="rows 0..49 of x_u8"):
        step(np.full(32, 50))


def test_train_on_dense_data_matches_the_numpy_backend():
    x, y = _pixels(400, 0.95, seed=3)
    xt, yt = _pixels(100, 0.95, seed=4)
    runs = [train(backend=b, data=(x, y, xt, yt), iters=30, batch_size=32, hidden_size=16,
                  optimizer="adam", learning_rate=0.001, seed=5) for b in ("numba", "numpy")]
    assert runs[0].history["train_loss"] == runs[1].history["train_loss"]
    assert runs[0].history["test_acc"] == runs[1].history["test_acc"]
