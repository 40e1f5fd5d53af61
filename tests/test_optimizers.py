"""Optimizers: one hand-worked update each, the registry, and bad input."""

import numpy as np
import pytest

from fastnn.optimizers import OPTIMIZERS, make_optimizer


def one_update(name, lr, p=1.0, g=0.5, steps=1, **kwargs):
    opt = OPTIMIZERS[name](lr, **kwargs)
    params = {"W1": np.array([p])}
    for _ in range(steps):
        opt.update(params, {"W1": np.array([g])})
    return params["W1"][0]


def test_sgd_by_hand():
    # p = 1 - 0.1 * 0.5
    assert one_update("sgd", 0.1) == 0.95


def test_momentum_by_hand():
    # v1 = 0.9 * 0 - 0.1 * 0.5 = -0.05, p1 = 0.95; v2 = 0.9 * -0.05 - 0.05 = -0.095, p2 = 0.855
    assert one_update("momentum", 0.1, steps=2) == pytest.approx(0.855, abs=1e-15)


def test_adagrad_by_hand():
    # h = 0.25, p = 1 - 0.1 * 0.5 / (0.5 + 1e-7)
    assert one_update("adagrad", 0.1) == pytest.approx(1 - 0.05 / (0.5 + 1e-7), abs=1e-15)


def test_rmsprop_by_hand():
    # h = 0.01 * 0.25 = 0.0025, sqrt = 0.05, p = 1 - 0.1 * 0.5 / (0.05 + 1e-7)
    assert one_update("rmsprop", 0.1) == pytest.approx(1 - 0.05 / (0.05 + 1e-7), abs=1e-12)


def test_adam_by_hand():
    # t = 1: lr_t = 0.1 * sqrt(1 - 0.999) / (1 - 0.9); m = 0.1 * 0.5 = 0.05;
    # v = 0.001 * 0.25 = 0.00025; p = 1 - lr_t * 0.05 / (sqrt(0.00025) + 1e-7) ~ 1 - 0.1 (Adam's
    # first step is lr * sign(g))
    lr_t = 0.1 * np.sqrt(0.001) / 0.1
    expected = 1 - lr_t * 0.05 / (np.sqrt(0.00025) + 1e-7)
    assert one_update("adam", 0.1) == pytest.approx(expected, abs=1e-12)
    assert one_update("adam", 0.1) == pytest.approx(0.9, abs=1e-5)


def test_updates_happen_in_place_on_the_callers_arrays():
    W = np.ones(3)
    params = {"W1": W}
    make_optimizer("adam", 0.01).update(params, {"W1": np.ones(3)})
    assert params["W1"] is W and (W < 1).all()


def test_nesterov_by_hand():
    # step 1 (v0 = 0): p1 = 1 + 0.81 * 0 - 1.9 * 0.1 * 0.5 = 0.905, v1 = 0 - 0.05 = -0.05;
    # step 2: p2 = 0.905 + 0.81 * -0.05 - 0.095 = 0.7695
    assert one_update("nesterov", 0.1, steps=2) == pytest.approx(0.7695, abs=1e-15)


def test_weight_decay_adds_lambda_w_to_the_weights_gradients_only():
    # W: g = 0.5 + 0.1 * 2 = 0.7, p = 2 - 0.1 * 0.7 = 1.93; b: untouched by the decay
    opt = make_optimizer("sgd", 0.1, weight_decay=0.1)
    params = {"W1": np.array([2.0]), "b1": np.array([2.0])}
    opt.update(params, {"W1": np.array([0.5]), "b1": np.array([0.5])})
    assert params["W1"][0] == pytest.approx(1.93, abs=1e-15) and params["b1"][0] == 1.95
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        make_optimizer("adam", 0.1, weight_decay=-1)


def test_registry_and_bad_input():
    assert sorted(OPTIMIZERS) == ["adagrad", "adam", "momentum", "nesterov", "rmsprop", "sgd"]
    with pytest.raises(ValueError, match="optimizer='lbfgs' is not known; expected one of"):
        make_optimizer("lbfgs", 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer("sgd", -1.0)
    with pytest.raises(TypeError, match="learning_rate"):
        make_optimizer("sgd", "0.1")
