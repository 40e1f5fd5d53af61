"""limit_threads: one limit for BLAS and Numba, restored afterwards; usable_cores."""

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from fastnn._threads import limit_threads, usable_cores


def _blas_threads():
    return sorted({pool["num_threads"] for pool in threadpool_info()
                   if pool["user_api"] == "blas"})


def test_usable_cores_is_the_affinity():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert usable_cores() == expected >= 1


def test_limits_blas_and_numba_and_restores_both():
    import numba

    np.dot(np.ones((2, 2)), np.ones((2, 2)))  # BLAS is loaded
    blas_before, numba_before = _blas_threads(), numba.get_num_threads()
    with limit_threads(1, numba=True):
        assert _blas_threads() == [1]
        assert numba.get_num_threads() == 1
    assert _blas_threads() == blas_before and numba.get_num_threads() == numba_before


def test_none_changes_nothing_and_more_than_the_cores_is_capped():
    import numba

    before = _blas_threads()
    with limit_threads(None):
        assert _blas_threads() == before
    cores = usable_cores()
    with pytest.warns(RuntimeWarning, match=f"threads=64 is more than the {cores} usable "
                                            f"cores; using {cores}"):
        with limit_threads(64, numba=True):
            assert _blas_threads() == [cores]
            assert numba.get_num_threads() == min(cores, numba.config.NUMBA_NUM_THREADS)
    assert _blas_threads() == before


def test_training_under_a_limit_uses_one_thread_and_gets_the_same_bits(mnist_small):
    import numba

    from fastnn import train

    seen = []
    kwargs = dict(backend="numba", iters=20, batch_size=64, eval_every=10, data=mnist_small)
    one = train(threads=1, callback=lambda i, h: seen.append(numba.get_num_threads()), **kwargs)
    default = train(**kwargs)
    assert seen == [1, 1, 1] and numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    assert one.history == default.history


def test_the_thread_chooser_follows_the_faster_count():
    from fastnn.backends._adaptive import ThreadChooser

    def run(chooser, seconds_for, steps):
        used = []
        for _ in range(steps):
            n = chooser.threads()
            used.append(n)
            chooser.record(n, seconds_for(n))
        return used

    quiet = ThreadChooser(2)
    used = run(quiet, lambda n: 1.0 if n == 2 else 1.7, 3000)
    assert quiet.current == 2 and used.count(1) < 0.02 * len(used)  # rare, short probes
    busy = ThreadChooser(2)
    used = run(busy, lambda n: 6.0 if n == 2 else 1.7, 3000)
    assert busy.current == 1 and used[-1000:].count(2) < 20
    # the machine gets busy in the middle of a run: the chooser follows within a few steps
    change = ThreadChooser(2)
    run(change, lambda n: 1.0 if n == 2 else 1.7, 500)
    run(change, lambda n: 6.0 if n == 2 else 1.7, 100)
    assert change.current == 1
    assert ThreadChooser(1).threads() == 1  # one core: nothing to choose


def test_numba_pool_spins_briefly_unless_the_user_said_otherwise():
    import subprocess
    import sys

    script = ("import os, fastnn\n"
              "from fastnn._threads import start_numba_pool, pool_note\n"
              "start_numba_pool()\n"
              "print(pool_note())\n"
              "print(os.environ.get('GOMP_SPINCOUNT'))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=120)
    note, variable = out.stdout.splitlines()
    assert "GOMP_SPINCOUNT=1000" in note and "removed" in note and variable == "None"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=dict(env, OMP_WAIT_POLICY="ACTIVE"), timeout=120)
    assert "OMP_WAIT_POLICY=ACTIVE (set by the user)" in out.stdout
