"""Thread pools: how many cores we may use, and one way to limit BLAS and Numba together."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

__all__ = ["limit_threads", "usable_cores"]


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


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
