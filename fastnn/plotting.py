"""Training curves to an image file, drawn with matplotlib's Agg canvas.

The figure is built from :class:`matplotlib.figure.Figure` and ``FigureCanvasAgg`` directly, never
through ``pyplot``: no display is needed and pyplot's global figure list is left alone. matplotlib
is imported inside the functions so that ``import fastnn`` stays light.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._io import atomic_write

__all__ = ["plot_history", "history_figure", "run_title", "check_plot_path", "new_figure",
           "save_figure", "smoothed", "HISTORY_KEYS"]

#: Keys :func:`plot_history` reads from a training history.
HISTORY_KEYS = ("train_loss", "eval_iter", "train_acc", "test_acc")

_FIGSIZE = (11.0, 4.2)
_DPI = 100
# The loss is smoothed over a centred window of up to 1/20 of the run, at most 201 iterations
# (about two epochs at the seed's batch size): enough to see the trend through mini-batch noise.
_MAX_HALF = 100
# Near the start the window spans iterations 0.75 i .. 1.25 i at most: the loss falls fastest
# there, and a wider window would mix the first, high losses into later points.
_START_SHARE = 4


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
    # What IPython shows for the figure when no matplotlib backend is set up in the notebook
    # (without pyplot nothing else would); with matplotlib's inline backend that one is used.
    fig._repr_png_ = functools.partial(_png_bytes, fig)
    return fig


def _png_bytes(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def save_figure(fig, path) -> Path:
    """Save ``fig`` to ``path`` atomically (see :mod:`fastnn._io`); the extension picks the
    format. Returns the absolute path."""
    path = check_plot_path(path)
    with atomic_write(path) as fh:
        fig.savefig(fh, format=path.suffix[1:].lower())
    return path


def run_title(config, backend, stop_reason="completed", iterations=None) -> str:
    """The title of a run's curves: the network, the optimizer, the batch, the dtype and the
    backend that ran, and how the run ended when it did not complete."""
    title = (f"784-{config.hidden_size}-10 {config.activation}, {config.optimizer} "
             f"lr {config.learning_rate:g}, batch {config.batch_size}, {config.dtype}, "
             f"backend {backend}")
    if config.dataset != "mnist":
        title = f"{config.dataset}: {title}"
    if stop_reason == "interrupted":
        title += f" (interrupted at iteration {iterations})"
    elif stop_reason != "completed":
        title += f" ({stop_reason})"
    return title


def history_figure(history, *, title=None, chance=None):
    """The loss and accuracy curves of a training run as a matplotlib figure (no file).

    The left panel shows the per-iteration training loss (faint) and its centred moving
    average (:func:`smoothed`); the right panel shows train accuracy (solid, circles) and test
    accuracy (dotted, squares) at each evaluation, with the chance level dashed. A notebook
    displays the figure.

    Parameters
    ----------
    history : mapping
        ``"train_loss"``: sequence of float, one per iteration (non-finite values, as left by
        a diverged run, leave gaps); ``"eval_iter"``, ``"train_acc"``, ``"test_acc"``:
        sequences of equal length, one entry per evaluation.
    title : str, optional
        Figure title.
    chance : float, optional
        The accuracy of always answering the most frequent class, drawn as a dashed line.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``history`` misses a key, has evaluation lists of different lengths or holds
        nothing to plot.
    """
    loss, eval_iter, train_acc, test_acc = _validate(history)
    fig = new_figure(_FIGSIZE)
    ax_loss, ax_acc = fig.subplots(1, 2)
    _draw_loss(ax_loss, loss)
    _draw_accuracy(ax_acc, eval_iter, train_acc, test_acc, chance)
    if title:
        fig.suptitle(title)
    return fig


def plot_history(history, path, *, title=None, chance=None) -> Path:
    """Draw the loss and accuracy curves of a training run into an image file.

    The figure is :func:`history_figure`'s. The file is written to a temporary name in the
    same directory and then renamed over ``path``, so a reader never sees a half-written image.

    Parameters
    ----------
    history : mapping
        See :func:`history_figure`.
    path : str or os.PathLike
        Target file; missing parent directories are created. The extension selects the format.
    title : str, optional
        Figure title.
    chance : float, optional
        The chance level of the test accuracy, drawn dashed.

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
    _validate(history)
    path = check_plot_path(path)
    return save_figure(history_figure(history, title=title, chance=chance), path)


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


def smoothed(values, max_half=None):
    """A centred moving average that neither lags nor jumps: the value at iteration ``i`` is
    the mean of the finite values within ``h_i`` of it, with ``h_i = min(max_half, i // 4,
    n - 1 - i)``.

    Centred, so a trend is not shifted to the right (a straight line comes out unchanged);
    narrow at the start (``i // 4``), so the first, high losses of a fast-falling run do not
    hold the curve up for a whole window and then drop out of it at once; narrow at the end,
    where there is nothing to average on the right.

    Parameters
    ----------
    values : array_like of float, shape (n,)
        Non-finite values are skipped (NaN where a window holds none).
    max_half : int, optional
        Default ``min(n // 40, 100)``: windows of up to 1/20 of the run, at most 201 values.

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if max_half is None:
        max_half = min(n // 40, _MAX_HALF)
    finite = np.isfinite(values)
    sums = np.concatenate(([0.0], np.cumsum(np.where(finite, values, 0.0))))
    counts = np.concatenate(([0], np.cumsum(finite)))
    i = np.arange(n)
    half = np.minimum(np.minimum(max_half, i // _START_SHARE), n - 1 - i)
    start, stop = i - half, i + half + 1
    k = counts[stop] - counts[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k > 0, (sums[stop] - sums[start]) / k, np.nan)


def _draw_loss(ax, loss):
    # Loss i is measured during update i + 1, after the evaluation at iteration i.
    steps = np.arange(1, len(loss) + 1)
    shown = np.where(np.isfinite(loss), loss, np.nan)  # inf would wreck the autoscaled limits
    half = min(len(loss) // 40, _MAX_HALF)
    ax.plot(steps, shown, color="tab:blue", alpha=0.25, linewidth=0.7, label="loss")
    if half >= 1:
        ax.plot(steps, smoothed(loss, half), color="tab:blue", linewidth=1.6,
                label=f"centred average (up to {2 * half + 1} iterations)")
    ax.set_title("Loss")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cross-entropy loss")
    ax.grid(True, alpha=0.3)
    if len(loss):
        ax.legend(loc="upper right")


#: How each accuracy is drawn: colour and line style both differ, for readers who cannot
#: tell the colours apart and for grey-scale prints.
ACCURACY_STYLES = {
    "train": dict(color="tab:orange", linestyle="-", marker="o"),
    "test": dict(color="tab:green", linestyle=":", marker="s"),
    "chance": dict(color="0.45", linestyle="--", linewidth=1.0),
}


def _draw_accuracy(ax, eval_iter, train_acc, test_acc, chance=None):
    for values, name in ((train_acc, "train"), (test_acc, "test")):
        label = name
        if len(values) and np.isfinite(values[-1]):
            label = f"{name} (last {values[-1] * 100:.2f} %)"
        ax.plot(eval_iter, values, markersize=3.5, label=label, **ACCURACY_STYLES[name])
    shown = [train_acc, test_acc]
    if chance is not None and np.isfinite(chance):
        ax.axhline(chance, label=f"chance ({chance * 100:.2f} %)", **ACCURACY_STYLES["chance"])
        shown.append(np.array([chance]))
    ax.set_title("Accuracy")
    ax.set_xlabel("iteration")
    ax.set_ylabel("accuracy")
    both = np.concatenate(shown)
    both = both[np.isfinite(both)]
    if both.size:
        ax.set_ylim(max(0.0, float(both.min()) - 0.02), min(1.0, float(both.max()) + 0.02) + 0.005)
    ax.grid(True, alpha=0.3)
    if len(eval_iter):
        ax.legend(loc="lower right")
