"""Measuring: whole training runs and single train steps, every implementation side by side.

Everything is a median of repeats, and JIT compilation is kept out of every timing by a
warm-up. Rows run interleaved (round-robin) so that a noisy neighbour hurts every row alike.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from .results import TrainingRow

__all__ = ["train_step_flops", "run_training", "measure_training", "time_calls", "make_step",
           "measure_scaling", "attempt", "log", "impl_unavailable"]

N_FEATURES, N_CLASSES, BATCH, HIDDEN, LR = 784, 10, 512, 50, 0.05
FLOP_FORMULA = "3 * (2*n*784*h + 2*n*h*10)"
_T0 = time.perf_counter()


def train_step_flops(n_samples, n_hidden, n_features=N_FEATURES, n_classes=N_CLASSES):
    """FLOPs of the dense math of one train step: forward ``2nd h + 2n h c``, backward ~2x."""
    return 3 * (2 * n_samples * n_features * n_hidden + 2 * n_samples * n_hidden * n_classes)


def log(message):
    print(f"[fastnn bench {time.perf_counter() - _T0:5.1f}s] {message}", file=sys.stderr,
          flush=True)


def median(values):
    return statistics.median(values) if values else float("nan")


def attempt(failures, label, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or None with the error recorded under ``label``: one broken row
    must not cost the rest of the report (the command then exits with status 1)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        message = (f"{type(exc).__name__}: {exc}".strip().splitlines() or ["?"])[0][:300]
        failures.setdefault(label, message)
        log(f"FAILED {label}: {message}")
        return None


def impl_unavailable(name, use_torch=True):
    """Why implementation ``name`` cannot run here, or None."""
    if name == "naive":
        return None
    if name == "torch":
        if not use_torch:
            return "disabled with --no-torch"
        from .baselines.torch_twin import torch_unavailable
        return torch_unavailable()
    from fastnn import backends
    return backends.unavailable_reason(name)


class _StepClock:
    """A ``progress=`` object for ``train()`` that records the wall time of each iteration."""

    def __init__(self):
        self.times = []
        self._last = time.perf_counter()

    def update(self, n=1):
        now = time.perf_counter()
        self.times.append(now - self._last)
        self._last = now

    def close(self):
        pass


# -- whole training runs ----------------------------------------------------------------------

def run_training(impl, dtype, iters, data, naive_data, threads):
    """One run of ``iters`` iterations; returns a dict (seconds, step_times, accuracy, loss)."""
    step_times = []
    if impl == "naive":
        from .baselines.naive import naive_train
        r = naive_train(iters, dtype=dtype, data=naive_data[dtype], step_times=step_times)
        return dict(seconds=r.seconds, step_times=step_times, accuracy=r.test_accuracy,
                    loss=r.losses[-1])
    if impl == "torch":
        from .baselines.torch_twin import torch_train
        r = torch_train(iters, dtype=dtype, data=data, threads=threads, step_times=step_times)
        return dict(seconds=r.seconds, step_times=step_times, accuracy=r.test_accuracy,
                    loss=r.losses[-1])
    from fastnn.training import train
    clock = _StepClock()
    r = train(backend=impl, iters=iters, dtype=dtype, data=data, seed=0, progress=clock)
    return dict(seconds=r.seconds, step_times=clock.times, accuracy=r.test_accuracy,
                loss=r.history["train_loss"][-1])


def measure_training(impls, dtypes, iters, repeats, data, threads, failures):
    """Warm every (impl, dtype) up, then ``repeats`` round-robin rounds of whole runs.

    Returns
    -------
    dict (impl, dtype) -> TrainingRow
    """
    from .baselines.naive import prepare_data
    naive_data = {dt: prepare_data(data, dt) for dt in dtypes} if "naive" in impls else {}
    runs = {}
    for impl in impls:
        for dt in dtypes:  # JIT compilation and first-touch costs stay out of the timings
            log(f"warm-up: {impl} {dt}")
            if attempt(failures, f"train {impl} {dt}", run_training, impl, dt, 3, data,
                       naive_data, threads) is not None:
                runs[(impl, dt)] = []
    for r in range(repeats):
        for (impl, dt), out in list(runs.items()):
            run = attempt(failures, f"train {impl} {dt}", run_training, impl, dt, iters, data,
                          naive_data, threads)
            if run is None:
                del runs[(impl, dt)]
                continue
            out.append(run)
            log(f"train() {iters} it: {impl} {dt} (round {r + 1}/{repeats}): "
                f"{run['seconds']:.2f} s, median {median(run['step_times']) * 1e3:.3f} ms/it")
    rows = {}
    for key, out in runs.items():
        step = median([t for run in out for t in run["step_times"]])
        rows[key] = TrainingRow(seconds=median([run["seconds"] for run in out]),
                                all_seconds=[run["seconds"] for run in out], step=step,
                                gflops=train_step_flops(BATCH, HIDDEN) / step / 1e9,
                                accuracy=out[-1]["accuracy"], loss=out[-1]["loss"])
    return rows


# -- single train steps -------------------------------------------------------------------------

def time_calls(fn, args_list, min_reps, min_seconds, warmup=2, max_reps=1000):
    """Median seconds of ``fn(args)`` cycling over ``args_list``, after ``warmup`` calls."""
    for i in range(warmup):
        fn(args_list[i % len(args_list)])
    times, start = [], time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps
                                     or time.perf_counter() - start < min_seconds):
        a = args_list[len(times) % len(args_list)]
        t = time.perf_counter()
        fn(a)
        times.append(time.perf_counter() - t)
    return median(times)


def make_step(impl, dtype, n, h, data, torch_data):
    """``step(idx)`` for one training iteration of ``impl`` at batch ``n``, hidden ``h``."""
    from fastnn.network import TwoLayerNet
    x_train, y_train = data[0], data[1]
    backend = impl if impl in ("numpy", "numba") else "numpy"
    net = TwoLayerNet(N_FEATURES, h, N_CLASSES, backend=backend, dtype=dtype,
                      seed=np.random.RandomState(0))
    if impl == "torch":
        from .baselines.torch_twin import TorchTwin
        twin = TorchTwin(net.params, x_train, y_train, LR, prepared=torch_data.get(dtype))
        torch_data[dtype] = (twin.X_all, twin.y_all)
        return twin.step
    from fastnn.optimizers import make_optimizer
    return net.train_step(x_train, y_train, make_optimizer("sgd", LR), n)


def measure_scaling(impls, dtypes, hidden_sizes, batch_sizes, data, min_reps, point_seconds,
                    failures):
    """Median seconds per train step at each (batch, hidden) point of both sweeps.

    Returns
    -------
    dict (impl, dtype, batch, hidden) -> seconds
    """
    points = [(BATCH, h) for h in hidden_sizes] + [(n, HIDDEN) for n in batch_sizes]
    points = list(dict.fromkeys(points))
    results, torch_data = {}, {}
    rs = np.random.RandomState(1)
    for dt in dtypes:
        for n, h in points:
            log(f"scaling: {dt} batch {n} hidden {h}")
            batches = [rs.choice(data[0].shape[0], n) for _ in range(4)]
            for impl in impls:  # interleaved at each point, so load changes hit all alike
                label = f"scaling {impl} {dt}"
                if label in failures:
                    continue
                step = attempt(failures, label, make_step, impl, dt, n, h, data, torch_data)
                t = step and attempt(failures, label, time_calls, step, batches, min_reps,
                                     point_seconds)
                if t is not None:
                    results[(impl, dt, n, h)] = t
    return results
