"""Learning-rate schedules: the rate of each iteration, from the base rate and the run's length.

:func:`fastnn.train` sets ``optimizer.lr`` to :func:`learning_rate_at` before every step. The
Numba backend's fused step reads ``optimizer.lr`` at each call, so a schedule costs no extra
pass over the parameters on either backend. The formulas are the published ones, as PyTorch's
schedulers compute them for a run of ``total`` steps (step ``t`` counts from 0):

``constant``
    ``lr``.
``step``
    ``lr * 0.1 ** k``, where ``k`` is the number of milestones ``total // 2`` and
    ``3 * total // 4`` that ``t`` has reached (``MultiStepLR(milestones=[total // 2,
    3 * total // 4], gamma=0.1)``).
``cosine``
    ``lr * (1 + cos(pi * t / total)) / 2`` (``CosineAnnealingLR(T_max=total, eta_min=0)``),
    from ``lr`` down towards 0.
``onecycle``
    Smith's one-cycle policy (``OneCycleLR(max_lr=lr, total_steps=total)`` with its
    defaults): over the first 30 % of the run the rate rises from ``lr / 25`` to ``lr`` along a
    half cosine, then falls along a half cosine to ``lr / 25 / 1e4``.

>>> [round(learning_rate_at("cosine", 1.0, t, 4), 4) for t in range(4)]
[1.0, 0.8536, 0.5, 0.1464]
>>> [learning_rate_at("step", 1.0, t, 8) for t in (3, 4, 5, 6, 7)]
[1.0, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002]
"""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "learning_rate_at", "ONECYCLE_PCT_START", "ONECYCLE_DIV",
           "ONECYCLE_FINAL_DIV", "STEP_GAMMA"]

SCHEDULES = ("constant", "step", "cosine", "onecycle")
#: ``step``: the factor at each milestone (half and three quarters of the run).
STEP_GAMMA = 0.1
#: ``onecycle``: the share of the run spent warming up, the start rate's divisor and the final
#: rate's further divisor (PyTorch's ``OneCycleLR`` defaults, themselves Smith's).
ONECYCLE_PCT_START = 0.3
ONECYCLE_DIV = 25.0
ONECYCLE_FINAL_DIV = 1e4


def learning_rate_at(schedule, lr, t, total) -> float:
    """The learning rate of step ``t`` (0-based) of a run of ``total`` steps.

    Parameters
    ----------
    schedule : {"constant", "step", "cosine", "onecycle"}
    lr : float
        The base (for ``onecycle``: the peak) learning rate.
    t : int
        The step, ``0 <= t < total``.
    total : int
        The number of steps of the run, >= 1.

    Returns
    -------
    float
        Always > 0 for ``0 <= t < total``.
    """
    if schedule == "constant":
        return lr
    if schedule == "step":
        reached = (t >= total // 2) + (t >= 3 * total // 4)
        return lr * STEP_GAMMA ** reached
    if schedule == "cosine":
        return lr * (1.0 + math.cos(math.pi * t / total)) / 2.0
    if schedule == "onecycle":
        return _onecycle(lr, t, total)
    raise ValueError(f"schedule={schedule!r} is not known; expected one of "
                     f"{', '.join(repr(s) for s in SCHEDULES)}")


def _onecycle(lr, t, total):
    """PyTorch's ``OneCycleLR`` (two phases, cosine annealing), term for term."""
    initial = lr / ONECYCLE_DIV
    final = initial / ONECYCLE_FINAL_DIV
    up_end = float(ONECYCLE_PCT_START * total) - 1
    phases = ((up_end, initial, lr), (total - 1, lr, final))
    start = 0.0
    for k, (end, begin_lr, end_lr) in enumerate(phases):
        if t <= end or k == len(phases) - 1:
            span = end - start
            pct = (t - start) / span if span > 0 else 1.0
            return end_lr + (begin_lr - end_lr) / 2.0 * (math.cos(math.pi * pct) + 1)
        start = end
    raise AssertionError("unreachable")
