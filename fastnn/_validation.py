"""Argument checks shared by the public entry points: clear errors before any kernel runs."""

from __future__ import annotations

import numbers

import numpy as np

from .backends.interface import ACTIVATIONS, DTYPES, NATIVE_FLOATS


def check_choice(value, choices, name):
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} is not known; expected one of "
                         f"{', '.join(repr(c) for c in choices)}")
    return value


def check_activation(activation):
    return check_choice(activation, ACTIVATIONS, "activation")


def check_dtype(dtype):
    """Normalise ``"float32"``, ``np.float32``, ``np.dtype(">f4")``... to a native ``np.dtype``
    (the kernels compute in the machine's byte order; a big-endian name means the same type)."""
    try:
        normalised = np.dtype(dtype)
    except (TypeError, ValueError):
        normalised = None
    if normalised is None or normalised.name not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not accepted; expected one of "
                         f"{', '.join(repr(d) for d in DTYPES)}")
    return normalised.newbyteorder("=")


def check_positive_int(value, name, *, maximum=None):
    """Return ``value`` as int if it is an integer >= 1 (and <= maximum)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return int(value)


def check_bool(value, name):
    """Return ``value`` if it is True or False (NumPy's bool too), else raise TypeError."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_seed(value, name="seed"):
    """Return ``value`` as int if it can seed ``np.random.RandomState`` (0 <= seed < 2**32)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (
            0 <= value < 2**32):
        raise ValueError(f"{name} must be an integer in 0..{2**32 - 1} (a RandomState seed), "
                         f"got {value!r}")
    return int(value)


def check_backend(value, name="backend"):
    """Return ``value`` if it names a registered backend (or "auto") or is a Backend."""
    from .backends import NAMES, Backend

    if isinstance(value, Backend):
        return value
    return check_choice(value, ("auto",) + NAMES, name)


def check_positive_float(value, name):
    """Return ``value`` as a float if it is a finite real number > 0 (a Fraction, a NumPy
    scalar or an int too large for a float are judged by their value, not by NumPy)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    try:
        as_float = float(value)
    except OverflowError:
        as_float = float("inf")
    if not (np.isfinite(as_float) and as_float > 0):
        shown = (f"an integer of {len(str(abs(value)))} digits"
                 if isinstance(value, int) and abs(value) >= 10**20 else value)
        raise ValueError(f"{name} must be a finite number > 0, got {shown}")
    return as_float


def check_non_negative_float(value, name):
    """Return ``value`` as a float if it is a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {value!r}")
    try:
        as_float = float(value)
    except OverflowError:
        as_float = float("inf")
    if not (np.isfinite(as_float) and as_float >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return as_float


def as_features(x, n_features, dtype, name="x", *, kernels_check=False):
    """``x`` as a C-contiguous 2-D float array with ``n_features`` columns, all finite.

    A 1-D ``x`` of length ``n_features`` is one sample. The array is converted to ``dtype``,
    except with ``kernels_check`` (a backend whose kernels refuse non-finite values and take a
    float32 ``x`` for a float64 network, converting each value exactly): a float array that
    converts exactly is then passed as it is, and left unscanned. Returns ``(X, was_1d)``.
    """
    try:
        X = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}: "
                        f"{exc}") from None
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{name} must be an array of numbers, got dtype {X.dtype}")
    was_1d = X.ndim == 1
    if was_1d:
        X = X.reshape(1, -1)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"{name} must have shape (n_samples, {n_features}) or "
                         f"({n_features},), got shape {np.shape(x)}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no samples (shape {np.shape(x)})")
    dtype = np.dtype(dtype)
    exact = (X.dtype in NATIVE_FLOATS and X.dtype.itemsize <= dtype.itemsize)
    if kernels_check and exact:
        return np.ascontiguousarray(X), was_1d
    if X.dtype.kind in "fc" and not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values (first at row "
                         f"{int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])})")
    with np.errstate(over="ignore"):
        converted = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(converted).all():
        row = int(np.flatnonzero(~np.isfinite(converted).all(axis=1))[0])
        biggest = float(np.max(np.abs(X[row])))
        raise ValueError(f"{name} holds values too large for {dtype.name} (such as "
                         f"{biggest:.3g} in row {row}; the largest is "
                         f"{float(np.finfo(dtype).max):.3g})")
    return converted, was_1d


def as_labels(t, *, n_samples, n_classes, name="t"):
    """Integer labels (int64, shape (n_samples,)) from labels or one-hot rows, validated.

    Raises ValueError naming ``name`` for a wrong shape, labels outside ``0..n_classes-1``,
    non-integral labels or one-hot rows that are not one-hot.
    """
    t = np.asarray(t)
    if t.ndim == 2:
        if t.shape != (n_samples, n_classes):
            raise ValueError(f"{name}: one-hot targets must have shape ({n_samples}, "
                             f"{n_classes}), got {t.shape}")
        labels = np.argmax(t, axis=1) if n_samples else np.zeros(0, np.int64)
        # One-hot iff every row's largest entry is exactly 1 and there are n non-zeros in all
        # (each row then holds exactly one): two passes over t instead of five.
        if not (np.count_nonzero(t) == n_samples
                and np.all(t[np.arange(n_samples), labels] == 1)):
            bad = np.flatnonzero(~((t == 0) | (t == 1)).all(axis=1)
                                 | (np.count_nonzero(t, axis=1) != 1))
            raise ValueError(f"{name}: row {int(bad[0])} is not one-hot (exactly one 1, the rest "
                             f"0): {t[bad[0]].tolist()}")
        return labels.astype(np.int64, copy=False)
    if t.ndim != 1 or t.shape[0] != n_samples:
        raise ValueError(f"{name}: expected {n_samples} integer labels of shape ({n_samples},) "
                         f"or one-hot rows of shape ({n_samples}, {n_classes}), got shape "
                         f"{t.shape}")
    if t.dtype == bool or not (np.issubdtype(t.dtype, np.integer)
                               or np.issubdtype(t.dtype, np.floating)):
        raise ValueError(f"{name}: labels must be integers in 0..{n_classes - 1}, got dtype "
                         f"{t.dtype}")
    if np.issubdtype(t.dtype, np.floating) and not np.all(np.isfinite(t) & (t == np.round(t))):
        raise ValueError(f"{name}: labels must be whole numbers in 0..{n_classes - 1}, got "
                         f"non-integral values such as {t[~(t == np.round(t))][:3].tolist()}")
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        bad = t[(t < 0) | (t >= n_classes)]
        raise ValueError(f"{name}: labels must be in 0..{n_classes - 1}, got {bad[:5].tolist()}")
    return t.astype(np.int64)


def frozen(a, dtype):
    """``a`` itself if nothing can change it (it and every array it views are read-only), else
    a read-only copy."""
    base, shared = a, False
    while isinstance(base, np.ndarray):
        shared |= base.flags.writeable
        base = base.base
    if shared or a.dtype != dtype or not a.flags.c_contiguous:
        a = np.array(a, dtype=dtype, order="C")
        a.flags.writeable = False
    return a
