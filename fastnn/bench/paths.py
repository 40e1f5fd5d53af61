"""Measuring the paths a user takes besides the default ``train()`` run.

* the drop-in loops: the teaching program's own loop, and the book's ``ch04`` loop (sigmoid,
  batch 100, rate 0.1, float32 pixels into float64 weights), each run once on its own classes
  and once on ``fastnn.TwoLayerNet`` (same weights, same batches);
* the train step of every optimizer;
* wide hidden layers against the NumPy backend and PyTorch;
* a busy machine: whole runs with the default (adaptive) thread count, all threads and one,
  on a quiet machine and with another process keeping one core busy (started and stopped
  here);
* the step on data sets of growing density: MNIST, Fashion-MNIST and dense random pixels.

Every row is measured in ``rounds`` interleaved rounds; its ratio is that of the medians and
its spread the range of the per-round ratios.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from .measure import BATCH, HIDDEN, LR, attempt, log, make_step, median, time_calls

__all__ = ["PathRow", "measure_paths", "SECTIONS", "STEP_RATES"]

#: Section keys in the report's order, with their titles.
SECTIONS = {
    "loops": "Drop-in loops: the same program on its own classes and on fastnn's",
    "optimizers": "The train step of each optimizer (batch 512, hidden 50)",
    "wide": "Wide hidden layers: one train step",
    "busy": "A busy machine: whole train() runs",
    "density": "Denser data: one train step (batch 512, hidden 50)",
}
#: Learning rates of the optimizer rows: the teaching program's for the plain rules, the usual
#: 0.001 for the normalising ones (which diverge at 0.05, and a non-finite W1 takes the
#: reference route).
STEP_RATES = {"sgd": LR, "momentum": LR, "nesterov": LR, "adagrad": LR, "rmsprop": 0.001,
              "adam": 0.001}
WIDE_HIDDEN, WIDE_BATCHES = (256, 512, 1024), (128, 512)
#: Whole runs of this section stop at these many iterations (the report's ``--iters`` if
#: fewer): the drop-in loops' ratio is settled by then, and three rounds of the four loops and
#: the six busy-machine runs at 10,000 would take half an hour.
LOOP_ITERS, BUSY_ITERS = 3000, 2000


@dataclass
class PathRow:
    """One measured comparison.

    ``times`` maps each implementation's label to its seconds per round (a whole run, or the
    median step of that round); the first label is the subject, the others its references.
    """

    section: str
    name: str
    times: dict = field(default_factory=dict)

    @property
    def subject(self):
        return next(iter(self.times))

    def seconds(self, label):
        return median(self.times[label])

    def ratio(self, label):
        """``(median ratio, lowest, highest per-round ratio)`` of ``label`` over the subject."""
        pairs = [r / s for r, s in zip(self.times[label], self.times[self.subject]) if s > 0]
        if not pairs:
            return float("nan"), float("nan"), float("nan")
        return self.seconds(label) / self.seconds(self.subject), min(pairs), max(pairs)


# -- the drop-in loops ------------------------------------------------------------------------

def _loops(data, iters):
    """``[(name, kwargs of naive_train, its data)]``: the teaching loop and the book's."""
    from .baselines.naive import prepare_data

    return [
        ("teaching program's loop (ReLU, batch 512, rate 0.05, float64)",
         dict(batch_size=512, learning_rate=0.05, activation="relu"),
         prepare_data(data, "float64")),
        ("book's ch04 loop (sigmoid, batch 100, rate 0.1, float32 pixels, float64 weights)",
         dict(batch_size=100, learning_rate=0.1, activation="sigmoid", weights_dtype="float64"),
         prepare_data(data, "float32")),
    ]


def _run_loop(failures, label, loop_data, kwargs, cls, n_iters, evaluate=True):
    from .baselines.naive import naive_train

    return attempt(failures, label, naive_train, n_iters, data=loop_data,
                   dtype=loop_data.dtype.name, network_class=cls, evaluate=evaluate, **kwargs)


def measure_loops(data, iters, rounds, failures):
    from fastnn.network import TwoLayerNet

    from .baselines.seed import TwoLayerNet as SeedNet

    classes = {"fastnn imports (numba)": TwoLayerNet, "its own classes (NumPy)": SeedNet}
    rows = []
    for name, kwargs, loop_data in _loops(data, iters):
        run = partial(_run_loop, failures, f"loop {name}", loop_data, kwargs)

        # the warm-up keeps compilation out of the timings
        if any(run(cls, 3, evaluate=False) is None for cls in classes.values()):
            continue
        row = PathRow("loops", f"{name}, {iters} iterations", {label: [] for label in classes})
        for r in range(rounds):
            for label, cls in classes.items():
                result = run(cls, iters)
                if result is None:
                    break
                row.times[label].append(result.seconds)
                log(f"loop {name.split(' (')[0]}, {label}: {result.seconds:.2f} s "
                    f"(round {r + 1}/{rounds}, test accuracy {result.test_accuracy:.4f})")
        if all(row.times.values()):
            rows.append(row)
    return rows


# -- single steps -----------------------------------------------------------------------------

def _step_rows(section, name, makers, batches, rounds, settings, failures):
    """A row of median step times: ``makers`` maps labels to ``() -> step``."""
    row = PathRow(section, name, {label: [] for label in makers})
    steps = {}
    for label, make in makers.items():
        step = attempt(failures, f"{section} {name} {label}", make)
        if step is None:
            return None
        steps[label] = step
    for _ in range(rounds):
        for label, step in steps.items():
            t = attempt(failures, f"{section} {name} {label}", time_calls, step, batches,
                        settings.min_reps, settings.point_seconds)
            if t is None:
                return None
            row.times[label].append(t)
    return row


def _fastnn_step(backend, dtype, n, h, x, y, optimizer="sgd"):
    from fastnn.network import TwoLayerNet
    from fastnn.optimizers import make_optimizer

    net = TwoLayerNet(x.shape[1], h, 10, backend=backend, dtype=dtype,
                      seed=np.random.RandomState(0))
    return net.train_step(x, y, make_optimizer(optimizer, STEP_RATES[optimizer]), n)


def measure_optimizers(data, dtypes, rounds, settings, failures):
    from fastnn.optimizers import OPTIMIZERS

    x, y = data[0], data[1]
    batches = [np.random.RandomState(2).choice(len(x), BATCH) for _ in range(4)]
    rows = []
    for dt in dtypes:
        for opt in OPTIMIZERS:
            log(f"step: {opt} {dt}")
            makers = {backend: partial(_fastnn_step, backend, dt, BATCH, HIDDEN, x, y, opt)
                      for backend in ("numba", "numpy")}
            row = _step_rows("optimizers", f"{opt} ({dt})", makers, batches, rounds, settings,
                             failures)
            if row is not None:
                rows.append(row)
    return rows


def measure_wide(impls, data, dtypes, rounds, settings, failures):
    batches_of = {n: [np.random.RandomState(3).choice(len(data[0]), n) for _ in range(4)]
                  for n in WIDE_BATCHES}
    rows, torch_data = [], {}
    for dt in dtypes:
        for n in WIDE_BATCHES:
            for h in WIDE_HIDDEN:
                log(f"wide: {dt} batch {n} hidden {h}")
                makers = {impl: partial(make_step, impl, dt, n, h, data, torch_data)
                          for impl in impls if impl in ("numba", "numpy", "torch")}
                row = _step_rows("wide", f"hidden {h}, batch {n} ({dt})", makers,
                                 batches_of[n], rounds, settings, failures)
                if row is not None:
                    rows.append(row)
    return rows


def _dense_random(n, d, seed=4):
    """Pixels 1..255 everywhere: no zero to skip."""
    return np.random.default_rng(seed).integers(1, 256, size=(n, d), dtype=np.uint8)


def measure_density(data, dtypes, rounds, settings, failures):
    from fastnn.datasets.catalog import load_dataset

    sets = {"MNIST": (data[0], data[1])}
    try:
        fashion = load_dataset("fashion-mnist")
        sets["Fashion-MNIST"] = (fashion[0], fashion[1])
    except (OSError, ValueError) as exc:
        log(f"density: Fashion-MNIST is left out: {exc}")
    sets["dense random pixels"] = (_dense_random(*data[0].shape), data[1])
    rows = []
    for name, (x, y) in sets.items():
        share = float(np.count_nonzero(x)) / x.size
        batches = [np.random.RandomState(5).choice(len(x), BATCH) for _ in range(4)]
        for dt in dtypes:
            log(f"density: {name} {dt}")
            makers = {backend: partial(_fastnn_step, backend, dt, BATCH, HIDDEN, x, y)
                      for backend in ("numba", "numpy")}
            row = _step_rows("density", f"{name}, {share:.0%} non-zero ({dt})", makers,
                             batches, rounds, settings, failures)
            if row is not None:
                rows.append(row)
    return rows


# -- a busy machine ---------------------------------------------------------------------------

@contextlib.contextmanager
def one_core_busy():
    """Another process spinning on one core while the block runs (a browser's share)."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        yield spinner
    finally:
        spinner.kill()
        spinner.wait()


def measure_busy(data, iters, rounds, threads, failures):
    from fastnn.training import train

    settings = {"default (adaptive)": None, f"{threads} threads": threads, "1 thread": 1}
    rows = {state: PathRow("busy", f"{state}, {iters} iterations (float64)",
                           {label: [] for label in settings})
            for state in ("quiet", "one core busy")}
    if attempt(failures, "busy", train, iters=3, data=data, progress=False) is None:
        return []
    for r in range(rounds):
        for state, row in rows.items():
            with one_core_busy() if state != "quiet" else contextlib.nullcontext():
                for label, n_threads in settings.items():
                    run = attempt(failures, f"busy {state} {label}", train, iters=iters,
                                  data=data, seed=0, threads=n_threads, progress=False)
                    if run is None:
                        return []
                    row.times[label].append(run.seconds)
                    log(f"{state}, {label}: {run.seconds:.2f} s (round {r + 1}/{rounds})")
    return list(rows.values())


def measure_paths(impls, data, settings, failures):
    """Every section's rows, in :data:`SECTIONS` order."""
    rounds, dtypes = settings.repeats, settings.dtypes
    rows = []
    if "numba" not in impls:
        return rows
    rows += measure_loops(data, min(settings.iters, LOOP_ITERS), rounds, failures)
    rows += measure_optimizers(data, dtypes, rounds, settings, failures)
    rows += measure_wide(impls, data, dtypes, rounds, settings, failures)
    rows += measure_busy(data, min(settings.iters, BUSY_ITERS), rounds, settings.threads,
                         failures)
    rows += measure_density(data, dtypes, rounds, settings, failures)
    return rows
