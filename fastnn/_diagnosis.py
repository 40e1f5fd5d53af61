"""When a run has failed, and what to change: the advice names the setting that is out of range.

Three verdicts, all from what the run itself recorded:

* **diverged**: a loss or parameter stopped being finite, or the loss sat far above chance level
  without improving (``train()`` stops and raises);
* **at chance**: the run finished, but its test accuracy is no better than always answering the
  most frequent test label (``train()`` warns; ``fastnn train`` exits with status 3);
* otherwise the run is fine.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DIVERGENCE_FACTOR", "DIVERGENCE_PATIENCE", "CHANCE_MARGIN", "CHANCE_MIN_ITERS",
           "TrainingWarning", "advice", "chance_accuracy", "is_stuck"]

#: A loss above DIVERGENCE_FACTOR * ln(n_classes) for DIVERGENCE_PATIENCE iterations in a row,
#: with no improvement over that window, means the run has run away: chance level is ln(10) ~
#: 2.3, a confidently wrong model sits near -ln(1e-7) ~ 16. A run that starts high (very large
#: initial weights) but keeps improving is left to recover.
DIVERGENCE_FACTOR = 2.0
DIVERGENCE_PATIENCE = 100
#: The second half of the window must be at least this much below the first to count as learning.
IMPROVEMENT = 0.95
#: A finished run is "at chance" when its test accuracy is at most chance + CHANCE_MARGIN, and it
#: ran for at least CHANCE_MIN_ITERS iterations (a shorter one has not had the time to learn).
CHANCE_MARGIN = 0.02
CHANCE_MIN_ITERS = 100
#: The learning rate above which each optimizer usually runs away on this network (momentum
#: multiplies the step by about 10; the adaptive methods divide by the gradient's scale).
USUAL_MAX_LR = {"sgd": 1.0, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.5, "rmsprop": 0.01,
                "adam": 0.01}
#: An initial weight scale this large saturates the first layer at once (He's choice for 784
#: inputs is sqrt(2 / 784) ~ 0.05; the teaching program uses 0.01).
LARGE_INIT = 0.5


class TrainingWarning(RuntimeWarning):
    """A run finished but did not learn (its accuracy is at chance level)."""


def chance_accuracy(labels, n_classes) -> float:
    """The accuracy of always answering the most frequent label of ``labels``."""
    counts = np.bincount(np.asarray(labels), minlength=n_classes)
    return float(counts.max() / max(counts.sum(), 1))


def is_stuck(losses, stuck, chance_loss) -> bool:
    """Whether the last ``stuck`` losses, all above ``DIVERGENCE_FACTOR`` x chance, show a run
    that has run away (checked each time ``stuck`` reaches a multiple of the patience)."""
    if stuck < DIVERGENCE_PATIENCE or stuck % DIVERGENCE_PATIENCE:
        return False
    window = np.asarray(losses[-DIVERGENCE_PATIENCE:], dtype=np.float64)
    half = DIVERGENCE_PATIENCE // 2
    return not window[half:].mean() < IMPROVEMENT * window[:half].mean()


def advice(config, history) -> str:
    """What to change, naming the setting that is out of range (or, failing that, the likely
    fix for what the history shows)."""
    tips = []
    init = config.weight_init_std
    if isinstance(init, (int, float)) and init >= LARGE_INIT:
        tips.append(f"weight_init_std={init:g} is very large: the first layer starts saturated "
                    "(the default 0.01, or 'he' = sqrt(2 / 784) ~ 0.05, are usual)")
    usual = USUAL_MAX_LR.get(config.optimizer)
    lr = config.learning_rate
    if usual is not None and lr > usual:
        tips.append(f"learning_rate={lr:g} is large for {config.optimizer} (it usually runs "
                    f"away above {usual:g}): try a smaller learning rate, e.g. "
                    f"{min(lr / 10, usual / 2):g}")
    if tips:
        return "; ".join(tips)
    losses = np.asarray(history.get("train_loss", []), dtype=np.float64)
    chance_loss = math.log(10)
    finite = losses[np.isfinite(losses)]
    blew_up = len(finite) < len(losses) or (finite.size and finite.max() > DIVERGENCE_FACTOR *
                                            chance_loss)
    if blew_up:
        return (f"the loss blew up: try a smaller learning rate than {lr:g} (e.g. "
                f"{lr / 10:g})")
    return (f"the loss stayed near chance level: train for longer (more iterations or epochs) "
            f"or try a larger learning rate than {lr:g}")
