"""A run's history in a file: every iteration's loss and every evaluation, as CSV or JSON.

The names are those of :attr:`fastnn.TrainResult.history`:

``train_loss``
    One float per iteration: the loss of the mini-batch whose gradient made that iteration's
    update (computed before the update).
``eval_iter``
    The iterations after which the network was evaluated: 0 (before training), every
    ``eval_every`` iterations, and the last.
``train_acc``, ``test_acc``
    The accuracy at each of those evaluations.

**CSV** (``.csv``): one row per iteration, 0 first, with the columns ``iteration, train_loss,
train_acc, test_acc``; iteration ``i`` holds the loss of update ``i`` (none for 0) and, where
the network was evaluated after it, the two accuracies (empty cells elsewhere)::

    iteration,train_loss,train_acc,test_acc
    0,,0.0993,0.1032
    1,2.3025,,
    ...

**JSON** (``.json``): the history dict itself, ``{"train_loss": [...], "eval_iter": [...],
"train_acc": [...], "test_acc": [...]}``, with ``null`` for a loss that was not finite (JSON has
no NaN). Numbers are written with all their digits: :func:`read_history` gives back the floats
that were written.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

from ._io import atomic_write

__all__ = ["FORMATS", "KEYS", "check_history_path", "write_history", "read_history"]

#: The history's keys, in order.
KEYS = ("train_loss", "eval_iter", "train_acc", "test_acc")
#: File extensions and their formats.
FORMATS = {".csv": "csv", ".json": "json"}
_COLUMNS = ("iteration", "train_loss", "train_acc", "test_acc")


def check_history_path(path) -> Path:
    """``path`` made absolute, after checking its extension names a format (``ValueError``)."""
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if path.suffix.lower() not in FORMATS:
        what = f"extension {path.suffix!r}" if path.suffix else "no extension"
        raise ValueError(f"history file {str(path)!r} has {what}; use .csv or .json")
    return path


def _number(x):
    return repr(float(x))  # the shortest text that reads back as the same float


def write_history(history, path) -> Path:
    """Write ``history`` (see the module docstring) to a ``.csv`` or ``.json`` file, atomically.

    Parameters
    ----------
    history : mapping
        With the keys :data:`KEYS`: ``train_loss`` one value per iteration, the other three one
        per evaluation.
    path : str or os.PathLike
        The extension picks the format; missing directories are created.

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Raises
    ------
    ValueError
        For another extension, a missing key or evaluation lists of different lengths.
    """
    path = check_history_path(path)
    missing = [key for key in KEYS if key not in history]
    if missing:
        raise ValueError(f"history is missing {', '.join(missing)} (needs {', '.join(KEYS)})")
    losses = [float(x) for x in history["train_loss"]]
    evals = [int(i) for i in history["eval_iter"]]
    train_acc, test_acc = list(history["train_acc"]), list(history["test_acc"])
    if not len(evals) == len(train_acc) == len(test_acc):
        raise ValueError(f"history['eval_iter'], ['train_acc'] and ['test_acc'] must have equal "
                         f"lengths; got {len(evals)}, {len(train_acc)} and {len(test_acc)}")
    if FORMATS[path.suffix.lower()] == "json":
        data = {"train_loss": [x if math.isfinite(x) else None for x in losses],
                "eval_iter": evals, "train_acc": [float(a) for a in train_acc],
                "test_acc": [float(a) for a in test_acc]}
        text = json.dumps(data, allow_nan=False) + "\n"
    else:
        text = _csv_text(losses, evals, train_acc, test_acc)
    with atomic_write(path) as fh:
        fh.write(text.encode("utf-8"))
    return path


def _csv_text(losses, evals, train_acc, test_acc):
    at = {i: (a, b) for i, a, b in zip(evals, train_acc, test_acc)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for i in range(max([len(losses)] + evals) + 1):
        loss = _number(losses[i - 1]) if 1 <= i <= len(losses) else ""
        accuracies = [_number(a) for a in at[i]] if i in at else ["", ""]
        writer.writerow([i, loss, *accuracies])
    return out.getvalue()


def read_history(path) -> dict:
    """Read a file written by :func:`write_history` back into a history dict.

    Returns
    -------
    dict
        ``train_loss`` (list of float, NaN where JSON has ``null``), ``eval_iter`` (list of
        int), ``train_acc``, ``test_acc`` (lists of float).

    Raises
    ------
    ValueError
        Naming the file, if it is not such a history.
    """
    path = check_history_path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if FORMATS[path.suffix.lower()] == "json":
            data = json.loads(text)
            return {"train_loss": [math.nan if x is None else float(x)
                                   for x in data["train_loss"]],
                    "eval_iter": [int(i) for i in data["eval_iter"]],
                    "train_acc": [float(a) for a in data["train_acc"]],
                    "test_acc": [float(a) for a in data["test_acc"]]}
        rows = list(csv.DictReader(io.StringIO(text)))
        history = {key: [] for key in KEYS}
        for row in rows:
            if row["train_loss"]:
                history["train_loss"].append(float(row["train_loss"]))
            if row["test_acc"]:
                history["eval_iter"].append(int(row["iteration"]))
                history["train_acc"].append(float(row["train_acc"]))
                history["test_acc"].append(float(row["test_acc"]))
        return history
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: not a fastnn history file ({type(exc).__name__}: "
                         f"{exc})") from None
