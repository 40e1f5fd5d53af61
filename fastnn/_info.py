"""What this machine and installation are: one description, used by ``fastnn info`` and the
benchmark report (as scikit-learn's ``show_versions``)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import sys
from collections import namedtuple
from pathlib import Path

from ._threads import usable_cores

__all__ = ["Section", "versions_info", "show_versions", "format_sections"]

#: One block of the description: a title and its ``(key, value)`` rows.
Section = namedtuple("Section", "title rows")

#: Distributions whose versions are reported, in this order (import name is not needed).
LIBRARIES = ("numpy", "numba", "llvmlite", "matplotlib", "threadpoolctl", "tqdm", "pillow",
             "joblib", "torch")
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER", "OPENBLAS_NUM_THREADS",
                    "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")


def version_of(distribution) -> str:
    """The installed version of ``distribution``, or ``"not installed"``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` where there is one)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _numba_runtime():
    """Numba's thread pool and cache, when the numba backend works here."""
    from . import backends

    if backends.unavailable_reason("numba") is not None:
        return []
    try:
        from .backends import numba_backend

        return [(f"numba {key}", value) for key, value in numba_backend.runtime_info().items()
                if key != "numba"]  # its version is listed with the libraries
    except Exception as exc:  # information only: never fail over it
        return [("numba runtime", f"unavailable: {type(exc).__name__}: {exc}")]


def _blas_pools():
    from threadpoolctl import threadpool_info

    pools = threadpool_info()
    if not pools:
        return [("BLAS threads", "no thread pool found")]
    return [(pool.get("internal_api", "?"),
             f"{pool.get('num_threads')} threads ({pool.get('user_api', '?')}"
             + "".join(f", {pool[k]}" for k in ("threading_layer", "architecture")
                       if pool.get(k))
             + f", {pool.get('filepath', '?')})") for pool in pools]


def versions_info(*, runtime=True) -> list[Section]:
    """The machine, the libraries and the thread pools, as :class:`Section` blocks.

    Parameters
    ----------
    runtime : bool, default True
        Also start Numba's thread pool to report it (imports numba).

    Returns
    -------
    list of Section
        ``system``, ``libraries`` and ``threads``.
    """
    from . import __version__

    system = [("fastnn", __version__),
              ("python", f"{platform.python_version()} ({sys.executable})"),
              ("OS", platform.platform()),
              ("CPU", cpu_model()),
              ("cpu count", os.cpu_count()),
              ("usable cores", usable_cores())]
    libraries = [(name, version_of(name)) for name in LIBRARIES]
    threads = (_numba_runtime() if runtime else []) + _blas_pools()
    threads += [(var, os.environ.get(var, "(unset)")) for var in THREAD_VARIABLES]
    return [Section("system", system), Section("libraries", libraries),
            Section("threads", threads)]


def format_sections(sections, width=22) -> str:
    """Sections as ``title:`` lines followed by indented ``key  value`` rows."""
    lines = []
    for section in sections:
        lines.append(f"{section.title}:")
        lines += [f"  {key:<{width}} {value}" for key, value in section.rows]
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def show_versions(file=None) -> None:
    """Print the machine, library versions and thread pools (to paste into a bug report).

    Parameters
    ----------
    file : text stream, optional
        Default ``sys.stdout``.
    """
    print(format_sections(versions_info()), file=file or sys.stdout)
