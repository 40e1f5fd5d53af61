"""TrainConfig: every parameter of a training run, listed once.

Each field carries its default, its check, its command-line flag and its help text.
:func:`fastnn.train` validates through it, the ``fastnn train`` subcommand is generated from it
and :attr:`fastnn.TrainResult.config` is one. Adding a training parameter is adding a field
here (and using it in :mod:`fastnn.training`).

>>> from fastnn import TrainConfig
>>> config = TrainConfig(optimizer="adam", learning_rate=0.001)
>>> config.batch_size, config.to_dict()["optimizer"]
(512, 'adam')
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

from ._validation import (
    check_backend,
    check_bool,
    check_choice,
    check_dtype,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from .backends import NAMES as BACKEND_NAMES
from .backends.interface import ACTIVATIONS, DTYPES
from .datasets.catalog import DATASETS
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES

__all__ = ["TrainConfig", "config_fields", "DEFAULT_ITERS", "WEIGHT_INITS"]

#: The teaching program's number of iterations: what a run does when neither ``iters`` nor
#: ``epochs`` is given.
DEFAULT_ITERS = 10_000


def _optional_positive_int(value, name):
    return None if value is None else check_positive_int(value, name)


#: The named weight initialisations (the book's MultiLayerNet): the standard deviation of each
#: layer's weights is sqrt(2 / fan_in) ("he", for ReLU) or sqrt(1 / fan_in) ("xavier", for
#: sigmoid), fan_in being the number of inputs of the layer.
WEIGHT_INITS = ("he", "xavier")


def _weight_init(value, name):
    if isinstance(value, str):
        if value.lower() in WEIGHT_INITS:
            return value.lower()
        raise ValueError(f"{name}={value!r} is not known; expected a number > 0 or one of "
                         f"{', '.join(repr(w) for w in WEIGHT_INITS)}")
    return check_positive_float(value, name)


def _number_or_name(text):
    """The flag's text as a float where it reads as one, else the text (a name)."""
    try:
        return float(text)
    except ValueError:
        return text


def _optional_accuracy(value, name):
    if value is None:
        return None
    value = check_positive_float(value, name)
    if value > 1:
        raise ValueError(f"{name} must be a fraction in (0, 1], such as 0.98, got {value!r}")
    return value


def _split(value, name):
    value = check_non_negative_float(value, name)
    if value >= 1:
        raise ValueError(f"{name} must be a fraction in [0, 1), such as 0.1, got {value!r}")
    return value


def _dtype_name(value, name):
    return check_dtype(value).name


def _choice(choices):
    def check(value, name):
        return check_choice(value, choices, name)
    return check


def _param(default, help, *, flag, check, metavar=None, choices=None, parse=None):
    """A TrainConfig field: ``check(value, name) -> value`` normalises or raises; ``parse``
    turns the flag's text into a value (default: the type of ``default``)."""
    return field(default=default, metadata=dict(help=help, flag=flag, check=check,
                                                metavar=metavar, choices=choices,
                                                parse=parse))


@dataclass(frozen=True)
class TrainConfig:
    """The parameters of one training run; the defaults are the teaching program's settings.

    Every value is checked when the config is made (``ValueError`` or ``TypeError`` naming the
    field). Use :func:`dataclasses.replace` for a variant. Checks that need the data (a batch
    no larger than the training set) happen in :func:`fastnn.train`.
    """

    backend: object = _param(
        "auto", "kernel implementation; 'auto' uses $FASTNN_BACKEND if set, else the fastest "
        "that works here", flag="--backend", check=check_backend,
        choices=("auto",) + BACKEND_NAMES)
    dataset: str = _param("mnist", "the data set to learn: the bundled MNIST digits, or "
                          "Fashion-MNIST (found in $FASTNN_DATA_DIR, then in Debian's "
                          "dataset-fashion-mnist package)", flag="--dataset",
                          check=_choice(DATASETS), choices=DATASETS)
    hidden_size: int = _param(50, "number of hidden units", flag="--hidden", metavar="N",
                              check=check_positive_int)
    activation: str = _param("relu", "activation of the hidden layer", flag="--activation",
                             check=_choice(ACTIVATIONS), choices=ACTIVATIONS)
    optimizer: str = _param("sgd", "parameter update rule", flag="--optimizer",
                            check=_choice(tuple(OPTIMIZERS)), choices=tuple(OPTIMIZERS))
    learning_rate: float = _param(0.05, "learning rate of the optimizer", flag="--lr",
                                  metavar="LR", check=check_positive_float)
    batch_size: int = _param(512, "samples per mini-batch", flag="--batch-size", metavar="N",
                             check=check_positive_int)
    iters: int | None = _param(
        None, f"number of training iterations (mini-batches); default {DEFAULT_ITERS:,} "
        "unless --epochs is given (give one of the two)", flag="--iters", metavar="N",
        check=_optional_positive_int, parse=int)
    epochs: int | None = _param(
        None, "train for this many epochs instead: epochs * ceil(n_train / batch size) "
        "iterations (give --iters or --epochs, not both)", flag="--epochs", metavar="N",
        check=_optional_positive_int, parse=int)
    weight_init_std: float | str = _param(
        0.01, "standard deviation of the initial Gaussian weights, or 'he' (sqrt(2 / fan_in) "
        "per layer, for ReLU) or 'xavier' (sqrt(1 / fan_in), for sigmoid)",
        flag="--weight-init-std", metavar="STD|he|xavier", check=_weight_init,
        parse=_number_or_name)
    weight_decay: float = _param(
        0.0, "L2 weight decay: weight_decay * W is added to the weights' gradients (not the "
        "biases'), for every optimizer", flag="--weight-decay", metavar="LAMBDA",
        check=check_non_negative_float)
    schedule: str = _param(
        "constant", "learning-rate schedule over the run: constant, step (x0.1 at 1/2 and 3/4 "
        "of it), cosine (down to 0), onecycle (up from lr/25 to lr over the first 3/10 of "
        "it, then down to lr/25e4)", flag="--schedule", check=_choice(SCHEDULES), choices=SCHEDULES)
    target_accuracy: float | None = _param(
        None, "stop at the first evaluation whose test accuracy reaches this fraction (e.g. "
        "0.98) and record the time it took", flag="--target-accuracy", metavar="ACC",
        check=_optional_accuracy, parse=float)
    validation_split: float = _param(
        0.0, "hold out this fraction of the training set (its last samples; never the test "
        "set) and measure accuracy on it at each evaluation; the weights of the best "
        "evaluation are restored at the end", flag="--validation-split", metavar="FRACTION",
        check=_split)
    patience: int | None = _param(
        None, "with --validation-split: stop early after this many evaluations in a row "
        "without a better validation accuracy", flag="--patience", metavar="N",
        check=_optional_positive_int, parse=int)
    dtype: str = _param("float64", "floating-point type of weights and activations",
                        flag="--dtype", check=_dtype_name, choices=DTYPES)
    seed: int = _param(0, "random seed for the initial weights and the mini-batch sampling "
                       "(same seed, same result, bit for bit)", flag="--seed", metavar="N",
                       check=check_seed)
    eval_every: int | None = _param(
        None, "iterations between evaluations of train and test accuracy (default: one "
        "epoch, ceil(n_train / batch size)); iteration 0 and the last are always evaluated",
        flag="--eval-every", metavar="N", check=_optional_positive_int, parse=int)
    shuffle: bool = _param(
        False, "draw each epoch's batches from a shuffled permutation (the last incomplete "
        "batch dropped) instead of sampling with replacement as the teaching program does",
        flag="--shuffle", check=check_bool)
    full_train_eval: bool = _param(
        False, "measure train accuracy on the whole training set at each evaluation instead "
        "of the free running accuracy of the mini-batches since the previous one",
        flag="--full-train-eval", check=check_bool)
    threads: int | None = _param(
        None, "threads for Numba and BLAS (default: all cores, or one while the machine is "
        "too busy for two to help: the step measures which); results are the same bits for "
        "any number", flag="--threads", metavar="N", check=_optional_positive_int,
        parse=int)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            checked = f.metadata["check"](getattr(self, f.name), f.name)
            object.__setattr__(self, f.name, checked)
        if self.patience is not None and not self.validation_split:
            raise ValueError(f"patience={self.patience} needs a validation set to watch: give "
                             "validation_split too (e.g. 0.1)")
        if self.iters is not None and self.epochs is not None:
            raise ValueError(f"give iters or epochs, not both: got iters={self.iters} and "
                             f"epochs={self.epochs} (set the other to None)")

    def iterations(self, n_train) -> int:
        """The number of iterations of the run on ``n_train`` training samples: ``iters``, or
        ``epochs * ceil(n_train / batch_size)``, or :data:`DEFAULT_ITERS` when neither is set.

        >>> TrainConfig(epochs=2).iterations(60000)   # 2 * ceil(60000 / 512)
        236
        """
        if self.iters is not None:
            return self.iters
        if self.epochs is not None:
            return self.epochs * math.ceil(n_train / self.batch_size)
        return DEFAULT_ITERS

    def to_dict(self) -> dict:
        """The parameters as plain JSON-compatible values (a backend by its name)."""
        out = dataclasses.asdict(self)
        if not isinstance(out["backend"], str):
            out["backend"] = out["backend"].name
        return out

    @classmethod
    def from_dict(cls, values) -> TrainConfig:
        """A TrainConfig from :meth:`to_dict`'s output; unknown keys raise ``TypeError``."""
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown training parameter(s) {sorted(unknown)}; expected "
                            f"{', '.join(f.name for f in dataclasses.fields(cls))}")
        return cls(**values)

    @staticmethod
    def flag_of(name) -> str:
        """The command-line flag that sets parameter ``name``."""
        return {f.name: f.metadata["flag"] for f in config_fields()}[name]


def config_fields():
    """The fields of :class:`TrainConfig`, in order (each with ``metadata``: help, flag,
    check, metavar, choices, parse)."""
    return dataclasses.fields(TrainConfig)


def parameters_doc(indent="    ") -> str:
    """The numpydoc ``Parameters`` entries of every field, for docstrings."""
    lines = []
    for f in config_fields():
        meta = f.metadata
        kind = ("{" + ", ".join(repr(c) for c in meta["choices"]) + "}" if meta["choices"]
                else _type_name(f.default, meta))
        lines.append(f"{indent}{f.name} : {kind}, default {f.default!r}")
        lines.append(f"{indent}    {meta['help'][0].upper()}{meta['help'][1:]}.")
    return "\n".join(lines)


def _type_name(default, meta):
    if default is None:
        return f"{meta['parse'].__name__} or None"
    if isinstance(default, bool):
        return "bool"
    return "int" if isinstance(default, numbers.Integral) else type(default).__name__


TrainConfig.__doc__ += "\n    Parameters\n    ----------\n" + parameters_doc() + "\n"
