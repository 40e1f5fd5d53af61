"""What ``fastnn bench`` measured: the one structure between measuring and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field

from .options import BenchSettings

__all__ = ["TrainingRow", "StartupRow", "BenchResults", "IMPLS", "LABELS"]

#: The implementations compared, in the report's row order.
IMPLS = ("numba", "numpy", "torch", "naive")
LABELS = {"numba": "fastnn numba", "numpy": "fastnn numpy", "torch": "PyTorch CPU (twin)",
          "naive": "naive loop (seed as written)"}


@dataclass
class TrainingRow:
    """Whole ``train()``-style runs of one implementation and dtype.

    ``seconds`` is the median over runs (``all_seconds`` lists them), ``step`` the median time
    of one iteration over all runs, ``gflops`` the dense math of one step over ``step``;
    ``accuracy`` and ``loss`` are those of the last run.
    """

    seconds: float
    all_seconds: list
    step: float
    gflops: float
    accuracy: float
    loss: float


@dataclass
class StartupRow:
    """Medians of new processes timed up to their first finished train step (seconds since the
    spawn), and the fastest of their next five steps."""

    import_s: float
    backend_s: float
    first_step_s: float
    steady_step_s: float
    runs: int


@dataclass
class BenchResults:
    """Everything one run measured.

    Keys: ``training[(impl, dtype)]``, ``startup[(backend, "cold" | "warm")]``,
    ``scaling[(impl, dtype, batch, hidden)]`` (median seconds of one train step); ``paths`` the
    :class:`~.paths.PathRow` list of the other paths a user takes.
    """

    settings: BenchSettings
    environment: list = field(default_factory=list)
    training: dict = field(default_factory=dict)
    startup: dict = field(default_factory=dict)
    startup_note: str = ""
    scaling: dict = field(default_factory=dict)
    paths: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)
    elapsed: float = float("nan")
    other_cpu: float = float("nan")
    #: rows of :func:`fastnn.bench.time_to_accuracy.measure_time_to_accuracy`, and what was
    #: left out of them
    time_to_accuracy: list = field(default_factory=list)
    time_to_accuracy_note: str = ""

    def numpy_wins(self):
        """``[(dtype, n, h, numba_s / numpy_s)]`` where the NumPy backend beats Numba."""
        wins = []
        for (impl, dt, n, h), t_numpy in sorted(self.scaling.items()):
            t_numba = self.scaling.get(("numba", dt, n, h))
            if (impl == "numpy" and dt in self.settings.dtypes and t_numba is not None
                    and t_numpy < t_numba):
                wins.append((dt, n, h, t_numba / t_numpy))
        return wins
