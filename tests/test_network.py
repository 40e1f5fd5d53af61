"""TwoLayerNet against the teaching program's class, numerical gradients and bad input."""

import numpy as np
import pytest

from fastnn import TwoLayerNet, backends
from fastnn.bench.baselines import seed


def rel_diff(a, b):
    """max|a - b| / max|b|: the cross-check measure of the issues."""
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(float).tiny)


def tolerance(backend):
    # The reference itself must give the seed's bits; compiled backends may sum in another order.
    return 0.0 if backend.name == "numpy" else 1e-12


@pytest.fixture(scope="module")
def batch():
    """Eight MNIST images scaled as the seed does, an all-zero row, and their labels."""
    from fastnn.datasets.mnist import load_arrays

    x_train, y_train, _, _ = load_arrays()
    x = x_train[:8] / 255.0
    x[3] = 0.0  # an all-zero image: Z1 == b1 == 0 exactly, where the seed's relu'(0) = 1 matters
    return x, y_train[:8]


def test_default_weights_are_the_seeds_for_the_same_global_seed():
    np.random.seed(0)
    theirs = seed.TwoLayerNet(784, 50, 10)
    np.random.seed(0)
    ours = TwoLayerNet(784, 50, 10, backend="numpy")
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(ours.params[key], theirs.params[key])
        assert type(ours.params[key]) is np.ndarray


def test_an_integer_seed_uses_its_own_generator_and_leaves_global_state_alone():
    np.random.seed(1)
    state = np.random.get_state()[1].copy()
    a = TwoLayerNet(784, 50, 10, seed=7, backend="numpy")
    b = TwoLayerNet(784, 50, 10, seed=7, backend="numpy")
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    assert abs(a.params["W1"].std() - 0.01) < 0.0005  # weight_init_std * N(0, 1)
    assert not np.array_equal(a.params["W1"], TwoLayerNet(784, 50, 10, seed=8).params["W1"])


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_methods_match_the_seed(backend, batch, activation):
    x, labels = batch
    one_hot = seed.change_one_hot_label(labels)
    np.random.seed(3)
    theirs = seed.TwoLayerNet(784, 50, 10, weight_init_std=0.1, activation=activation)
    np.random.seed(3)
    ours = TwoLayerNet(784, 50, 10, weight_init_std=0.1, activation=activation, backend=backend)
    tol = tolerance(backend)
    assert rel_diff(ours.predict(x), theirs.predict(x)) <= tol
    assert abs(ours.loss(x, one_hot) - theirs.loss(x, one_hot)) <= tol * theirs.loss(x, one_hot)
    assert ours.loss(x, labels) == ours.loss(x, one_hot)
    assert ours.accuracy(x, one_hot) == theirs.accuracy(x, one_hot)
    assert ours.accuracy(x, labels) == theirs.accuracy(x, one_hot)
    grads, expected = ours.gradient(x, one_hot), theirs.gradient(x, one_hot)
    for key in ("W1", "b1", "W2", "b2"):
        assert grads[key].shape == expected[key].shape
        assert rel_diff(grads[key], expected[key]) <= tol, key
    assert abs(grads["b1"]).max() > 0


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_gradient_agrees_with_numerical_gradient(backend, batch, activation):
    x, labels = batch
    net = TwoLayerNet(784, 6, 10, weight_init_std=0.1, activation=activation, backend=backend,
                      seed=11)
    rows = [0, 1, 2, 4]  # not the all-zero image, where relu's kink sits exactly at Z1 = 0
    numeric = net.numerical_gradient(x[rows], labels[rows])
    analytic = net.gradient(x[rows], labels[rows])
    for key in ("W1", "b1", "W2", "b2"):
        diff = np.max(np.abs(numeric[key] - analytic[key]))
        assert diff < 1e-6, (key, diff)
        assert np.max(np.abs(analytic[key])) > 1e-3  # the check is not vacuous


def test_one_sample_in_one_sample_out(backend, batch):
    x, labels = batch
    net = TwoLayerNet(784, 20, 10, backend=backend, seed=0)
    assert net.predict(x[0]).shape == (10,)
    np.testing.assert_allclose(net.predict(x[0]), net.predict(x[:1])[0], rtol=1e-15)
    assert net.predict_labels(x[0]) == net.predict_labels(x[:1])[0]
    assert net.predict(x).sum(axis=1) == pytest.approx(np.ones(len(x)))


def test_caller_updates_to_params_take_effect(batch):
    x, labels = batch
    net = TwoLayerNet(784, 20, 10, backend="numpy", seed=0)
    before = net.loss(x, labels)
    grads = net.gradient(x, labels)
    for key in ("W1", "b1", "W2", "b2"):
        net.params[key] -= 1.0 * grads[key]
    assert net.loss(x, labels) < before
    net.params["b2"] = np.array([0, 0, 0, 0, 0, 100.0, 0, 0, 0, 0])
    assert (net.predict_labels(x) == 5).all()


def test_float32_network_computes_in_float32(backend, batch):
    x, labels = batch
    net = TwoLayerNet(784, 20, 10, backend=backend, dtype="float32", seed=0)
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.predict(x).dtype == np.float32
    assert all(g.dtype == np.float32 for g in net.gradient(x, labels).values())
    ref = TwoLayerNet(784, 20, 10, backend=backend, dtype="float64", seed=0)
    assert rel_diff(net.predict(x), ref.predict(x)) < 1e-5


def test_save_and_load_round_trip(tmp_path, batch):
    x, _ = batch
    net = TwoLayerNet(784, 20, 10, backend="numpy", activation="sigmoid", dtype="float32",
                      seed=0)
    path = net.save(tmp_path / "sub" / "net.npz")
    back = TwoLayerNet.load(path, backend="numpy")
    assert back.activation == "sigmoid" and back.dtype == np.float32
    np.testing.assert_array_equal(back.predict(x), net.predict(x))
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["net.npz"]


def test_a_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    net = TwoLayerNet(784, 20, 10, backend="numpy", seed=0)
    path = tmp_path / "net.npz"
    path.write_bytes(b"precious")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


@pytest.mark.parametrize("kwargs, exc, message", [
    (dict(backend="cuda"), ValueError, "backend='cuda'.*'numpy'"),
    (dict(activation="tanh"), ValueError, "activation='tanh'.*'relu'"),
    (dict(dtype="float16"), ValueError, "dtype='float16'.*'float32'"),
    (dict(hidden_size=0), ValueError, "hidden_size must be >= 1, got 0"),
    (dict(hidden_size=2.5), TypeError, "hidden_size must be a positive integer"),
    (dict(weight_init_std=-1), ValueError, "weight_init_std"),
    (dict(seed="x"), ValueError, "seed"),
])
def test_bad_constructor_arguments(kwargs, exc, message):
    args = dict(input_size=784, hidden_size=50, output_size=10)
    args.update(kwargs)
    with pytest.raises(exc, match=message):
        TwoLayerNet(**args)


@pytest.mark.parametrize("x, t, message", [
    (np.zeros((2, 783)), [0, 1], r"x must have shape \(n_samples, 784\)"),
    (np.full((2, 784), np.nan), [0, 1], "NaN or infinite"),
    (np.full((2, 784), np.inf), [0, 1], "NaN or infinite"),
    (np.zeros((2, 784)), [0, 10], r"labels must be in 0\.\.9, got \[10\]"),
    (np.zeros((2, 784)), np.ones((2, 10)), "not one-hot"),
    (np.zeros((2, 784)), [0, 1, 2], "shape"),
    (np.zeros((0, 784)), [], "no samples"),
])
def test_bad_inputs_are_refused_at_the_boundary(backend, x, t, message):
    net = TwoLayerNet(784, 5, 10, backend=backend, seed=0)
    for method in (net.loss, net.accuracy, net.gradient):
        with pytest.raises(ValueError, match=message):
            method(x, t)


def test_auto_backend_is_a_registered_one():
    assert TwoLayerNet(4, 3, 2).backend.name in backends.available()


def test_saved_weights_get_the_permissions_of_any_new_file(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        path = TwoLayerNet(4, 3, 2, backend="numpy", seed=0).save(tmp_path / "w.npz")
        open(tmp_path / "plain", "wb").close()
    finally:
        os.umask(previous)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (path, tmp_path / "plain")}
    assert modes == {0o644}  # mkstemp, used before, gave 0o600
