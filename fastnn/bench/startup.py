"""Start-up: a new Python process timed up to its first finished train step.

*cold*: the child gets an empty ``NUMBA_CACHE_DIR``, so the Numba backend compiles from scratch;
*warm*: the usual cache, which the parent's own runs have filled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from .measure import BATCH, HIDDEN, attempt, log, median
from .results import StartupRow

__all__ = ["startup_run", "measure_startup", "thread_env"]

_CHILD = r"""
import json, sys, time
t0 = float(sys.argv[1]); cfg = json.loads(sys.argv[2])
import numpy as np
import fastnn
from fastnn.datasets.mnist import load_arrays
from fastnn.optimizers import make_optimizer
t_import = time.time() - t0
x, y, _, _ = load_arrays()
rs = np.random.RandomState(0)
net = fastnn.TwoLayerNet(784, cfg["hidden"], 10, backend=cfg["backend"], dtype=cfg["dtype"],
                         seed=rs)
t_backend = time.time() - t0
step = net.train_step(x, y, make_optimizer("sgd", 0.05), cfg["batch"])
loss, _ = step(rs.choice(x.shape[0], cfg["batch"]))
t_first = time.time() - t0
steady = []
for _ in range(5):
    t = time.perf_counter(); step(rs.choice(x.shape[0], cfg["batch"]))
    steady.append(time.perf_counter() - t)
print(json.dumps(dict(import_s=t_import, backend_s=t_backend, first_step_s=t_first,
                      steady_step_s=min(steady), loss=loss, backend=net.backend.name)))
"""


def thread_env(threads, env=None):
    """A copy of ``env`` (default ``os.environ``) pinning every pool to ``threads``."""
    env = dict(os.environ if env is None else env)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        env[var] = str(threads)
    return env


def startup_run(backend, dtype="float64", threads=2, cache_dir=None, batch_size=BATCH,
                hidden=HIDDEN, timeout=600):
    """Start a new Python process and time it up to its first finished train step.

    Parameters
    ----------
    backend : str
    cache_dir : str or path, optional
        ``NUMBA_CACHE_DIR`` for the child (an empty directory: a cold start); default the
        usual cache, which this process's own runs have filled (a warm start).

    Returns
    -------
    dict with ``first_step_s`` (seconds from spawn to the end of the first train step),
    ``import_s``, ``backend_s``, ``steady_step_s`` (the fastest of the next five steps) and the
    first ``loss``.
    """
    env = thread_env(threads)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    cfg = json.dumps(dict(backend=backend, dtype=dtype, batch=batch_size, hidden=hidden))
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", _CHILD, repr(t0), cfg], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"start-up child for {backend!r} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_startup(backend_names, threads, cold_runs, warm_runs, failures, dtype="float64"):
    """Cold (empty ``NUMBA_CACHE_DIR``) and warm (the usual cache) starts.

    Returns
    -------
    dict (backend, "cold" | "warm") -> StartupRow
    """
    results = {}
    for name in backend_names:
        kinds = [("warm", warm_runs)] + ([("cold", cold_runs)] if name == "numba" else [])
        if name == "numba":  # makes sure the usual cache holds this variant
            attempt(failures, f"start-up {name} warm", startup_run, name, dtype, threads)
        for kind, runs in kinds:
            out = []
            for i in range(runs if f"start-up {name} {kind}" not in failures else 0):
                log(f"start-up: {name} {kind} ({i + 1}/{runs})")
                with tempfile.TemporaryDirectory(prefix="fastnn-numba-cache-") as cache:
                    result = attempt(failures, f"start-up {name} {kind}", startup_run, name,
                                     dtype, threads, cache_dir=cache if kind == "cold" else None)
                if result is None:
                    out = []
                    break
                out.append(result)
            if out:
                results[(name, kind)] = StartupRow(
                    runs=runs, **{key: median([o[key] for o in out])
                                  for key in ("import_s", "backend_s", "first_step_s",
                                              "steady_step_s")})
    return results
