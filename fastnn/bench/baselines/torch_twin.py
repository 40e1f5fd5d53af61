"""An optional outside reference: the same network and loop in PyTorch on the CPU.

PyTorch is never a dependency of fastnn: it is imported lazily, and :func:`torch_unavailable`
says in words why it cannot be used. The twin is what a PyTorch user would write for the
teaching program, kept equal to :func:`fastnn.train` wherever it matters for a fair timing:

* the same 784-h-10 ReLU network, its initial values copied from a fastnn ``TwoLayerNet`` drawn
  from ``np.random.RandomState(seed)`` exactly as ``train(seed=seed)`` draws them;
* the same mini-batches (``RandomState.choice(60000, batch_size)`` per iteration, drawn with
  NumPy and handed to ``index_select`` on the pixels, scaled to the dtype once up front);
* the seed's loss, ``-sum(log(softmax(Z2)[i, t_i] + 1e-7)) / n``, not ``F.cross_entropy``, so
  the logged losses are the reference's; autograd then differentiates that loss, whose gradient
  differs from the seed's hand-written ``(softmax - onehot) / n`` by the factor
  ``p / (p + 1e-7)`` on the true class (a relative 1e-7 to 1e-6 while p is not tiny);
* plain SGD ``p -= lr * p.grad`` under ``torch.no_grad()``;
* the loss logged every iteration (``loss.item()``), the running batch accuracy from the same
  forward pass, and the test accuracy every epoch, as ``train()`` does by default;
* ``torch.set_num_threads(threads)`` and the same dtype.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TorchTwin", "TorchResult", "torch_unavailable", "torch_train", "torch_version"]

_torch = None
_import_error = None


def _import_torch():
    global _torch, _import_error
    if _torch is None and _import_error is None:
        try:
            import torch
        except Exception as exc:  # ImportError, or a broken install raising anything
            _import_error = f"PyTorch is not importable ({type(exc).__name__}: {exc})"
        else:
            _torch = torch
    return _torch


def torch_unavailable() -> str | None:
    """Why the PyTorch row cannot run here (a sentence), or None if it can."""
    _import_torch()
    return _import_error


def torch_version() -> str | None:
    """``torch.__version__``, or None without PyTorch."""
    torch = _import_torch()
    return None if torch is None else str(torch.__version__)


def _require_torch():
    torch = _import_torch()
    if torch is None:
        raise RuntimeError(_import_error + "; install torch to get the PyTorch reference row")
    return torch


class TorchTwin:
    """The network, its data and one SGD step in PyTorch.

    Parameters
    ----------
    params : dict
        ``W1 b1 W2 b2`` NumPy arrays (e.g. a fastnn ``TwoLayerNet.params``); they are copied.
    x_u8 : ndarray of uint8, shape (n_samples, 784)
        Training pixels, scaled to ``[0, 1]`` in ``dtype`` once, here.
    y : ndarray of int, shape (n_samples,)
    learning_rate : float
    threads : int, optional
        Passed to ``torch.set_num_threads``.
    prepared : tuple, optional
        ``(X, labels)`` from another twin's :meth:`prepare` (or its ``X_all, y_all``), shared
        instead of scaling ``x_u8`` again.
    """

    def __init__(self, params, x_u8=None, y=None, learning_rate=0.05, threads=None,
                 prepared=None):
        torch = _require_torch()
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.torch = torch
        self.dtype = np.dtype(params["W1"].dtype)
        self.tdtype = {np.dtype("float64"): torch.float64,
                       np.dtype("float32"): torch.float32}[self.dtype]
        self.learning_rate = float(learning_rate)
        self.params = {key: torch.tensor(np.array(value), requires_grad=True)
                       for key, value in params.items()}
        self.X_all, self.y_all = self.prepare(x_u8, y) if prepared is None else prepared

    def prepare(self, x_u8, labels):
        """``(X, labels)`` tensors: ``x / 255`` in the working dtype (cast first, as fastnn
        does) and int64 labels."""
        torch = self.torch
        X = torch.tensor(np.asarray(x_u8)).to(self.tdtype) / 255.0
        return X, torch.tensor(np.asarray(labels, dtype=np.int64))

    def forward(self, X):
        p = self.params
        A1 = self.torch.relu(self.torch.addmm(p["b1"], X, p["W1"]))
        return self.torch.addmm(p["b2"], A1, p["W2"])

    def step(self, idx):
        """One SGD iteration on the rows ``idx``; ``(loss, n_correct)`` are from before it."""
        torch = self.torch
        idx_t = torch.from_numpy(np.asarray(idx, dtype=np.int64))
        X = self.X_all.index_select(0, idx_t)
        labels = self.y_all.index_select(0, idx_t)
        Z2 = self.forward(X)
        probs = torch.softmax(Z2, dim=1)
        picked = probs.gather(1, labels.unsqueeze(1))
        loss = -torch.log(picked + 1e-7).sum() / X.shape[0]
        loss.backward()
        with torch.no_grad():
            n_correct = int((Z2.argmax(dim=1) == labels).sum())
            for p in self.params.values():
                p -= self.learning_rate * p.grad
                p.grad = None
        return float(loss.item()), n_correct

    def accuracy(self, X, labels, chunk=10_000):
        """Accuracy on tensors from :meth:`prepare`, chunk by chunk like ``fastnn.training``."""
        correct = 0
        with self.torch.no_grad():
            for start in range(0, X.shape[0], chunk):
                Z2 = self.forward(X[start:start + chunk])
                correct += int((Z2.argmax(dim=1) == labels[start:start + chunk]).sum())
        return correct / X.shape[0]

    def numpy_params(self):
        """The current parameters as NumPy arrays."""
        return {key: p.detach().numpy().copy() for key, p in self.params.items()}


@dataclass
class TorchResult:
    """What :func:`torch_train` returns (the fields mirror ``fastnn.TrainResult``)."""

    losses: list
    test_accuracy: float
    params: dict
    seconds: float
    threads: int
    eval_iter: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)


def torch_train(iters, batch_size=512, learning_rate=0.05, hidden_size=50, dtype="float64",
                seed=0, data=None, threads=None, eval_every=None, step_times=None):
    """Train the PyTorch twin with ``train()``'s defaults, batches and evaluation schedule.

    Parameters
    ----------
    iters, batch_size, learning_rate, hidden_size, dtype, seed, eval_every
        As for :func:`fastnn.train`.
    data : tuple, optional
        ``(x_train, y_train, x_test, y_test)`` uint8 pixels and labels; default bundled MNIST.
    threads : int, optional
        ``torch.set_num_threads(threads)``; default: leave PyTorch's setting.
    step_times : list, optional
        If given, receives the wall time of every iteration in seconds.

    Returns
    -------
    TorchResult

    Raises
    ------
    RuntimeError
        If PyTorch is not importable (the message says why).
    """
    torch = _require_torch()
    from fastnn.network import TwoLayerNet

    if data is None:
        from fastnn.datasets.mnist import load_arrays
        data = load_arrays()
    x_train, y_train, x_test, y_test = data
    n_train = x_train.shape[0]
    random_state = np.random.RandomState(seed)
    init = TwoLayerNet(x_train.shape[1], hidden_size, 10, activation="relu", backend="numpy",
                       dtype=dtype, seed=random_state)
    twin = TorchTwin(init.params, x_train, y_train, learning_rate, threads)
    X_test, t_test = twin.prepare(x_test, y_test)  # scaled once, like the training pixels
    if eval_every is None:
        eval_every = math.ceil(n_train / batch_size)
    losses, eval_iter, test_acc = [], [], []
    clock = time.perf_counter
    start = last = clock()
    twin.accuracy(twin.X_all, twin.y_all)  # train() evaluates the whole training set at 0
    eval_iter.append(0)
    test_acc.append(twin.accuracy(X_test, t_test))
    for i in range(1, iters + 1):
        loss, _ = twin.step(random_state.choice(n_train, batch_size))
        losses.append(loss)
        if i % eval_every == 0 or i == iters:
            eval_iter.append(i)
            test_acc.append(twin.accuracy(X_test, t_test))
        if step_times is not None:
            now = clock()
            step_times.append(now - last)
            last = now
    seconds = clock() - start
    return TorchResult(losses=losses, test_accuracy=test_acc[-1], params=twin.numpy_params(),
                       seconds=seconds, threads=torch.get_num_threads(), eval_iter=eval_iter,
                       test_acc=test_acc)
