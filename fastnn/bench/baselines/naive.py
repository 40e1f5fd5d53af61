"""The "before" row of every benchmark: the teaching program's training loop, as written.

Nothing here is optimised on purpose. The network is the seed's own class
(:mod:`fastnn.bench.baselines.seed`, not :mod:`fastnn.functions`, which may improve on it), and
the loop keeps every habit of the original that costs time:

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

from .seed import TwoLayerNet, change_one_hot_label

__all__ = ["NaiveData", "NaiveResult", "naive_step", "naive_train", "prepare_data"]


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
        from fastnn.datasets.mnist import load_arrays
        data = load_arrays()
    x_train, y_train, x_test, y_test = data
    # x / 255.0 in float64 is the seed's line; in float32, cast then divide (the book's loader),
    # which is also what fastnn's backends do.
    x_train = np.asarray(x_train).reshape(len(x_train), -1).astype(dtype) / dtype.type(255.0)
    x_test = np.asarray(x_test).reshape(len(x_test), -1).astype(dtype) / dtype.type(255.0)
    return NaiveData(x_train, change_one_hot_label(np.asarray(y_train), dtype),
                     x_test, change_one_hot_label(np.asarray(y_test), dtype))


def naive_step(network, data, batch_mask, learning_rate=0.05):
    """One iteration of the seed's loop body on the batch ``batch_mask``; returns the loss."""
    x_batch = data.x_train[batch_mask]
    y_batch = data.t_train[batch_mask]
    grad = network.gradient(x_batch, y_batch)
    for key in ("W1", "b1", "W2", "b2"):
        network.params[key] -= learning_rate * grad[key]
    return network.loss(x_batch, y_batch)


def naive_train(iters, batch_size=512, learning_rate=0.05, hidden_size=50, dtype="float64",
                seed=0, data=None, *, activation="relu", weights_dtype=None,
                network_class=TwoLayerNet, evaluate=True, step_times=None):
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
    activation : {"relu", "sigmoid"}, default "relu"
    weights_dtype : {"float64", "float32"}, optional
        Dtype of the parameters, if not ``dtype`` (the book's loop: float32 pixels, float64
        weights).
    network_class : type, default the seed's ``TwoLayerNet``
        Built as ``network_class(input_size=..., hidden_size=..., output_size=10,
        activation=..., dtype=..., randn=...)`` when it is the seed's class, with ``seed=`` (the
        same random state, so the same weights) otherwise: ``fastnn.TwoLayerNet`` makes the
        drop-in row, the same loop on fastnn's names.
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
    source = ({"randn": random_state.randn} if network_class is TwoLayerNet
              else {"seed": random_state})
    network = network_class(input_size=data.x_train.shape[1], hidden_size=hidden_size,
                            output_size=10, activation=activation,
                            dtype=weights_dtype or dtype, **source)
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
