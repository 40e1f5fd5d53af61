"""Will it fit? The memory a run needs against what the machine has, checked before allocating."""

from __future__ import annotations

import os

__all__ = ["available_memory", "check_fits", "format_bytes"]


def available_memory() -> int | None:
    """Bytes the system can give without swapping (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    k = 0
    while abs(n) >= 1024 and k < len(units) - 1:
        n /= 1024
        k += 1
    return f"{int(n)} B" if k == 0 else f"{n:.3g} {units[k]}"


def check_fits(n_bytes, what):
    """Raise ValueError naming ``what`` if ``n_bytes`` exceeds the available memory: a clear
    refusal before allocating, instead of a MemoryError (or the system's OOM killer) after."""
    available = available_memory()
    if available is not None and n_bytes > available:
        raise ValueError(f"{what} needs about {format_bytes(n_bytes)} of memory, but "
                         f"{format_bytes(available)} is available")
