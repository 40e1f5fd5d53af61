"""train()'s data: the caller's arrays checked and frozen, and the mini-batch sampler."""

from __future__ import annotations

import numpy as np

from ._validation import frozen
from .datasets import catalog

__all__ = ["training_data", "batch_sampler", "N_CLASSES"]

#: Classes of the bundled data sets.
N_CLASSES = 10


def training_data(data, dataset):
    """``(x_train, y_train, x_test, y_test)`` checked, C-ordered and read-only: a writable array
    is copied, so that editing it during or after the run cannot reach what the run uses."""
    if data is None:
        return catalog.load_dataset(dataset)
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
        if x.shape[0] == 0:
            raise ValueError(f"{name} has no samples (shape {x.shape})")
        if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels for {name} must be integers of shape ({x.shape[0]},), got "
                             f"{y.dtype} of shape {y.shape}")
        if y.min() < 0 or y.max() >= N_CLASSES:
            raise ValueError(f"labels for {name} must be in 0..{N_CLASSES - 1}, got "
                             f"{y.min()}..{y.max()}")
        out += [frozen(x, np.uint8), frozen(y, np.int64)]
    if out[2].shape[1] != out[0].shape[1]:
        raise ValueError(f"x_test has {out[2].shape[1]} pixels per sample but x_train has "
                         f"{out[0].shape[1]}: both must come from the same kind of image")
    return tuple(out)


def batch_sampler(random_state, n_train, batch_size, shuffle):
    """``draw() -> int64 indices`` of the next mini-batch."""
    if not shuffle:
        def draw():
            # What the teaching program's choice(n_train, batch_size) draws, without the argument
            # checks that cost choice() as much again.
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
