"""train(): the teaching program's training loop, on any backend, with a history and checks."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import backends
from ._validation import (
    check_activation,
    check_choice,
    check_dtype,
    check_positive_float,
    check_positive_int,
)
from .network import TwoLayerNet
from .optimizers import OPTIMIZERS, make_optimizer

__all__ = ["train", "TrainResult", "TrainingDivergedError", "evaluate_accuracy"]

#: A loss above DIVERGENCE_FACTOR * ln(n_classes) for DIVERGENCE_PATIENCE iterations in a row
#: means the run has run away: chance level is ln(10) ~ 2.3, a confidently wrong model sits near
#: -ln(1e-7) ~ 16, and a healthy run never stays above twice chance for long.
DIVERGENCE_FACTOR = 2.0
DIVERGENCE_PATIENCE = 100


class TrainingDivergedError(FloatingPointError):
    """Training has run away (non-finite values, or a loss stuck far above chance level).

    Attributes
    ----------
    iteration : int
        The iteration at which the divergence was detected.
    history : dict
        The history up to that point (see :class:`TrainResult`).
    """

    def __init__(self, message, *, iteration, history):
        super().__init__(message)
        self.iteration = iteration
        self.history = history


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    network : TwoLayerNet
        The trained network.
    history : dict
        ``"train_loss"``: one float per iteration (the mini-batch loss of the forward pass that
        gave that iteration's gradient); ``"eval_iter"``: iterations at which evaluations
        happened; ``"train_acc"``, ``"test_acc"``: one accuracy per evaluation.
    test_accuracy : float
        Accuracy on the full test set after the last iteration.
    seconds : float
        Wall time of the training loop, evaluations included.
    backend : str
        Name of the backend that ran.
    config : dict
        The arguments of the run.
    """

    network: TwoLayerNet
    history: dict
    test_accuracy: float
    seconds: float
    backend: str
    config: dict = field(default_factory=dict)


def train(*, backend="auto", hidden_size=50, activation="relu", optimizer="sgd",
          learning_rate=0.05, batch_size=512, iters=10000, weight_init_std=0.01,
          dtype="float64", seed=0, eval_every=None, shuffle=False, full_train_eval=False,
          progress=False, callback=None, data=None):
    """Train a 784-hidden-10 network on MNIST, as the teaching program does.

    The defaults are the teaching program's settings. With ``seed=s`` the initial weights and
    the mini-batches are drawn from ``np.random.RandomState(s)`` in the same order as the
    teaching program draws them from NumPy's global state after ``np.random.seed(s)``: the
    weights with ``randn``, each mini-batch with ``choice(60000, batch_size)`` (uniform, with
    replacement). Every backend sees the same weights and mini-batches.

    Parameters
    ----------
    backend : {"auto", "numpy", "numba"}, default "auto"
        ``"auto"``: ``FASTNN_BACKEND`` if set, else the fastest backend that works here.
    hidden_size : int, default 50
    activation : {"relu", "sigmoid"}, default "relu"
    optimizer : {"sgd", "momentum", "adagrad", "rmsprop", "adam"}, default "sgd"
    learning_rate : float, default 0.05
    batch_size : int, default 512
    iters : int, default 10000
        Number of SGD iterations (mini-batches).
    weight_init_std : float, default 0.01
    dtype : {"float64", "float32"}, default "float64"
    seed : int, default 0
        Same seed, same result, bit for bit.
    eval_every : int, optional
        Iterations between evaluations; default ``ceil(60000 / batch_size)``, one epoch.
        Evaluations also happen at iteration 0 (before training) and after the last iteration.
    shuffle : bool, default False
        Draw each epoch as a fresh permutation (without replacement; the last incomplete batch of
        an epoch is dropped) instead of drawing every batch uniformly with replacement.
    full_train_eval : bool, default False
        Evaluate the train accuracy on the whole training set (as the teaching program does)
        instead of as the running accuracy of the mini-batches since the last evaluation, which
        is free. The evaluation at iteration 0 always uses the whole training set.
    progress : bool or fastnn.progress.ProgressBar, default False
        Show a progress bar with the running loss on stderr (only on a terminal).
    callback : callable, optional
        ``callback(iteration, history)`` after each evaluation.
    data : tuple, optional
        ``(x_train, y_train, x_test, y_test)`` with x as uint8 (N, 784) and y as integer labels;
        default the bundled MNIST.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError, TypeError
        For invalid arguments, before anything runs.
    TrainingDivergedError
        When the loss or the parameters stop being finite, or the loss stays far above chance
        level; lower the learning rate.
    """
    config = dict(backend=backend, hidden_size=hidden_size, activation=activation,
                  optimizer=optimizer, learning_rate=learning_rate, batch_size=batch_size,
                  iters=iters, weight_init_std=weight_init_std, dtype=dtype, seed=seed,
                  eval_every=eval_every, shuffle=shuffle, full_train_eval=full_train_eval)
    x_train, y_train, x_test, y_test = _training_data(data)
    n_train = x_train.shape[0]
    hidden_size = check_positive_int(hidden_size, "hidden_size")
    check_activation(activation)
    check_choice(optimizer, tuple(OPTIMIZERS), "optimizer")
    learning_rate = check_positive_float(learning_rate, "learning_rate")
    batch_size = check_positive_int(batch_size, "batch_size", maximum=n_train)
    iters = check_positive_int(iters, "iters")
    dtype = check_dtype(dtype)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if eval_every is None:
        eval_every = math.ceil(n_train / batch_size)
    eval_every = check_positive_int(eval_every, "eval_every")
    for name, flag in (("shuffle", shuffle), ("full_train_eval", full_train_eval)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")

    if not isinstance(backend, backends.Backend):
        backend = backends.resolve_name(backend)
    random_state = np.random.RandomState(seed)
    network = TwoLayerNet(x_train.shape[1], hidden_size, 10, weight_init_std,
                          activation=activation, backend=backend, dtype=dtype, seed=random_state)
    be = network.backend
    opt = make_optimizer(optimizer, learning_rate)
    step = be.make_train_step(x_train, y_train, network.params, activation, opt, batch_size)
    draw_batch = _batch_sampler(random_state, n_train, batch_size, shuffle)
    history = {"train_loss": [], "eval_iter": [], "train_acc": [], "test_acc": []}
    bar = _progress_bar(progress, iters)
    chance_loss = math.log(network.output_size)
    losses = history["train_loss"]
    run_correct = run_seen = 0
    stuck = 0

    def evaluate(iteration):
        if full_train_eval or iteration == 0:
            train_acc = evaluate_accuracy(network, x_train, y_train)
        else:
            train_acc = run_correct / run_seen
        test_acc = evaluate_accuracy(network, x_test, y_test)
        history["eval_iter"].append(iteration)
        history["train_acc"].append(train_acc)
        history["test_acc"].append(test_acc)
        if callback is not None:
            callback(iteration, history)

    start = time.perf_counter()
    try:
        evaluate(0)
        for i in range(1, iters + 1):
            loss, n_correct = step(draw_batch())
            losses.append(loss)
            run_correct += n_correct
            run_seen += batch_size
            stuck = stuck + 1 if loss > DIVERGENCE_FACTOR * chance_loss else 0
            if not math.isfinite(loss) or stuck >= DIVERGENCE_PATIENCE:
                _diverged(i, loss, learning_rate, history, stuck)
            if i % eval_every == 0 or i == iters:
                if not all(np.isfinite(p).all() for p in network.params.values()):
                    _diverged(i, loss, learning_rate, history, stuck, params=True)
                evaluate(i)
                run_correct = run_seen = 0
            if bar is not None:
                bar.update(1, loss=loss)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    return TrainResult(network=network, history=history, test_accuracy=history["test_acc"][-1],
                       seconds=seconds, backend=be.name, config=config)


def evaluate_accuracy(network, x_u8, labels):
    """Accuracy of ``network`` on uint8 pixels ``x_u8`` (N, d) scaled by 1/255.

    Parameters
    ----------
    network : TwoLayerNet
    x_u8 : ndarray of uint8, shape (n_samples, input_size)
    labels : ndarray of int, shape (n_samples,)

    Returns
    -------
    float in [0, 1]
    """
    W1, b1, W2, b2 = network._checked_params()
    predicted = np.empty(x_u8.shape[0], np.int64)
    network.backend.predict_labels_u8(x_u8, W1, b1, W2, b2, network.activation, predicted)
    return float(np.count_nonzero(predicted == labels) / x_u8.shape[0])


def _training_data(data):
    if data is None:
        from .datasets.mnist import load_arrays
        return load_arrays()
    try:
        x_train, y_train, x_test, y_test = data
    except (TypeError, ValueError):
        raise TypeError("data must be a tuple (x_train, y_train, x_test, y_test)") from None
    out = []
    for name, x, y in (("x_train", x_train, y_train), ("x_test", x_test, y_test)):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype != np.uint8 or x.ndim != 2:
            raise ValueError(f"{name} must be uint8 pixels of shape (n_samples, n_features), got "
                             f"{x.dtype} of shape {x.shape}")
        if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels for {name} must be integers of shape ({x.shape[0]},), got "
                             f"{y.dtype} of shape {y.shape}")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise ValueError(f"labels for {name} must be in 0..9, got {y.min()}..{y.max()}")
        out += [np.ascontiguousarray(x), np.ascontiguousarray(y, dtype=np.int64)]
    return tuple(out)


def _batch_sampler(random_state, n_train, batch_size, shuffle):
    """``draw() -> int64 indices`` of the next mini-batch."""
    if not shuffle:
        def draw():
            # What the teaching program's choice(n_train, batch_size) draws, without the argument
            # checks that cost choice() as much again (8 us a step; a Numba step is ~650 us).
            return random_state.randint(0, n_train, batch_size)
        return draw
    per_epoch = n_train // batch_size
    state = {"order": None, "next": per_epoch}

    def draw_shuffled():
        if state["next"] == per_epoch:
            state["order"] = random_state.permutation(n_train)
            state["next"] = 0
        k = state["next"]
        state["next"] += 1
        return state["order"][k * batch_size:(k + 1) * batch_size]
    return draw_shuffled


def _progress_bar(progress, total):
    if progress is False or progress is None:
        return None
    if progress is True:
        from .progress import ProgressBar
        return ProgressBar(total=total, desc="train")
    if hasattr(progress, "update") and hasattr(progress, "close"):
        return progress
    raise TypeError(f"progress must be True, False or a ProgressBar, got {progress!r}")


def _diverged(iteration, loss, learning_rate, history, stuck, params=False):
    if params:
        what = "the parameters are no longer finite"
    elif not math.isfinite(loss):
        what = f"the loss is {loss}"
    else:
        what = (f"the loss has stayed above {DIVERGENCE_FACTOR:g} x chance level for {stuck} "
                f"iterations (now {loss:.3g})")
    raise TrainingDivergedError(
        f"training diverged at iteration {iteration}: {what}. Try a smaller learning rate than "
        f"{learning_rate:g} (e.g. {learning_rate / 10:g}).", iteration=iteration, history=history)
