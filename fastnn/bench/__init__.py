"""``fastnn bench``: the benchmark comparison, written to ``REPORT.md`` and PNG plots.

Not imported by the library: only ``fastnn bench`` (and ``scripts/bench_report.py``) import it.
It measures (:mod:`.measure`, :mod:`.startup`) into a :class:`~.results.BenchResults`, which
:mod:`.render` turns into the report; :mod:`.runner` does the two in order. The rows fastnn is
compared with are in :mod:`.baselines`.
"""

from .options import BenchSettings, add_bench_arguments

__all__ = ["BenchSettings", "add_bench_arguments", "run_bench"]


def run_bench(args) -> int:
    """Run the comparison described by parsed ``fastnn bench`` arguments; returns the exit
    status (0, or 1 when a measurement failed)."""
    from .runner import run

    return run(BenchSettings.from_args(args))
