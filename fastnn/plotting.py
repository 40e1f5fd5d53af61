"""Training curves to an image file, drawn with matplotlib's Agg canvas.

The figure is built from :class:`matplotlib.figure.Figure` and ``FigureCanvasAgg`` directly, never
through ``pyplot``: no display is needed and pyplot's global figure list is left alone. matplotlib
is imported inside the functions so that ``import fastnn`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._io import atomic_write

__all__ = ["plot_history", "check_plot_path", "new_figure", "save_figure", "HISTORY_KEYS"]

#: Keys :func:`plot_history` reads from a training history.
HISTORY_KEYS = ("train_loss", "eval_iter", "train_acc", "test_acc")

_FIGSIZE = (11.0, 4.2)
_DPI = 100
# Trailing window of the loss average: 1/20 of the run, at most 200 iterations (about two
# epochs at the seed's batch size), enough to see the trend through mini-batch noise.
_MAX_WINDOW = 200


def check_plot_path(path) -> Path:
    """Return ``path`` made absolute, after checking matplotlib can write its format.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its extension (``.png``, ``.pdf``, ``.svg``, ...) selects the format.

    Returns
    -------
    pathlib.Path
        The absolute path (symbolic links are not resolved).

    Raises
    ------
    ValueError
        If the extension is missing or not a format matplotlib can write.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(os.path.abspath(os.fspath(path)))
    fmt = path.suffix[1:].lower()
    supported = FigureCanvasAgg.get_supported_filetypes()
    if fmt not in supported:
        what = f"extension {path.suffix!r}" if fmt else "no extension"
        raise ValueError(f"plot path {str(path)!r} has {what}; use one of "
                         f"{', '.join('.' + ext for ext in sorted(supported))}")
    return path


def new_figure(size, dpi=_DPI):
    """A :class:`~matplotlib.figure.Figure` of ``size`` inches on an Agg canvas (no pyplot), with
    a constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path) -> Path:
    """Save ``fig`` to ``path`` atomically (see :mod:`fastnn._io`); the extension picks the
    format. Returns the absolute path."""
    path = check_plot_path(path)
    with atomic_write(path) as fh:
        fig.savefig(fh, format=path.suffix[1:].lower())
    return path


def plot_history(history, path, *, title=None) -> Path:
    """Draw the loss and accuracy curves of a training run into an image file.

    The left panel shows the per-iteration training loss (faint) and its trailing moving
    average; the right panel shows train and test accuracy at each evaluation. The file is
    written to a temporary name in the same directory and then renamed over ``path``, so a
    reader never sees a half-written image.

    Parameters
    ----------
    history : mapping
        ``"train_loss"``: sequence of float, one per iteration (non-finite values, as left by
        a diverged run, leave gaps); ``"eval_iter"``, ``"train_acc"``, ``"test_acc"``:
        sequences of equal length, one entry per evaluation.
    path : str or os.PathLike
        Target file; missing parent directories are created. The extension selects the format.
    title : str, optional
        Figure title.

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Raises
    ------
    ValueError
        If ``history`` misses a key, has evaluation lists of different lengths, holds nothing
        to plot, or the extension is not an image format matplotlib can write.
    """
    loss, eval_iter, train_acc, test_acc = _validate(history)
    path = check_plot_path(path)
    fig = new_figure(_FIGSIZE)
    ax_loss, ax_acc = fig.subplots(1, 2)
    _draw_loss(ax_loss, loss)
    _draw_accuracy(ax_acc, eval_iter, train_acc, test_acc)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def _validate(history):
    if not isinstance(history, Mapping):
        raise ValueError(f"history must be a mapping with keys {', '.join(HISTORY_KEYS)}; "
                         f"got {type(history).__name__}")
    arrays = []
    for key in HISTORY_KEYS:
        if key not in history:
            raise ValueError(f"history is missing the key {key!r} "
                             f"(needs {', '.join(HISTORY_KEYS)})")
        try:
            values = np.asarray(history[key], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"history[{key!r}] must be a sequence of numbers: {exc}") from None
        if values.ndim != 1:
            raise ValueError(f"history[{key!r}] must be one-dimensional; got shape {values.shape}")
        arrays.append(values)
    loss, eval_iter, train_acc, test_acc = arrays
    if not len(train_acc) == len(test_acc) == len(eval_iter):
        raise ValueError(
            "history['eval_iter'], ['train_acc'] and ['test_acc'] must have equal lengths; got "
            f"{len(eval_iter)}, {len(train_acc)} and {len(test_acc)}")
    if len(loss) == 0 and len(eval_iter) == 0:
        raise ValueError("history is empty: 'train_loss' and 'eval_iter' hold no values")
    return loss, eval_iter, train_acc, test_acc


def _moving_average(values, window):
    """Trailing mean over ``window`` values, skipping non-finite ones (NaN where none is left)."""
    finite = np.isfinite(values)
    sums = np.concatenate(([0.0], np.cumsum(np.where(finite, values, 0.0))))
    counts = np.concatenate(([0], np.cumsum(finite)))
    stop = np.arange(1, len(values) + 1)
    start = np.maximum(stop - window, 0)
    n = counts[stop] - counts[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[stop] - sums[start]) / n, np.nan)


def _draw_loss(ax, loss):
    # Loss i is measured during update i + 1, after the evaluation at iteration i.
    steps = np.arange(1, len(loss) + 1)
    shown = np.where(np.isfinite(loss), loss, np.nan)  # inf would wreck the autoscaled limits
    window = int(np.clip(len(loss) // 20, 1, _MAX_WINDOW))
    ax.plot(steps, shown, color="tab:blue", alpha=0.25, linewidth=0.7, label="loss")
    if window > 1:
        ax.plot(steps, _moving_average(loss, window), color="tab:blue", linewidth=1.6,
                label=f"moving average ({window})")
    ax.set_title("Loss")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cross-entropy loss")
    ax.grid(True, alpha=0.3)
    if len(loss):
        ax.legend(loc="upper right")


def _draw_accuracy(ax, eval_iter, train_acc, test_acc):
    for values, label, color in ((train_acc, "train", "tab:orange"),
                                 (test_acc, "test", "tab:green")):
        if len(values) and np.isfinite(values[-1]):
            label = f"{label} (final {values[-1] * 100:.2f} %)"
        ax.plot(eval_iter, values, marker="o", markersize=3, color=color, label=label)
    ax.set_title("Accuracy")
    ax.set_xlabel("iteration")
    ax.set_ylabel("accuracy")
    both = np.concatenate((train_acc, test_acc))
    both = both[np.isfinite(both)]
    if both.size:
        ax.set_ylim(max(0.0, float(both.min()) - 0.02), min(1.0, float(both.max()) + 0.02) + 0.005)
    ax.grid(True, alpha=0.3)
    if len(eval_iter):
        ax.legend(loc="lower right")

