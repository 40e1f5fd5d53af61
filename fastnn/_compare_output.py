"""What a comparison gives back: the rows, the printed table, the CSV and the overlay picture."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np

from ._io import atomic_write
from .config import config_fields

__all__ = ["Comparison", "RESULT_COLUMNS", "check_keep_dir"]

#: The CSV's columns after ``run``, ``seed`` and the configuration's fields.
RESULT_COLUMNS = ("status", "final_test_acc", "best_test_acc", "best_iter", "iterations",
                  "seconds", "time_to_target", "diverged", "diverged_at", "at_chance",
                  "ran_on", "error")
#: How the table and the legend name a field: its flag without the dashes.
_SHORT = {f.name: f.metadata["flag"].lstrip("-") for f in config_fields()}


def check_keep_dir(folder):
    """Check before the sweep that ``folder`` can hold the runs' files (OSError if not)."""
    from ._io import check_output_path

    check_output_path(Path(folder) / "run-000.npz", "--keep")


class Comparison:
    """The runs of :func:`fastnn.compare`.

    Attributes
    ----------
    configs : list of dict
        Every planned run's configuration (TrainConfig values), in order.
    varied : list of str
        The fields whose values differ between configurations (the seed aside).
    rows : list of dict
        One per finished run, in plan order: ``run`` (its index), ``config``, ``status``
        (``"completed"``, ``"target_accuracy"``, ``"early_stopping"``, ``"diverged"`` or
        ``"failed"``), ``final_test_acc``, ``best_test_acc``, ``best_iter``, ``iterations``,
        ``seconds``, ``time_to_target``, ``diverged_at``, ``at_chance`` (finished no better
        than always answering the commonest class), ``backend`` (the one that ran), ``error``
        and the ``history``.
    interrupted : bool
        Ctrl-C stopped the sweep: ``rows`` holds the runs that had finished.
    engine : str
        Where the runs ran.
    """

    def __init__(self, configs, varied, *, engine="", rank="accuracy"):
        self.configs, self.varied, self.engine, self.rank = configs, varied, engine, rank
        self.rows = []
        self.interrupted = False

    # -- filling in ----------------------------------------------------------------------------

    def add(self, row, keep=None):
        row = dict(row)
        row["run"] = row.pop("index")
        model = row.pop("model", None)
        if keep is not None and row["history"] is not None:
            _keep(row, model, keep)
        self.rows.append(row)
        self.rows.sort(key=lambda r: r["run"])

    # -- reading -------------------------------------------------------------------------------

    def label(self, config) -> str:
        """``optimizer=adam lr=0.01``: the varied fields of ``config`` (or "all runs")."""
        parts = [f"{_SHORT[n]}={_shown(config[n])}" for n in self.varied]
        return " ".join(parts) or "all runs"

    def groups(self):
        """``{label: [rows]}``: the runs of each configuration (its seeds), in plan order."""
        out = {}
        for row in self.rows:
            out.setdefault(self.label(row["config"]), []).append(row)
        return out

    @property
    def best(self):
        """The label of the best configuration (see ``rank``), or None without a usable run."""
        scores = {label: self._score(rows) for label, rows in self.groups().items()}
        scores = {k: v for k, v in scores.items() if v is not None}
        return max(scores, key=scores.get) if scores else None

    def _score(self, rows):
        """Larger is better; None when no run of the configuration gives a number."""
        if self.rank == "time":
            times = [r["time_to_target"] for r in rows]
            if all(t is not None for t in times):
                return 1e9 - float(np.mean(times))  # every seed reached it: the fastest first
            finals = [r["final_test_acc"] for r in rows if math.isfinite(r["final_test_acc"])]
            return float(np.mean(finals)) - 1 if finals else None
        finals = [r["final_test_acc"] if r["status"] != "diverged" else 0.0 for r in rows]
        finals = [f for f in finals if math.isfinite(f)]
        return float(np.mean(finals)) if finals else None

    def row_line(self, row) -> str:
        """One finished run in a line: ``[run 3] optimizer=adam seed 0: final 97.12 % ...``."""
        config = row["config"]
        run = row.get("run", row.get("index"))
        head = f"[run {run}] {self.label(config)} seed {config['seed']}"
        return f"{head}: {_outcome(row)}"

    def table(self) -> str:
        """One line per finished run, the best configuration's marked ``*``, and a summary."""
        best = self.best
        names = [_SHORT[n] for n in self.varied]
        header = ["run", *names, "seed", "final %", "best %", "seconds", "to target s",
                  "outcome"]
        lines = [header]
        for row in self.rows:
            c = row["config"]
            lines.append([("*" if self.label(c) == best else " ") + str(row["run"]),
                          *[_shown(c[n]) for n in self.varied], str(c["seed"]),
                          _percent(row["final_test_acc"]), _percent(row["best_test_acc"]),
                          _number(row["seconds"], "{:.1f}"),
                          _number(row["time_to_target"], "{:.2f}"), _status(row)])
        widths = [max(len(line[k]) for line in lines) for k in range(len(header))]
        text = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                         for line in lines)
        done = f"{len(self.rows)} of {len(self.configs)} runs"
        if self.interrupted:
            done += " (interrupted: the finished runs only)"
        summary = [f"{done}; engine: {self.engine}"]
        if best is not None:
            rows = self.groups()[best]
            finals = [r["final_test_acc"] for r in rows]
            what = f"mean final test accuracy {np.mean(finals) * 100:.2f} %"
            if len(rows) > 1:
                what += f" (sd {np.std(finals) * 100:.2f}, {len(rows)} seeds)"
            if self.rank == "time" and all(r["time_to_target"] is not None for r in rows):
                seconds = np.mean([r["time_to_target"] for r in rows])
                what = f"mean time to the target {seconds:.2f} s, {what}"
            summary.append(f"best (*): {best}: {what}")
        return text + "\n\n" + "\n".join(summary)

    def write_csv(self, path) -> Path:
        """One row per finished run: ``run``, ``seed``, every TrainConfig field, then
        :data:`RESULT_COLUMNS`; written atomically. Returns the absolute path."""
        fields = [f.name for f in config_fields() if f.name != "seed"]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["run", "seed", *fields, *RESULT_COLUMNS])
        for row in self.rows:
            c = row["config"]
            results = [row["status"], _cell(row["final_test_acc"]), _cell(row["best_test_acc"]),
                       _cell(row["best_iter"]), row["iterations"], _cell(row["seconds"]),
                       _cell(row["time_to_target"]), str(row["status"] == "diverged").lower(),
                       _cell(row["diverged_at"]), str(bool(row.get("at_chance"))).lower(),
                       row["backend"] or "", row["error"] or ""]
            writer.writerow([row["run"], c["seed"], *[_cell(c[n]) for n in fields], *results])
        with atomic_write(path) as fh:
            fh.write(buffer.getvalue().encode())
        return Path(os.path.abspath(os.fspath(path)))

    def figure(self, title=None):
        """Every configuration's loss and test-accuracy curves, overlaid (see
        :func:`fastnn._compare_plot.comparison_figure`)."""
        from ._compare_plot import comparison_figure

        return comparison_figure(self, title=title)

    def plot(self, path, title=None) -> Path:
        """Write :meth:`figure` to ``path`` (atomically; the extension picks the format)."""
        from .plotting import save_figure

        return save_figure(self.figure(title), path)


def _keep(row, model, folder):
    from .history import write_history

    stem = Path(folder) / f"run-{row['run']:03d}"
    history = {k: row["history"][k] for k in ("train_loss", "eval_iter", "train_acc",
                                               "test_acc")}
    write_history(history, stem.with_suffix(".csv"))
    if model is not None:
        from .network import TwoLayerNet

        p = model["params"]
        net = TwoLayerNet(p["W1"].shape[0], p["W1"].shape[1], p["W2"].shape[1],
                          activation=model["activation"], dtype=model["dtype"],
                          backend="numpy", seed=0)
        net.params, net.metadata = p, model["metadata"]
        net.save(stem.with_suffix(".npz"))


def _shown(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def _percent(value):
    return "-" if value is None or not math.isfinite(value) else f"{value * 100:.2f}"


def _number(value, fmt):
    return "-" if value is None or not math.isfinite(value) else fmt.format(value)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def _status(row):
    if row["status"] == "diverged":
        return f"diverged at iteration {row['diverged_at']}"
    if row["status"] == "failed":
        return f"failed: {row['error']}"
    return row["status"].replace("_", " ") + (" (at chance)" if row.get("at_chance") else "")


def _outcome(row):
    if row["status"] in ("diverged", "failed"):
        return _status(row)
    text = (f"final {_percent(row['final_test_acc'])} %, best {_percent(row['best_test_acc'])}"
            f" %, {row['seconds']:.1f} s")
    if row["time_to_target"] is not None:
        text += f", target reached in {row['time_to_target']:.2f} s"
    return text
