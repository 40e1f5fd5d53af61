"""``fastnn bench`` end to end: measure everything into :class:`BenchResults`, then render.

Every library is pinned to the same thread count (threadpoolctl for BLAS, Numba, PyTorch; the
subprocesses get the matching ``*_NUM_THREADS`` variables). A row that fails is named at the
top of the report and makes the exit status 1. The share of CPU time other processes used
during the run is reported too: on a small machine a neighbour taking a core slows
multi-threaded code far more than single-threaded code.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from pathlib import Path

from fastnn._info import versions_info
from fastnn._io import atomic_write, check_output_path
from fastnn._threads import limit_threads

from .measure import impl_unavailable, log, measure_scaling, measure_training
from .options import BenchSettings
from .paths import measure_paths
from .render import render_report, write_plots
from .results import IMPLS, LABELS, BenchResults
from .startup import measure_startup
from .time_to_accuracy import bench_time_to_accuracy

__all__ = ["run", "environment_rows", "cpu_seconds"]


def cpu_seconds():
    """``(busy CPU seconds of the whole machine, CPU seconds of this process and children)``.

    The first is NaN where ``/proc/stat`` is unavailable (not Linux).
    """
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return float("nan"), own
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), own


def environment_rows(threads):
    """The report's machine table: the date, the threads used, then :func:`versions_info`."""
    rows = [("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
            ("threads (BLAS, Numba, PyTorch)", str(threads))]
    for section in versions_info():
        rows += [(key, str(value)) for key, value in section.rows]
    return rows


def run(settings: BenchSettings) -> int:
    """Run the comparison and write ``REPORT.md`` (and plots) to ``settings.out``.

    Returns 0, or 1 when a measurement failed (the report says which) or the report cannot
    be written.
    """
    out_dir = Path(settings.out)
    report = out_dir / "REPORT.md"
    try:  # before minutes of measuring, not after
        check_output_path(report, "--out")
    except OSError as exc:
        print(f"fastnn bench: error: {exc.strerror}", file=sys.stderr)
        return 1
    results = BenchResults(settings=settings)
    impls = []
    for impl in IMPLS:
        why = impl_unavailable(impl, use_torch=settings.use_torch)
        if why is None:
            impls.append(impl)
        else:
            results.skipped[impl] = why
            log(f"{LABELS[impl]} is skipped: {why}")
    from fastnn.datasets.mnist import load_arrays
    data = load_arrays()
    start, cpu0 = time.perf_counter(), cpu_seconds()
    failures = results.failures
    with limit_threads(settings.threads, numba=True, torch="torch" in impls):
        results.environment = environment_rows(settings.threads)
        results.training = measure_training(impls, settings.dtypes, settings.iters,
                                            settings.repeats, data, settings.threads, failures)
        backend_names = [i for i in impls if i in ("numba", "numpy")]
        if not settings.startup:
            results.startup_note = "Skipped (--no-startup)."
        else:
            results.startup = measure_startup(backend_names, settings.threads,
                                              settings.cold_runs, settings.warm_runs, failures)
            if not settings.cold_runs:
                results.startup_note = "Cold start skipped (--quick)."
        results.scaling = measure_scaling([i for i in impls if i != "naive"], settings.dtypes,
                                          settings.hidden_sizes, settings.batch_sizes, data,
                                          settings.min_reps, settings.point_seconds, failures)
        if settings.paths:
            results.paths = measure_paths(impls, data, settings, failures)
        if settings.time_to_accuracy:
            results.time_to_accuracy, results.time_to_accuracy_note = bench_time_to_accuracy(
                settings, failures)
        else:
            results.time_to_accuracy_note = "Skipped (--no-time-to-accuracy)."
    if settings.plots:
        write_plots(results, out_dir)
    results.elapsed, cpu1 = time.perf_counter() - start, cpu_seconds()
    results.other_cpu = max(0.0, (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])) / (
        results.elapsed * (os.cpu_count() or 1))
    with atomic_write(report) as fh:
        fh.write(render_report(results).encode())
    log(f"wrote {report} in {results.elapsed:.0f} s")
    if failures:
        log(f"{len(failures)} measurement(s) failed; see the top of {report}")
    return 1 if failures else 0
