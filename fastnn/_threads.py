"""Thread pools: how many cores we may use, and one way to limit BLAS and Numba together."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

__all__ = ["limit_threads", "usable_cores", "start_numba_pool", "pool_note"]

#: The spin count for Numba's OpenMP threads (libgomp's ``GOMP_SPINCOUNT``): threads that find
#: no work spin this many rounds (microseconds), then sleep. libgomp's default spins for about a
#: millisecond, which on a machine where another program keeps a core busy makes each parallel
#: phase wait for a parked thread while its partner burns the time slice: the fused step was
#: six times slower than with one thread. A short spin costs nothing measurable on a quiet
#: machine (bench/REPORT.md measures both).
SPIN_COUNT = "1000"
_POLICY_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
_pool_note = None


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def start_numba_pool():
    """Start Numba's thread pool, with a short spin before idle threads sleep.

    Unless the user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` (then theirs rules), the
    pool starts with ``GOMP_SPINCOUNT`` = :data:`SPIN_COUNT`; the variable is removed again at
    once, so no child process inherits it. ``fastnn info`` says what was done (:func:`pool_note`).
    Numba starts OpenMP when its pool starts; if OpenMP was loaded before (by another
    library), nothing can change it any more, and the note says so.
    """
    global _pool_note
    import numba

    if _pool_note is not None:
        return
    chosen = [f"{var}={os.environ[var]}" for var in _POLICY_VARIABLES if var in os.environ]
    loaded = _openmp_loaded()
    if chosen:
        _pool_note = f"{', '.join(chosen)} (set by the user)"
    elif loaded:
        _pool_note = "OpenMP was started before fastnn, with its own spin count"
    else:
        os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
        try:
            numba.get_num_threads()
        finally:
            del os.environ["GOMP_SPINCOUNT"]
        _pool_note = (f"GOMP_SPINCOUNT={SPIN_COUNT} for Numba's OpenMP pool only (set by fastnn "
                      "while it started the pool, then removed)")
    numba.get_num_threads()


def pool_note():
    """How Numba's thread pool waits, in words (None before :func:`start_numba_pool`)."""
    return _pool_note


def _openmp_loaded():
    try:
        with open("/proc/self/maps") as fh:
            return any("libgomp" in line or "libiomp" in line for line in fh)
    except OSError:
        return False


@contextlib.contextmanager
def limit_threads(n_threads, *, numba=None, torch=False):
    """Limit the BLAS/OpenMP pools and Numba's pool to ``n_threads`` inside the block.

    Everything is restored on exit. Numba's setting is per calling thread, so another Python
    thread is not affected by it; the BLAS limit (through threadpoolctl) is process-wide.

    Parameters
    ----------
    n_threads : int or None
        ``None`` changes nothing; more than the usable cores is capped at them (with a
        warning).
    numba : bool or None, default None
        Limit Numba's pool too: ``True`` imports numba if need be, ``None`` only if it has
        already been imported (so that a NumPy-only run never pays for importing it).
    torch : bool, default False
        Also ``torch.set_num_threads`` (restored on exit).

    Raises
    ------
    ValueError
        If ``n_threads`` exceeds the threads Numba started with (``NUMBA_NUM_THREADS``).
    """
    if n_threads is None:
        yield
        return
    cores = usable_cores()
    if n_threads > cores:  # more threads than cores only makes every pool wait on the others
        warnings.warn(f"threads={n_threads} is more than the {cores} usable cores; using "
                      f"{cores}", RuntimeWarning, stacklevel=3)
        n_threads = cores
    from threadpoolctl import threadpool_limits

    with contextlib.ExitStack() as stack:
        if numba or (numba is None and "numba" in sys.modules):
            import numba as nb

            start_numba_pool()
            before = nb.get_num_threads()
            try:
                nb.set_num_threads(n_threads)
            except ValueError:  # above NUMBA_NUM_THREADS, which is fixed at start-up
                raise ValueError(f"threads={n_threads} is more than the "
                                 f"{nb.config.NUMBA_NUM_THREADS} threads Numba started with "
                                 "(NUMBA_NUM_THREADS)") from None
            stack.callback(nb.set_num_threads, before)
        if torch:
            import torch as th

            before_torch = th.get_num_threads()
            th.set_num_threads(n_threads)
            stack.callback(th.set_num_threads, before_torch)
        stack.enter_context(threadpool_limits(limits=n_threads))
        yield
