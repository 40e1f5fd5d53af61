"""Rendering the report's "every path" tables from :class:`~.paths.PathRow` lists."""

from __future__ import annotations

from .paths import SECTIONS

__all__ = ["render_paths"]

_NOTES = {
    "loops": "Whole loops in seconds, evaluation included where the program does it. Both "
             "runs of a row are the same loop (`fastnn/bench/baselines/naive.py`, written "
             "after the programs): once on the program's own classes (`seed.py`, NumPy as the "
             "program writes it), once with `TwoLayerNet` imported from fastnn; same weights, "
             "same batches.",
    "optimizers": "Median milliseconds per step; *x vs SGD* is the Numba step's time over the "
                  "Numba SGD step's in the same dtype (the target is at most 1.3).",
    "wide": "Median milliseconds per step, SGD.",
    "busy": "Seconds per whole run. *one core busy*: a process spinning on one core "
            "meanwhile (started and stopped by the report). The default is `threads=None`: "
            "the step chooses between all threads and one from its own timings.",
    "density": "Median milliseconds per step, SGD; the share of non-zero pixels is that of "
               "the training images. From 40 % non-zero on, the Numba backend's step takes its "
               "dense route, the NumPy backend's BLAS step (a ratio near 1 there is that "
               "route, not a slow kernel).",
}


def _cell(seconds, scale):
    return "–" if seconds != seconds else f"{seconds * scale:.3g}"


def _ratio(row, label):
    mid, low, high = row.ratio(label)
    if mid != mid:
        return "–"
    spread = f" ({low:.2f}–{high:.2f})" if len(row.times[label]) > 1 else ""
    return f"{mid:.2f}x{spread}"


def render_paths(rows, add):
    """Add a table per section of ``rows`` (a list of PathRow) through ``add``."""
    add("## Every path a user takes\n")
    if not rows:
        add("Not measured (`--no-paths`, or the Numba backend is unavailable).\n")
        return
    add("Rows measured in interleaved rounds; each ratio is the reference's median over the "
        "first column's (>1: the first column is faster), with the lowest and highest "
        "per-round ratio in brackets.\n")
    for key, title in SECTIONS.items():
        section = [r for r in rows if r.section == key]
        if not section:
            continue
        add(f"### {title}\n\n{_NOTES[key]}\n")
        labels = list(dict.fromkeys(label for r in section for label in r.times))
        scale = 1.0 if key in ("loops", "busy") else 1e3
        others = labels[1:]
        head = ["", *labels, *(f"x vs {label}" for label in others)]
        if key == "optimizers":
            head.append("x vs SGD")
        add("| " + " | ".join(head) + " |")
        add("|" + "---|" * len(head))
        sgd = {r.name.split(" (")[1]: r.seconds(r.subject) for r in section
               if r.name.startswith("sgd ")} if key == "optimizers" else {}
        for row in section:
            cells = [row.name, *(_cell(row.seconds(label), scale) if label in row.times else "–"
                                 for label in labels)]
            cells += [_ratio(row, label) if label in row.times else "–" for label in others]
            if key == "optimizers":
                base = sgd.get(row.name.split(" (")[1])
                cells.append(f"{row.seconds(row.subject) / base:.2f}" if base else "–")
            add("| " + " | ".join(cells) + " |")
        add("")
