"""What train() decides at each evaluation: stop at a target accuracy, stop early on the
validation set, and keep the best weights seen on it.

The validation set is the last ``validation_split`` of the training set (Keras's convention:
the samples are taken from the end, before any shuffling), so the test set is never looked at
for a decision; only ``target_accuracy`` reads the test accuracy, because it is what it
measures.
"""

from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["split_validation", "Watcher"]


def split_validation(x_train, y_train, fraction):
    """``(x_train, y_train, x_val, y_val)``: the last ``ceil(fraction * n)`` samples held out
    (views of the read-only arrays, nothing copied); ``x_val`` is None without a split."""
    if not fraction:
        return x_train, y_train, None, None
    n = x_train.shape[0]
    n_val = math.ceil(fraction * n)
    if n_val >= n:
        raise ValueError(f"validation_split={fraction:g} of {n} training samples leaves none to "
                         f"train on; use a smaller fraction")
    return x_train[:n - n_val], y_train[:n - n_val], x_train[n - n_val:], y_train[n - n_val:]


class Watcher:
    """Follows the evaluations of one run; :meth:`after` says why to stop, or None.

    Parameters
    ----------
    config : TrainConfig
    params : dict of ndarray
        The network's parameters (updated in place by the train step): copied at each better
        validation accuracy, written back by :meth:`restore_best`.
    start : float
        ``time.perf_counter()`` at the start of the training loop.
    """

    def __init__(self, config, params, start):
        self.target = config.target_accuracy
        self.validating = bool(config.validation_split)
        self.patience = config.patience
        self.params, self.start = params, start
        self.time_to_target = None
        self.best_iteration = self.best_index = None
        self.best_val = -math.inf
        self.best_params = None
        self.since_best = 0

    def after(self, iteration, index, test_acc, val_acc=None, seconds=None):
        """The stop reason after evaluation number ``index`` (at ``iteration``, ``seconds``
        after the start of the loop), or None."""
        if self.validating:
            # strictly better: of equal accuracies the earliest (the shortest training) is kept
            if val_acc > self.best_val:
                self.best_val, self.best_iteration, self.best_index = val_acc, iteration, index
                self.best_params = {key: np.array(p, copy=True) for key, p in self.params.items()}
                self.since_best = 0
            else:
                self.since_best += 1
        if self.target is not None and test_acc >= self.target and self.time_to_target is None:
            self.time_to_target = (time.perf_counter() - self.start if seconds is None
                                   else seconds)
            return "target_accuracy"
        if self.patience is not None and self.since_best >= self.patience:
            return "early_stopping"
        return None

    def restore_best(self):
        """Write the best evaluation's weights back into the network's arrays (in place: the
        caller's references to them stay valid); returns the index of that evaluation, or
        None without a validation set."""
        if self.best_params is None:
            return None
        for key, p in self.params.items():
            p[...] = self.best_params[key]
        return self.best_index
