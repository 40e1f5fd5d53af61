"""Where Numba caches fastnn's kernels, and when a cached kernel is stale.

Numba keys a cached kernel on the source of the file that defines it only. fastnn's kernels
inline code from each other's files (``_numba_step.py`` uses the helpers of
``_numba_kernels.py``) and the code that ``_llvm_simd.py`` generates, so an edit there would
keep serving kernels compiled from the old source. :class:`KernelsLocator` finds the cache
exactly where Numba would, but stamps its entries with the hash of all three files, so a change
to any of them recompiles. Where Numba finds no writable place (a read-only package folder and a
read-only home), it falls back to a private folder under the temporary directory instead of
refusing to compile.

:func:`install` registers the locator; it must run before ``_numba_kernels`` is imported (Numba
picks a kernel's cache locator when the kernel is decorated).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from numba.core import caching

__all__ = ["KernelsLocator", "install", "source_hash", "KERNEL_FILES", "SOURCE_FILES"]

_HERE = Path(__file__).resolve().parent
#: The files that define cached kernels.
KERNEL_FILES = (_HERE / "_numba_kernels.py", _HERE / "_numba_step.py")
#: Every file whose source goes into those kernels.
SOURCE_FILES = KERNEL_FILES + (_HERE / "_llvm_simd.py",)


def source_hash(paths=SOURCE_FILES) -> str:
    """SHA-256 of the source files' bytes, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class _TempDirLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
    """A per-user folder under the temporary directory: the last resort."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        self._cache_path = os.path.join(tempfile.gettempdir(), f"fastnn-numba-cache-{uid}",
                                        self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path


class KernelsLocator(caching._CacheLocator):
    """Numba's own choice of cache folder for fastnn's kernel files (or :class:`_TempDirLocator`
    where it has none), with a source stamp that covers every file they are made from."""

    def __init__(self, inner):
        self._inner = inner
        # Numba reads these for the warning it gives when a function cannot be cached
        self._py_file = inner._py_file
        self._lineno = getattr(inner, "_lineno", 0)

    def ensure_cache_path(self):
        self._inner.ensure_cache_path()

    def get_cache_path(self):
        return self._inner.get_cache_path()

    def get_source_stamp(self):
        return (self._inner.get_source_stamp(), source_hash())

    def get_disambiguator(self):
        return self._inner.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve() not in KERNEL_FILES:
            return None
        for locator_class in caching.CacheImpl._locator_classes:
            if locator_class is cls:
                continue
            inner = locator_class.from_function(py_func, py_file)
            if inner is not None:
                return cls(inner)
        inner = _TempDirLocator.from_function(py_func, py_file)
        return None if inner is None else cls(inner)


def install():
    """Put :class:`KernelsLocator` first in Numba's list (once)."""
    classes = caching.CacheImpl._locator_classes
    if KernelsLocator not in classes:
        classes.insert(0, KernelsLocator)
