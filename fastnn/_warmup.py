"""Whether a run will first compile the Numba kernels, so that the pause can be announced.

Numba compiles a kernel the first time it is called with new argument types and keeps the
result in an on-disk cache (``__pycache__`` next to the kernels, see
``backends/_numba_cache.py``); later processes load it in a fraction of a second. The first
``fastnn train`` on a machine, or the first after fastnn's kernels changed, therefore pauses
for about :data:`COMPILE_SECONDS` before the first iteration (more on a busy machine).
:func:`compile_notice` says so beforehand, in one line.

The check reads the cache's index files (a few kB, through Numba's own cache objects), and
compiles and runs nothing. Where Numba's internals differ from what it expects, it says
nothing rather than something wrong.
"""

from __future__ import annotations

import os

__all__ = ["COMPILE_SECONDS", "compile_notice", "cold_kernels", "estimated_seconds",
           "kernels_of_run"]

#: The first compile of one run's kernels on an idle core of the 2-core VM fastnn was built
#: on: the issue that asked for this notice saw a silent pause of about 10 s. With both cores
#: busy (load 4) it took 49 s (an empty NUMBA_CACHE_DIR, ``fastnn train --iters 3``).
COMPILE_SECONDS = 12

#: The kernels one training run calls (every optimizer is fused; the data's pixel lists are
#: made with NumPy): the step and the evaluations, in ``backends/_numba_step.py``.
_RUN_KERNELS = ("fused_step", "predict_labels_csr")


def kernels_of_run(config):
    """The names of the Numba kernels a run of ``config`` calls."""
    return _RUN_KERNELS


def _has_entry(dispatcher, dtype, magic):
    """True when the on-disk cache holds a version of ``dispatcher`` compiled for this CPU
    (``magic``: Numba's code-generation key) and ``dtype`` (or one that takes no float array
    at all); None when that cannot be told."""
    try:
        index = dispatcher._cache._cache_file._load_index()
    except Exception:  # another Numba: it does not matter enough to fail a run
        return None
    if not isinstance(index, dict):
        return None
    signatures = [str(key[0]) for key in index
                  if isinstance(key, tuple) and len(key) > 1 and key[1] == magic]
    if not signatures:
        return False
    return any(dtype in sig or "float" not in sig for sig in signatures)


def cold_kernels(config):
    """The kernels of a run of ``config`` that are not in Numba's on-disk cache yet: a list
    (empty when all are), or None when the backend is not Numba or the cache cannot be read."""
    from . import backends

    try:
        backend = backends.get(config.backend)
    except Exception:  # train() will say what is wrong with the backend
        return None
    if backend.name != "numba":
        return None
    from .backends import numba_backend

    try:
        from numba.core.registry import cpu_target

        magic = cpu_target.target_context.codegen().magic_tuple()
    except Exception:  # another Numba
        return None
    missing = []
    for name in kernels_of_run(config):
        dispatcher = getattr(numba_backend.step_kernels, name, None)
        found = None if dispatcher is None else _has_entry(dispatcher, config.dtype, magic)
        if found is None:
            return None
        if not found:
            missing.append(name)
    return missing


def estimated_seconds():
    """:data:`COMPILE_SECONDS` stretched by how busy the machine is (the compiler runs on one
    core and shares it): the load average per core, when above 1, rounded to 5 s."""
    try:
        busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    except (OSError, AttributeError):  # no load average here (Windows)
        busy = 1.0
    seconds = COMPILE_SECONDS * max(1.0, busy)
    return int(seconds) if seconds < 20 else int(5 * round(seconds / 5))


def compile_notice(config):
    """The line to print before a run that will compile the Numba kernels, or None."""
    if not cold_kernels(config):
        return None
    return (f"compiling the Numba kernels once, about {estimated_seconds()} s; later runs "
            "start at once")
