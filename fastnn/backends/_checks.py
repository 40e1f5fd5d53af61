"""Shape, dtype and layout checks for the compiled kernels' entry points.

Compiled code trusts the shapes it is given: a W1 with fewer rows than the pixels index reads
past its end. Every array that crosses into the Numba backend's kernels is checked here first,
so that no argument can make a kernel read or write outside an array (index values are
checked inside the kernels, where they are read).
"""

from __future__ import annotations

import numpy as np

from .interface import NATIVE_FLOATS

__all__ = ["floats", "pixels", "labels", "indices", "same_dtype"]


def _describe(a):
    if not isinstance(a, np.ndarray):
        return type(a).__name__
    return f"{a.dtype} array of shape {a.shape}"


def floats(a, name, shape, *, writable=False):
    """``a`` must be a native, C-contiguous float32/float64 array of ``shape`` (None: any)."""
    ok = (isinstance(a, np.ndarray) and a.dtype in NATIVE_FLOATS
          and a.ndim == len(shape) and a.flags.c_contiguous
          and all(want is None or got == want for got, want in zip(a.shape, shape)))
    if not ok:
        want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must be a C-contiguous float32 or float64 array of shape "
                         f"{want}, got {_describe(a)}")
    if writable and not a.flags.writeable:
        raise ValueError(f"{name} is an output and must be writable")
    return a


def same_dtype(arrays):
    """Every float array of one call has the same dtype (``{name: array}``)."""
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        raise ValueError("the float arrays of one call must share a dtype, got "
                         + ", ".join(f"{name} {dt}" for name, dt in dtypes.items()))


def pixels(x_u8, name, n_features=None):
    """``x_u8`` must be a 2-d uint8 array (with ``n_features`` columns); returns it C-ordered."""
    if not (isinstance(x_u8, np.ndarray) and x_u8.dtype == np.uint8 and x_u8.ndim == 2):
        raise ValueError(f"{name} must be uint8 pixels of shape (n_samples, n_features), got "
                         f"{_describe(x_u8)}")
    if n_features is not None and x_u8.shape[1] != n_features:
        raise ValueError(f"{name} has {x_u8.shape[1]} pixels per sample but the network takes "
                         f"{n_features}")
    return np.ascontiguousarray(x_u8)


def labels(y, name, n):
    """``y`` must be ``n`` integers; returns them as a C-contiguous int64 array."""
    y = np.asarray(y)
    if y.shape != (n,) or not (np.issubdtype(y.dtype, np.integer) and y.dtype != bool):
        raise ValueError(f"{name} must be {n} integer labels, got {_describe(y)}")
    return np.ascontiguousarray(y, dtype=np.int64)


def indices(idx, name, n=None):
    """``idx`` must be 1-d integers (``n`` of them); returns them as int64."""
    idx = np.asarray(idx)
    if idx.ndim != 1 or idx.dtype.kind not in "iu" or (n is not None and idx.shape != (n,)):
        want = "integers" if n is None else f"{n} integers"
        raise ValueError(f"{name} must be 1-d {want}, got {_describe(idx)}")
    return np.ascontiguousarray(idx, dtype=np.int64)
