"""train(): the teaching program's training loop, on any backend, with a history and checks.

Data flows one way: a :class:`~fastnn.config.TrainConfig` makes a :class:`TwoLayerNet`, whose
backend does the math; the loop records the history. Nothing here touches a backend directly.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ._batches import batch_sampler as _batch_sampler
from ._batches import training_data as _training_data
from ._diagnosis import (
    CHANCE_MARGIN,
    CHANCE_MIN_ITERS,
    DIVERGENCE_FACTOR,
    TrainingWarning,
    advice,
    chance_accuracy,
    is_stuck,
)
from ._early_stop import Watcher, split_validation
from ._memory import check_fits
from ._progress import StopOnInterrupt, announce_compile
from ._progress import progress_bar as _progress_bar
from ._threads import limit_threads
from .config import TrainConfig, config_fields, parameters_doc
from .datasets import catalog
from .network import TwoLayerNet
from .optimizers import make_optimizer
from .schedules import learning_rate_at

__all__ = ["train", "TrainResult", "TrainingDivergedError", "TrainingInterrupted",
           "TrainingWarning"]

#: Classes of the bundled data sets.
N_CLASSES = 10


class TrainingDivergedError(FloatingPointError):
    """Training has run away (non-finite values, or a loss stuck far above chance level).

    Attributes
    ----------
    iteration : int
        The iteration at which the divergence was detected.
    history : dict
        The history up to that point (see :class:`TrainResult`).
    backend : str or None
        The name of the backend that ran.
    chance_accuracy : float or None
        The test accuracy of always answering the most frequent test label.
    """

    def __init__(self, message, *, iteration, history, backend=None, chance_accuracy=None):
        super().__init__(message)
        self.iteration = iteration
        self.history = history
        self.backend = backend
        self.chance_accuracy = chance_accuracy


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`train`; nothing trained is lost.

    The first Ctrl-C lets the current iteration finish, evaluates the network once more and
    raises this (a ``KeyboardInterrupt``, so a script still stops); a second one interrupts at
    once. Catch it to keep the work::

        try:
            result = fastnn.train(iters=100_000)
        except fastnn.TrainingInterrupted as stop:
            result = stop.result          # stop_reason "interrupted", the network so far
        result.network.save("weights.npz")

    Attributes
    ----------
    result : TrainResult
    """

    def __init__(self, result):
        super().__init__(f"training interrupted at iteration {result.iterations}")
        self.result = result


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    network : TwoLayerNet
        The trained network.
    history : dict
        ``"train_loss"``: one float per iteration (the mini-batch loss of the forward pass that
        gave that iteration's gradient, before its update); ``"eval_iter"``: the iterations
        after which the network was evaluated (0, every ``eval_every``, the last);
        ``"train_acc"``, ``"test_acc"``: one accuracy per evaluation. ``fastnn train --history
        run.csv`` (or ``.json``) writes it with these names (see :mod:`fastnn.history`).
    test_accuracy : float
        Accuracy on the full test set after the last iteration.
    seconds : float
        Wall time of the training loop, evaluations included.
    backend : str
        Name of the backend that ran.
    config : TrainConfig
        The parameters of the run.
    iterations : int
        Iterations done (``config.iterations(n_train)`` unless the run stopped early).
    stop_reason : str
        ``"completed"``, ``"target_accuracy"`` (an evaluation reached ``target_accuracy``),
        ``"early_stopping"`` (``patience`` evaluations without a better validation accuracy)
        or ``"interrupted"`` (Ctrl-C; see :class:`TrainingInterrupted`).
    chance_accuracy : float
        The test accuracy of always answering the most frequent test label.
    at_chance : bool
        The run did not learn: after at least 100 iterations its test accuracy is within two
        points of ``chance_accuracy`` (``train()`` also warns with a :class:`TrainingWarning`
        saying what to change).
    time_to_target : float or None
        Seconds from the start of the training loop to the end of the first evaluation whose
        test accuracy reached ``target_accuracy`` (None when it was not set or not reached).
    eval_seconds : list of float
        For each evaluation of ``history``, the seconds from the start of the training loop to
        its end (so the time to any accuracy can be read off, as :attr:`time_to_target` is).
    best_iteration : int or None
        With ``validation_split``: the iteration of the evaluation with the best validation
        accuracy, whose weights the network holds (``history["val_acc"]`` has every
        evaluation's); ``test_accuracy`` is then that evaluation's.
    """

    network: TwoLayerNet
    history: dict
    test_accuracy: float
    seconds: float
    backend: str
    config: TrainConfig
    iterations: int = 0
    stop_reason: str = "completed"
    chance_accuracy: float = float("nan")
    at_chance: bool = False
    time_to_target: float | None = None
    eval_seconds: list = dataclasses.field(default_factory=list)
    best_iteration: int | None = None

    def plot(self, path=None):
        """The loss and accuracy curves as a matplotlib figure, which a notebook displays.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also write the figure there (atomically; the extension picks the format). Without
            it no file is written.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .plotting import history_figure, run_title, save_figure

        fig = history_figure(self.history, chance=self.chance_accuracy, title=run_title(
            self.config, self.backend, self.stop_reason, self.iterations))
        if path is not None:
            save_figure(fig, path)
        return fig


def train(config=None, /, *, preset=None, progress=False, callback=None, data=None, **params):
    """Train a 784-hidden-10 network on MNIST (or Fashion-MNIST), as the teaching program does.

    The defaults are the teaching program's settings: 10,000 iterations unless ``iters`` or
    ``epochs`` says otherwise. With ``seed=s`` the initial weights and
    the mini-batches are drawn from ``np.random.RandomState(s)`` in the same order as the
    teaching program draws them from NumPy's global state after ``np.random.seed(s)``: the
    weights with ``randn``, each mini-batch with ``choice(60000, batch_size)`` (uniform, with
    replacement). Every backend sees the same weights and mini-batches.

    Parameters
    ----------
    config : TrainConfig, optional
        The run's parameters; keyword arguments of the same names override its fields.
{config_parameters}
    preset : str, optional
        Start from a named set of values instead of the defaults (:mod:`fastnn.presets`:
        ``"fast"``, the fastest recipe to 98 %, or ``"fast-800"``); keyword arguments override
        them. Not together with ``config``.
    progress : bool or tqdm-like, default False
        ``True`` shows a tqdm progress bar with the running loss (a widget in a notebook, a
        bar on stderr in a terminal, nothing when stderr is not a terminal), after one line
        on stderr when the Numba kernels are about to be compiled (the first run on a
        machine). Any object with ``update(n)`` and ``close()`` is called instead (and its
        ``write(text)``, if it has one, with that line).
    callback : callable, optional
        ``callback(iteration, history)`` after each evaluation (``history["val_acc"]`` too
        with ``validation_split``).
    data : tuple, optional
        ``(x_train, y_train, x_test, y_test)`` with x as uint8 (N, 784) and y as integer labels,
        instead of the data set ``dataset`` names (the network's metadata then leaves the data
        set and its class names unknown).

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
    config = _make_config(config, params, preset)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    x_train, y_train, x_test, y_test = _training_data(data, config.dataset)
    if data is None:
        known = catalog.info(config.dataset)
        dataset, class_names, image_shape = (known.name, list(known.class_names),
                                              list(known.image_shape))
    else:  # the caller's arrays: what they are is not known here
        dataset = class_names = image_shape = None
    x_train, y_train, x_val, y_val = split_validation(x_train, y_train, config.validation_split)
    n_train = x_train.shape[0]
    if config.batch_size > n_train:
        raise ValueError(f"batch_size must be <= {n_train}, got {config.batch_size}")
    n_iters = config.iterations(n_train)
    chance = chance_accuracy(y_test, N_CLASSES)
    eval_every = config.eval_every or math.ceil(n_train / config.batch_size)
    bar = _progress_bar(progress, n_iters)
    own_bar = progress is True  # ours to restart once the first step has run

    check_fits(_run_bytes(config, x_train.shape[1]),
               f"a run with hidden_size={config.hidden_size} and batch_size={config.batch_size}")
    random_state = np.random.RandomState(config.seed)
    network = TwoLayerNet(x_train.shape[1], config.hidden_size, N_CLASSES,
                          config.weight_init_std, activation=config.activation,
                          backend=config.backend, dtype=config.dtype, seed=random_state)
    if bar is not None:
        announce_compile(config, bar, own_bar)
    optimizer = make_optimizer(config.optimizer, config.learning_rate, config.weight_decay)
    schedule = None if config.schedule == "constant" else config.schedule
    draw_batch = _batch_sampler(random_state, n_train, config.batch_size, config.shuffle)
    history = {"train_loss": [], "eval_iter": [], "train_acc": [], "test_acc": []}
    if x_val is not None:
        history["val_acc"] = []
    losses = history["train_loss"]
    chance_loss = math.log(N_CLASSES)
    show_loss = getattr(bar, "set_postfix_str", None)
    run_correct = run_seen = stuck = 0

    def evaluate(iteration):
        if config.full_train_eval or iteration == 0:
            train_acc = train_accuracy()
        else:
            train_acc = run_correct / run_seen
        history["eval_iter"].append(iteration)
        history["train_acc"].append(train_acc)
        history["test_acc"].append(test_accuracy())
        if x_val is not None:
            history["val_acc"].append(val_accuracy())
        eval_seconds.append(time.perf_counter() - start)
        if callback is not None:
            callback(iteration, history)
        return watcher.after(iteration, len(history["eval_iter"]) - 1, history["test_acc"][-1],
                             history["val_acc"][-1] if x_val is not None else None,
                             eval_seconds[-1])

    i, stop_reason, stop, eval_seconds = 0, "completed", None, []
    with limit_threads(config.threads), StopOnInterrupt() as interrupt:
        step = network.train_step(x_train, y_train, optimizer, config.batch_size,
                                  adaptive_threads=config.threads is None)
        train_accuracy = network.evaluator(x_train, y_train, "x_train")
        test_accuracy = network.evaluator(x_test, y_test, "x_test")
        if x_val is not None:
            val_accuracy = network.evaluator(x_val, y_val, "the validation set")
        start = time.perf_counter()
        watcher = Watcher(config, network.params, start)
        try:
            stop = evaluate(0)
            while i < n_iters and not interrupt.hit and stop is None:
                if schedule is not None:  # the fused step reads optimizer.lr at each call
                    optimizer.lr = learning_rate_at(schedule, config.learning_rate, i, n_iters)
                i += 1
                loss, n_correct = step(draw_batch())
                losses.append(loss)
                run_correct += n_correct
                run_seen += config.batch_size
                stuck = stuck + 1 if loss > DIVERGENCE_FACTOR * chance_loss else 0
                if not math.isfinite(loss) or is_stuck(losses, stuck, chance_loss):
                    _diverged(i, loss, config, history, stuck, (network.backend.name, chance))
                last = i == n_iters or interrupt.hit
                if i % eval_every == 0 or last:
                    if not network.params_finite():
                        _diverged(i, loss, config, history, stuck,
                                  (network.backend.name, chance), params=True)
                    stop = evaluate(i)
                    run_correct = run_seen = 0
                if bar is not None:
                    if own_bar and i == 1:
                        # The first step waited for Numba (compiling, or loading the cache):
                        # start the clock now, or the first estimate is hours.
                        bar.reset(total=n_iters)
                    bar.update(1)
                    if show_loss is not None:
                        show_loss(f"loss {loss:.4f}", refresh=False)
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - start
        if interrupt.hit:
            stop_reason = "interrupted"
        elif stop is not None:
            stop_reason = stop
    best = watcher.restore_best()
    final_accuracy = history["test_acc"][-1 if best is None else best]
    network.metadata.update(config=config.to_dict(), dataset=dataset, class_names=class_names,
                            image_shape=image_shape, test_accuracy=final_accuracy,
                            iterations=i)
    result = TrainResult(network=network, history=history, test_accuracy=final_accuracy,
                         seconds=seconds, backend=network.backend.name, config=config,
                         iterations=i, stop_reason=stop_reason,
                         chance_accuracy=chance, time_to_target=watcher.time_to_target,
                         best_iteration=watcher.best_iteration, eval_seconds=eval_seconds)
    result.at_chance = (i >= CHANCE_MIN_ITERS
                        and result.test_accuracy <= result.chance_accuracy + CHANCE_MARGIN)
    if stop_reason == "interrupted":
        raise TrainingInterrupted(result)
    if result.at_chance:
        warnings.warn(at_chance_message(result), TrainingWarning, stacklevel=2)
    return result


def at_chance_message(result) -> str:
    """The sentence that explains an ``at_chance`` result and what to change."""
    return (f"the run ended at chance level: test accuracy {result.test_accuracy:.1%}, no better "
            f"than always answering the most frequent test label ({result.chance_accuracy:.1%}); "
            f"{advice(result.config, result.history)}")


def _run_bytes(config, n_features):
    """Memory a run needs, roughly: the parameters, their gradients, the fused step's scratch
    and the optimizer's state, plus the batch's activations."""
    itemsize = np.dtype(config.dtype).itemsize
    h = config.hidden_size
    n_params = (n_features + 1) * h + (h + 1) * N_CLASSES
    copies = 3 + {"momentum": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}.get(config.optimizer, 0)
    batch = config.batch_size * (n_features + 6 * h + 4 * N_CLASSES)
    return (copies * n_params + batch) * itemsize


def _make_config(config, params, preset=None):
    if preset is not None:
        from .presets import preset_values

        if config is not None:
            raise TypeError("give a config or a preset, not both (override a preset's values "
                            "with keywords)")
        return TrainConfig(**{**preset_values(preset), **_known(params)})
    if config is None:
        return TrainConfig(**_known(params))
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    return dataclasses.replace(config, **_known(params)) if params else config


def _known(params):
    names = [f.name for f in config_fields()]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise TypeError(f"train() got unknown parameter(s) {', '.join(unknown)}; the training "
                        f"parameters are {', '.join(names)}")
    return params


def _diverged(iteration, loss, config, history, stuck, run, params=False):
    """Raise TrainingDivergedError; ``run`` is ``(backend name, chance accuracy)``."""
    if params:
        what = "the parameters are no longer finite"
    elif not math.isfinite(loss):
        what = f"the loss is {loss}"
    else:
        what = (f"the loss has stayed above {DIVERGENCE_FACTOR:g} x chance level for {stuck} "
                f"iterations without improving (now {loss:.3g})")
    raise TrainingDivergedError(
        f"training diverged at iteration {iteration}: {what}; {advice(config, history)}.",
        iteration=iteration, history=history, backend=run[0], chance_accuracy=run[1])


def _signature():
    """train()'s signature with every TrainConfig field as a keyword (for help() and IDEs)."""
    kw = inspect.Parameter.KEYWORD_ONLY
    fields = [inspect.Parameter(f.name, kw, default=f.default) for f in config_fields()]
    extra = [inspect.Parameter(name, kw, default=default)
             for name, default in (("preset", None), ("progress", False), ("callback", None),
                                   ("data", None))]
    config = inspect.Parameter("config", inspect.Parameter.POSITIONAL_ONLY, default=None)
    return inspect.Signature([config] + fields + extra)


train.__signature__ = _signature()
train.__doc__ = train.__doc__.replace("{config_parameters}", parameters_doc())
