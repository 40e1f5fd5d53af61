"""Rendering: REPORT.md and the PNG plots from :class:`~.results.BenchResults`."""

from __future__ import annotations

import io
from pathlib import Path

from fastnn._io import atomic_write

from .measure import BATCH, FLOP_FORMULA, HIDDEN, train_step_flops
from .render_paths import render_paths
from .results import IMPLS, LABELS
from .time_to_accuracy import render_bench_time_to_accuracy

__all__ = ["render_report", "write_plots"]


def _fmt(x, digits=3):
    if x is None or x != x:
        return "–"
    return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def render_report(results):
    """The Markdown text of REPORT.md from :class:`BenchResults`."""
    s, lines = results.settings, []
    add = lines.append
    add("# fastnn benchmark report\n")
    other = results.other_cpu
    add(f"Written by `{s.command()}` in {results.elapsed:.0f} s"
        + (f"; other processes kept {other:.0%} of the machine's CPU time busy meanwhile. "
           if other == other else ". ") +
        "Every number is a median; ratios are speed-ups (>1: faster than the column's "
        "reference). Reproduce with `fastnn bench` (or `python scripts/bench_report.py`); "
        "`--quick` for a one-minute check, `--iters 10000 --repeats 3` for the teaching program's "
        "full run (about 20 minutes with every section).\n")
    if results.failures:
        add("**Some measurements failed** and are missing below:\n")
        lines += [f"- {label}: `{message}`" for label, message in results.failures.items()]
        add("")
    if other > 0.1:
        add("**The machine was busy with other work during this run**: multi-threaded timings "
            "suffer most when another process takes a core, so treat these numbers with care.\n")
    add("## Machine and libraries\n")
    add("| | |\n|---|---|")
    lines += [f"| {k} | {v} |" for k, v in results.environment]
    add("")
    train = results.training
    add(f"## Training at the teaching program's settings\n\n784-50-10 ReLU, SGD lr 0.05, batch "
        f"512, {s.iters:,} iterations per run, {s.repeats} run(s) per row, interleaved; "
        f"`train(seed=0)` with its default evaluation every epoch. *train() s*: median wall time "
        f"of a whole run (fastest and slowest run in brackets: a wide range means a noisy "
        f"machine); *ms/it*: median over all iterations of all runs; ratios use the whole-run "
        f"medians.\n")
    refs = [r for r in ("numpy", "naive", "torch") if any(k[0] == r for k in train)]
    head = ("| implementation | dtype | train() s | ms/it | " +
            " | ".join(f"x vs {LABELS[r].split(' (')[0]}" for r in refs) +
            " | GFLOP/s | test acc |")
    add(head)
    add("|" + "---|" * (head.count("|") - 1))
    for dt in s.dtypes:
        for impl in IMPLS:
            r = train.get((impl, dt))
            if r is None:
                continue
            ratios = [_fmt(train[(ref, dt)].seconds / r.seconds) if (ref, dt) in train
                      else "–" for ref in refs]
            spread = (f" ({_fmt(min(r.all_seconds))}–{_fmt(max(r.all_seconds))})"
                      if len(r.all_seconds) > 1 else "")
            add(f"| {LABELS[impl]} | {dt} | {_fmt(r.seconds)}{spread} | "
                f"{_fmt(r.step * 1e3)} | "
                + " | ".join(ratios) + f" | {_fmt(r.gflops)} | {r.accuracy:.4f} |")
    add(f"\nGFLOP/s = FLOPs of the dense math of one train step / median time of one iteration "
        f"(sampling and bookkeeping included; the rare evaluations do not move the median), "
        f"with FLOPs = `{FLOP_FORMULA}` (forward "
        f"`2*n*784*h + 2*n*h*10`, backward about twice that) = "
        f"{train_step_flops(BATCH, HIDDEN) / 1e6:.1f} MFLOP at n=512, h=50. The Numba backend "
        "skips the ~81 % zero pixels, so its figure is *effective*, not the arithmetic it does.\n")
    add("The naive loop is the teaching program's loop as written "
        "(`fastnn/bench/baselines/naive.py`: fresh `np.random.choice` batches of pre-scaled "
        "float pixels, one-hot float targets, a second forward pass for the logged loss, full "
        "train and test accuracy when `i % 117.1875 == 0`). The PyTorch twin "
        "(`fastnn/bench/baselines/torch_twin.py`) runs the same network, weights, batches, "
        "evaluation schedule, dtype and thread count with autograd on the seed's loss "
        "`mean(-log(softmax + 1e-7))` and a manual `p -= lr * g`.\n")
    for impl, why in results.skipped.items():
        add(f"- {LABELS[impl]}: not measured ({why}).")
    if results.skipped:
        add("")
    add("## Start-up: a new process to the first finished train step\n")
    if results.startup:
        add("float64, batch 512, hidden 50. *cold*: empty `NUMBA_CACHE_DIR` (first compile); "
            "*warm*: the cache this run filled. Columns are seconds since the process was "
            "spawned (import of fastnn, then data and backend ready, then first step done); "
            "the compile time is the cold first step minus the warm one; *steady step*: the "
            "fastest of the next five steps.\n")
        add("| backend | cache | runs | import | backend ready | first step done | "
            "steady step (ms) |\n|---|---|---|---|---|---|---|")
        for (name, kind), r in results.startup.items():
            add(f"| {name} | {kind} | {r.runs} | {r.import_s:.2f} | {r.backend_s:.2f} "
                f"| {r.first_step_s:.2f} | {r.steady_step_s * 1e3:.2f} |")
        cold, warm = results.startup.get(("numba", "cold")), results.startup.get(("numba", "warm"))
        if cold and warm:
            add(f"\nNumba compile time in a clean cache: about "
                f"{cold.first_step_s - warm.first_step_s:.1f} s.")
    else:
        add(results.startup_note or "Not measured.")
    add("")
    _render_scaling(results, add)
    render_paths(results.paths, add)
    add(render_bench_time_to_accuracy(results))
    return "\n".join(lines) + "\n"


def _render_scaling(results, add):
    s, scaling = results.settings, results.scaling
    add("## Scaling: time per training sample (µs) of one train step\n")
    if not scaling:
        add("Not measured.\n")
        return
    impls = [i for i in IMPLS if any(k[0] == i for k in scaling)]
    cols = [(i, dt) for dt in s.dtypes for i in impls]
    for title, axis, fixed in (("hidden size (batch 512)", "h", BATCH),
                               ("batch size (hidden 50)", "n", HIDDEN)):
        values = s.hidden_sizes if axis == "h" else s.batch_sizes
        add(f"By {title}; fastest per dtype in bold.\n")
        add(f"| {axis} | " + " | ".join(f"{i} {dt}" for i, dt in cols) + " |")
        add("|---" * (len(cols) + 1) + "|")
        for v in values:
            n, h = (fixed, v) if axis == "h" else (v, fixed)
            cells = []
            for i, dt in cols:
                t = scaling.get((i, dt, n, h))
                best = min(scaling.get((j, dt, n, h), float("inf")) for j in impls)
                text = _fmt(t / n * 1e6) if t is not None else "–"
                cells.append(f"**{text}**" if t is not None and t == best else text)
            add(f"| {v} | " + " | ".join(cells) + " |")
        add("")
    wins = results.numpy_wins()
    if "numba" not in impls:
        add("The Numba backend was not measured, so there is no NumPy-versus-Numba verdict.\n")
    elif wins:
        add("The NumPy backend is faster than the Numba backend at: " + ", ".join(
            f"{dt} n={n} h={h} ({ratio:.2f}x)" for dt, n, h, ratio in wins) + ".\n")
    else:
        add("The Numba backend is faster than the NumPy backend at every measured shape.\n")
    if s.plots:
        add("![speed-up over the NumPy backend](speedup.png)\n")
        add("![time per training sample](time_per_sample.png)\n")


def write_plots(results, out_dir):
    """``speedup.png`` and ``time_per_sample.png`` (matplotlib Agg, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    s, scaling = results.settings, results.scaling
    impls = [i for i in IMPLS if any(k[0] == i for k in scaling)]
    styles = {"float64": "-", "float32": "--"}
    colors = {"numba": "C0", "numpy": "C2", "torch": "C3", "naive": "C7"}
    sweeps = (("batch size (hidden 50)", "n", s.batch_sizes, HIDDEN),
              ("hidden size (batch 512)", "h", s.hidden_sizes, BATCH))
    paths = []
    for name, speedup in (("speedup.png", True), ("time_per_sample.png", False)):
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        for k, (title, axis, values, fixed) in enumerate(sweeps):
            ax = fig.add_subplot(1, 2, k + 1)
            for impl in impls:
                if speedup and impl == "numpy":
                    continue
                for dt in s.dtypes:
                    xs, ys = [], []
                    for v in values:
                        n, h = (v, fixed) if axis == "n" else (fixed, v)
                        t, t_ref = scaling.get((impl, dt, n, h)), scaling.get(("numpy", dt, n, h))
                        if t is not None and (not speedup or t_ref is not None):
                            xs.append(v)
                            ys.append(t_ref / t if speedup else t / n * 1e6)
                    ax.plot(xs, ys, styles[dt], color=colors[impl], marker="o", ms=3,
                            label=f"{impl} {dt}")
            ax.set_xscale("log", base=2)
            ax.set_xticks(values, [str(v) for v in values], fontsize=8)
            ax.minorticks_off()
            if speedup:
                ax.axhline(1.0, color="grey", lw=0.8)
                ax.set_ylabel("speed-up over the NumPy backend (x)")
            else:
                ax.set_yscale("log")
                ax.set_ylabel("µs per training sample (one train step)")
            ax.set_xlabel(title)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(("Train-step speed-up over the NumPy backend" if speedup else
                      "Train-step time per training sample") + f", {s.threads} threads")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        with atomic_write(Path(out_dir) / name) as fh:
            fh.write(buf.getvalue())
        paths.append(Path(out_dir) / name)
    return paths


