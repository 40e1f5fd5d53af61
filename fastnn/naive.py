"""The "before" row of every benchmark: the teaching program's training loop, as written.

Nothing here is optimised on purpose. The seed's own definitions are repeated inline (not taken
from :mod:`fastnn.functions`, which may improve on them), and the loop keeps every habit of the
original that costs time:

* each mini-batch is a fresh ``np.random.choice(train_size, batch_size)`` fancy-indexed copy of
  the whole pre-scaled float training set;
* targets are one-hot float rows, so the softmax gradient is ``(y - t) / batch_num``;
* ``relu_grad`` builds an integer mask with ``np.where`` (for float32 data this upcasts the hidden
  gradient and ``dW1`` to float64, as the original code would);
* the logged loss is a second forward pass over the batch after the update;
* full train and test accuracies are computed whenever ``i % iter_per_epoch == 0`` with the
  seed's float ``iter_per_epoch`` (60000 / 512 = 117.1875, so at i = 0 and i = 7500).

The pixels are divided by 255 and the labels one-hot encoded once, before the timed loop, as the
seed does. With ``seed=s`` the weights and mini-batches come from ``np.random.RandomState(s)`` in
the seed's order (``randn`` for W1, then W2, then one ``choice`` per iteration), which is also the
order of :func:`fastnn.train`, so both see the same weights and batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["NaiveData", "NaiveResult", "SeedTwoLayerNet", "naive_step", "naive_train",
           "prepare_data"]


# -- the seed's definitions, verbatim apart from indentation --------------------------------------

def relu(x):
    return np.maximum(0, x)


def relu_grad(x):
    x = np.where(x >= 0, 1, 0)
    return x


def softmax(x):
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


def _change_one_hot_label(X, dtype):
    T = np.zeros((X.size, 10), dtype=dtype)
    for idx, row in enumerate(T):
        row[X[idx]] = 1
    return T


class SeedTwoLayerNet:
    """The seed's ``TwoLayerNet`` (ReLU), drawing its weights from ``randn`` in ``dtype``."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01,
                 randn=np.random.randn, dtype="float64"):
        self.params = {}
        self.params["W1"] = (weight_init_std * randn(input_size, hidden_size)).astype(dtype)
        self.params["b1"] = np.zeros(hidden_size, dtype=dtype)
        self.params["W2"] = (weight_init_std * randn(hidden_size, output_size)).astype(dtype)
        self.params["b2"] = np.zeros(output_size, dtype=dtype)

    def predict(self, x):
        W1, W2 = self.params["W1"], self.params["W2"]
        b1, b2 = self.params["b1"], self.params["b2"]
        a1 = np.dot(x, W1) + b1
        z1 = relu(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        return y

    def loss(self, x, t):
        y = self.predict(x)
        return cross_entropy_error(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        t = np.argmax(t, axis=1)
        accuracy = np.sum(y == t) / float(x.shape[0])
        return accuracy

    def gradient(self, x, t):
        W1, W2 = self.params["W1"], self.params["W2"]
        b1, b2 = self.params["b1"], self.params["b2"]
        grads = {}
        batch_num = x.shape[0]
        a1 = np.dot(x, W1) + b1
        z1 = relu(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        dy = (y - t) / batch_num
        grads["W2"] = np.dot(z1.T, dy)
        grads["b2"] = np.sum(dy, axis=0)
        da1 = np.dot(dy, W2.T)
        dz1 = relu_grad(a1) * da1
        grads["W1"] = np.dot(x.T, dz1)
        grads["b1"] = np.sum(dz1, axis=0)
        return grads


# -- data and loop ------------------------------------------------------------------------------

@dataclass
class NaiveData:
    """MNIST as the seed holds it: float pixels in [0, 1] and one-hot float targets."""

    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray

    @property
    def dtype(self):
        return self.x_train.dtype


@dataclass
class NaiveResult:
    """What :func:`naive_train` returns.

    Attributes
    ----------
    losses : list of float
        The seed's ``train_loss_list``: the batch loss after each update.
    test_accuracy : float
        Accuracy on the test set after the last iteration (computed outside the timing).
    params : dict
        The final ``W1 b1 W2 b2``.
    seconds : float
        Wall time of the loop (the seed's per-epoch evaluations included).
    train_acc, test_acc : list of float
        The seed's per-epoch accuracies.
    """

    losses: list
    test_accuracy: float
    params: dict
    seconds: float
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)


def prepare_data(data=None, dtype="float64"):
    """Scale the pixels to ``dtype`` in [0, 1] and one-hot the labels, once, as the seed does.

    Parameters
    ----------
    data : tuple or NaiveData, optional
        ``(x_train, y_train, x_test, y_test)`` with uint8 pixels of shape (n_samples, 784) and
        integer labels; default the bundled MNIST. A NaiveData of ``dtype`` is returned as is.
    dtype : {"float64", "float32"}

    Returns
    -------
    NaiveData
    """
    dtype = np.dtype(dtype)
    if isinstance(data, NaiveData):
        if data.dtype != dtype:
            raise ValueError(f"data holds {data.dtype} pixels, not {dtype}")
        return data
    if data is None:
        from .datasets.mnist import load_arrays
        data = load_arrays()
    x_train, y_train, x_test, y_test = data
    # x / 255.0 in float64 is the seed's line; in float32, cast then divide (the book's loader),
    # which is also what fastnn's backends do.
    x_train = np.asarray(x_train).reshape(len(x_train), -1).astype(dtype) / dtype.type(255.0)
    x_test = np.asarray(x_test).reshape(len(x_test), -1).astype(dtype) / dtype.type(255.0)
    return NaiveData(x_train, _change_one_hot_label(np.asarray(y_train), dtype),
                     x_test, _change_one_hot_label(np.asarray(y_test), dtype))


def naive_step(network, data, batch_mask, learning_rate=0.05):
    """One iteration of the seed's loop body on the batch ``batch_mask``; returns the loss."""
    x_batch = data.x_train[batch_mask]
    y_batch = data.t_train[batch_mask]
    grad = network.gradient(x_batch, y_batch)
    for key in ("W1", "b1", "W2", "b2"):
        network.params[key] -= learning_rate * grad[key]
    return network.loss(x_batch, y_batch)


def naive_train(iters, batch_size=512, learning_rate=0.05, hidden_size=50, dtype="float64",
                seed=0, data=None, *, evaluate=True, step_times=None):
    """Run the teaching program's training loop as written.

    Parameters
    ----------
    iters : int
        The seed's ``iters_num``.
    batch_size : int, default 512
    learning_rate : float, default 0.05
    hidden_size : int, default 50
    dtype : {"float64", "float32"}, default "float64"
        Working dtype of the data and parameters (the seed itself only runs float64).
    seed : int, default 0
        Seeds the ``np.random.RandomState`` that draws the weights and the batches.
    data : tuple or NaiveData, optional
        See :func:`prepare_data`; pass a NaiveData to keep the preparation out of repeated runs.
    evaluate : bool, default True
        Keep the seed's per-epoch full train and test accuracies inside the loop.
    step_times : list, optional
        If given, receives the wall time of every iteration in seconds.

    Returns
    -------
    NaiveResult
    """
    data = prepare_data(data, dtype)
    random_state = np.random.RandomState(seed)
    network = SeedTwoLayerNet(input_size=data.x_train.shape[1], hidden_size=hidden_size,
                              output_size=10, randn=random_state.randn, dtype=dtype)
    train_size = data.x_train.shape[0]
    iter_per_epoch = max(train_size / batch_size, 1)
    train_loss_list, train_acc_list, test_acc_list = [], [], []
    clock = time.perf_counter
    start = last = clock()
    for i in range(iters):
        batch_mask = random_state.choice(train_size, batch_size)
        loss = naive_step(network, data, batch_mask, learning_rate)
        train_loss_list.append(loss)
        if evaluate and i % iter_per_epoch == 0:
            train_acc_list.append(network.accuracy(data.x_train, data.t_train))
            test_acc_list.append(network.accuracy(data.x_test, data.t_test))
        if step_times is not None:
            now = clock()
            step_times.append(now - last)
            last = now
    seconds = clock() - start
    test_accuracy = float(network.accuracy(data.x_test, data.t_test))
    return NaiveResult(losses=[float(v) for v in train_loss_list], test_accuracy=test_accuracy,
                       params=network.params, seconds=seconds, train_acc=train_acc_list,
                       test_acc=test_acc_list)
