"""The overlay of a comparison: every configuration's loss and test accuracy in one figure.

Each configuration is one colour: its line is the mean over its seeds (the loss smoothed as
:func:`fastnn.plotting.smoothed` smooths one run's), the shaded band the spread between the
lowest and the highest seed. The best configuration is drawn thick, on top, and named first
in the legend.
"""

from __future__ import annotations

import warnings

import numpy as np

from .plotting import new_figure, smoothed

__all__ = ["comparison_figure"]

_FIGSIZE = (12.0, 4.8)
#: Legends longer than this list the best configuration and the first others only.
_MAX_LEGEND = 12


def _loss_band(rows):
    """(iterations, mean, low, high) of the runs' smoothed losses, NaN where a run ended."""
    curves = []
    for row in rows:
        loss = np.asarray(row["history"]["train_loss"], dtype=np.float64)
        curves.append(smoothed(loss) if loss.size else loss)
    n = max((len(c) for c in curves), default=0)
    stacked = np.full((len(curves), n), np.nan)
    for k, c in enumerate(curves):
        stacked[k, :len(c)] = c
    return np.arange(1, n + 1), *_spread(stacked)


def _accuracy_band(rows):
    """(iterations, mean, low, high) of the test accuracies at the iterations evaluated."""
    points = sorted({i for row in rows for i in row["history"]["eval_iter"]})
    where = {i: k for k, i in enumerate(points)}
    stacked = np.full((len(rows), len(points)), np.nan)
    for k, row in enumerate(rows):
        h = row["history"]
        for i, acc in zip(h["eval_iter"], h["test_acc"]):
            stacked[k, where[i]] = acc
    return np.asarray(points), *_spread(stacked)


def _spread(stacked):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: nothing to draw
        return (np.nanmean(stacked, axis=0), np.nanmin(stacked, axis=0),
                np.nanmax(stacked, axis=0))


def comparison_figure(comparison, *, title=None):
    """The overlay figure of a :class:`~fastnn.compare.Comparison` (no file is written).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When no finished run has a history to draw.
    """
    groups = {label: [r for r in rows if r["history"]]
              for label, rows in comparison.groups().items()}
    groups = {label: rows for label, rows in groups.items() if rows}
    if not groups:
        raise ValueError("no finished run has curves to draw")
    best = comparison.best
    order = sorted(groups, key=lambda label: label != best)  # the best first
    colours = _colours(len(order))
    fig = new_figure(_FIGSIZE)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for k, label in enumerate(order):
        rows = groups[label]
        is_best = label == best
        style = dict(color=colours[k], linewidth=2.6 if is_best else 1.2,
                     zorder=3 if is_best else 2, alpha=1.0 if is_best else 0.85)
        diverged = sum(r["status"] == "diverged" for r in rows)
        name = ("best: " if is_best else "") + label
        if len(rows) > 1:
            name += f" ({len(rows)} seeds)"
        if diverged:
            name += f" ({diverged} diverged)"
        shown = name if (k < _MAX_LEGEND or is_best) else None
        x, mean, low, high = _loss_band(rows)
        ax_loss.plot(x, mean, label=shown, **style)
        if len(rows) > 1:
            ax_loss.fill_between(x, low, high, color=colours[k], alpha=0.15, linewidth=0)
        x, mean, low, high = _accuracy_band(rows)
        ax_acc.plot(x, mean, marker="o", markersize=2.5, label=shown, **style)
        if len(rows) > 1:
            ax_acc.fill_between(x, low, high, color=colours[k], alpha=0.15, linewidth=0)
    ax_loss.set_title("Loss (centred average; band: lowest to highest seed)")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.set_yscale("log")
    ax_acc.set_title("Test accuracy (mean over seeds; band: their spread)")
    ax_acc.set_xlabel("iteration")
    ax_acc.set_ylabel("test accuracy")
    finals = [r["best_test_acc"] for rows in groups.values() for r in rows]
    finals = [f for f in finals if np.isfinite(f)]
    if finals:  # zoom on where the configurations differ, not on the first evaluations
        top = max(finals)
        ax_acc.set_ylim(max(0.0, min(np.median(finals) - 0.1, top - 0.05)), min(1.0, top + 0.01))
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
    ax_acc.legend(loc="lower right", fontsize="small")
    if len(order) > _MAX_LEGEND:
        ax_acc.text(0.01, 0.01, f"{len(order) - _MAX_LEGEND} more configurations not listed",
                    transform=ax_acc.transAxes, fontsize="small")
    n_runs = sum(len(rows) for rows in groups.values())
    fig.suptitle(title or f"fastnn compare: {len(groups)} configurations, {n_runs} runs"
                 + (" (interrupted)" if comparison.interrupted else ""))
    return fig


def _colours(n):
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](k) for k in range(n)]
    return [colormaps["viridis"](k / max(1, n - 1)) for k in range(n)]
