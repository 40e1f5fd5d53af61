"""Pictures of what a network learned: its confusion matrix, its mistakes and its hidden units.

Each ``*_figure`` function returns a matplotlib :class:`~matplotlib.figure.Figure` (drawn with
the Agg canvas, never through pyplot; a notebook displays it), and :func:`write_report` saves
the three next to each other as PNG files. The data come from :func:`fastnn.evaluate`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .plotting import new_figure, save_figure

__all__ = ["REPORT_FILES", "confusion_figure", "mistakes_figure", "hidden_units_figure",
           "select_mistakes", "report_paths", "write_report"]

#: The files :func:`write_report` writes, by picture.
REPORT_FILES = {"confusion": "confusion.png", "mistakes": "mistakes.png",
                "hidden_units": "hidden-units.png"}
#: Misclassified images shown by default: six rows of eight.
MAX_MISTAKES = 48
#: Hidden units shown at most (a 1,000-unit layer would be unreadable at this size).
MAX_UNITS = 100


def _title(evaluation):
    from .datasets import catalog

    name = (catalog.info(evaluation.dataset).title if evaluation.dataset else "the test set")
    return (f"{name}: {len(evaluation.labels):,} test images, accuracy "
            f"{evaluation.accuracy * 100:.2f} %")


def confusion_figure(evaluation):
    """The confusion matrix as a table of counts, shaded by how many (log scale).

    Parameters
    ----------
    evaluation : Evaluation

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.colors import LogNorm

    C = evaluation.confusion
    n = C.shape[0]
    names = evaluation.class_names
    side = max(5.5, 0.62 * n + 2.5)
    fig = new_figure((side + 0.8, side))
    ax = fig.subplots()
    # A log scale: the errors (a handful each) stay visible next to the diagonal (~1,000).
    shown = np.where(C > 0, C, np.nan)
    image = ax.imshow(shown, cmap="Blues", norm=LogNorm(vmin=1, vmax=max(2, C.max())))
    threshold = math.sqrt(max(2, C.max()))
    for i in range(n):
        for j in range(n):
            if C[i, j]:
                ax.text(j, i, str(C[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if C[i, j] > threshold else "black")
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0,
                  ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"Confusion matrix\n{_title(evaluation)}", fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8, label="test images")
    return fig


def select_mistakes(evaluation, limit=MAX_MISTAKES):
    """Indices of the misclassified images a mistakes picture shows: the first ``limit``
    in test-set order (a fair sample, not the strangest ones)."""
    return evaluation.mistakes[:limit]


def mistakes_figure(evaluation, limit=MAX_MISTAKES):
    """A grid of misclassified test images, each captioned with its true class, the
    predicted class and the probability the network gave it.

    Parameters
    ----------
    evaluation : Evaluation
    limit : int, default 48
        The most images shown (the first ones in test-set order, see :func:`select_mistakes`).

    Returns
    -------
    matplotlib.figure.Figure
        Its ``fastnn_indices`` attribute holds the test-set indices shown, in grid order.
    """
    shown = select_mistakes(evaluation, limit)
    cols = 8
    rows = max(1, math.ceil(len(shown) / cols))
    fig = new_figure((cols * 1.35, rows * 1.75 + 0.7))
    total = len(evaluation.mistakes)
    fig.suptitle(f"{'The first ' + str(len(shown)) + ' of ' if len(shown) < total else ''}"
                 f"{total:,} misclassified images ({_title(evaluation)})", fontsize=10)
    if not len(shown):
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center")
    else:
        axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
        names = evaluation.class_names
        for ax, k in zip(axes, shown):
            true, guess = evaluation.labels[k], evaluation.predicted[k]
            ax.imshow(evaluation.images[k].reshape(evaluation.image_shape), cmap="gray_r",
                      vmin=0, vmax=255, interpolation="nearest")
            ax.set_xlabel(f"true {names[true]}\nsaid {names[guess]} "
                          f"({evaluation.probabilities[k, guess] * 100:.0f} %)", fontsize=7)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in axes[len(shown):]:
            ax.axis("off")
    fig.fastnn_indices = np.asarray(shown)
    return fig


def hidden_units_figure(network, image_shape=(28, 28), limit=MAX_UNITS):
    """What each hidden unit looks for: its input weights (a column of W1) as an image.

    Red pixels push the unit's activation up, blue ones down, on one colour scale for all
    units (as in scikit-learn's "Visualization of MLP weights on MNIST" example).

    Parameters
    ----------
    network : TwoLayerNet
    image_shape : tuple of int, default (28, 28)
        ``rows * cols`` must equal ``network.input_size``.
    limit : int, default 100
        The most units shown (the first ones).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows_px, cols_px = image_shape
    if rows_px * cols_px != network.input_size:
        raise ValueError(f"image_shape {tuple(image_shape)} does not fit the network's "
                         f"{network.input_size} inputs")
    W1 = np.asarray(network.params["W1"], dtype=np.float64)
    units = min(network.hidden_size, limit)
    cols = min(10, units)
    rows = math.ceil(units / cols)
    fig = new_figure((cols * 1.2 + 1.0, rows * 1.2 + 0.8))
    more = f" (the first {units} of {network.hidden_size})" if units < network.hidden_size else ""
    fig.suptitle(f"Input weights of the hidden units{more}: red excites, blue inhibits",
                 fontsize=10)
    scale = float(np.percentile(np.abs(W1[:, :units]), 99.5)) or 1.0
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for j, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= units:
            ax.axis("off")
            continue
        image = ax.imshow(W1[:, j].reshape(rows_px, cols_px), cmap="RdBu_r", vmin=-scale,
                          vmax=scale, interpolation="nearest")
        ax.set_title(str(j), fontsize=7, pad=2)
    fig.colorbar(image, ax=list(axes), shrink=0.6, label="weight")
    return fig


def report_paths(directory):
    """The files :func:`write_report` writes in ``directory``, by picture."""
    directory = Path(directory).expanduser()
    return {key: directory / name for key, name in REPORT_FILES.items()}


def write_report(evaluation, network, directory):
    """Write the confusion matrix, the mistakes and the hidden units as PNG files.

    Parameters
    ----------
    evaluation : Evaluation
    network : TwoLayerNet
        The network evaluated (for its hidden units).
    directory : str or os.PathLike
        Created if missing; the files are :data:`REPORT_FILES`, each written atomically.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    paths = report_paths(directory)
    figures = {"confusion": lambda: confusion_figure(evaluation),
               "mistakes": lambda: mistakes_figure(evaluation),
               "hidden_units": lambda: hidden_units_figure(network, evaluation.image_shape)}
    return [save_figure(figures[key](), path) for key, path in paths.items()]
