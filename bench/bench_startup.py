"""Cold and warm start: a new Python process up to its first finished train step.

Each round spawns ``python -c ...`` (``fastnn.bench.startup.startup_run``), which imports fastnn,
loads the data, gets the backend, builds a 784-50-10 network and runs one float64 train step at
batch 512. *cold*: the child gets an empty ``NUMBA_CACHE_DIR``, so the Numba backend compiles from
scratch; *warm*: the child uses the usual on-disk cache, filled beforehand. The NumPy backend has
nothing to compile and is the baseline row of both groups. The timed quantity is the whole
subprocess; the child's own breakdown (import, backend ready, first step) is in ``extra_info``.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import pytest

from fastnn import backends
from fastnn.bench.startup import startup_run

pytestmark = pytest.mark.benchmark(warmup=False)  # every round is a new process anyway

THREADS = min(2, os.cpu_count() or 1)
CASES = [(kind, name) for kind in ("cold", "warm") for name in backends.NAMES]


@functools.lru_cache(maxsize=1)
def _reference_first_loss():
    """The first step's loss computed here with the NumPy backend, as the child computes it."""
    from fastnn.datasets.mnist import load_arrays
    from fastnn.network import TwoLayerNet
    from fastnn.optimizers import make_optimizer
    x, y = load_arrays()[:2]
    rs = np.random.RandomState(0)
    net = TwoLayerNet(784, 50, 10, backend="numpy", dtype="float64", seed=rs)
    step = net.backend.make_train_step(x, y, net.params, "relu", make_optimizer("sgd", 0.05),
                                       512)
    return step(rs.choice(x.shape[0], 512))[0]


@pytest.mark.parametrize("kind, name", CASES, ids=[f"{k}-{n}" for k, n in CASES])
def test_startup(benchmark, timing, tools, tmp_path_factory, kind, name):
    tools.require(name)
    benchmark.group = tools.group(f"startup_{kind}", "first step,n=512,h=50", "float64")
    if kind == "warm" and timing:
        startup_run(name, threads=THREADS)  # make sure the usual cache holds this variant

    caches = []

    def setup():
        cache = tmp_path_factory.mktemp("numba-cache") if kind == "cold" else None
        caches.append(cache)
        return (name,), dict(dtype="float64", threads=THREADS, cache_dir=cache)

    result = benchmark.pedantic(startup_run, setup=setup, rounds=3 if timing else 1)
    benchmark.extra_info.update({k: v for k, v in result.items() if k != "loss"})
    assert result["backend"] == name
    if kind == "cold" and name == "numba":  # the next start is warm only if the step was cached
        assert list(caches[-1].rglob("*fused_step*.nbi")), "fused step not written to cache"
    assert 0 < result["import_s"] <= result["backend_s"] <= result["first_step_s"]
    assert math.isfinite(result["loss"])
    assert abs(result["loss"] - _reference_first_loss()) <= 1e-9 * abs(result["loss"])
