"""The teaching program's functions, by name, NumPy-compatible in and out.

Each function gives the same values as the definition of the same name in the teaching program
("deep learning from scratch" style) for the same inputs, accepts any array-like, returns NumPy
arrays, and is overflow-safe: ``sigmoid(-1000)`` and ``softmax([1000, -1000])`` are finite and
raise no warning.

>>> from fastnn import softmax, cross_entropy_error
>>> y = softmax([[2.0, 1.0, 0.1]])
>>> round(float(cross_entropy_error(y, [0])), 4)
0.417
"""

from __future__ import annotations

import numpy as np

from ._validation import as_labels
from .backends.interface import LOG_EPSILON

__all__ = [
    "identity_function", "step_function", "sigmoid", "sigmoid_grad", "relu", "relu_grad",
    "softmax", "mean_squared_error", "sum_squared_error", "cross_entropy_error", "softmax_loss",
    "numerical_gradient",
]


def identity_function(x):
    """Return ``x`` as an ndarray, unchanged.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    ndarray
    """
    return _numbers(x, "identity_function")


def step_function(x):
    """Heaviside step: 1 where ``x > 0``, else 0, as an integer array.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    ndarray of int, same shape as ``x``
    """
    return np.array(_numbers(x, "step_function") > 0, dtype=int)


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``.

    ``exp(-x)`` overflows to ``inf`` for ``x < -709`` (float64); the result is then exactly 0, as
    in the teaching program, but without its overflow warning.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    ndarray of float, same shape as ``x``
    """
    x = _numbers(x, "sigmoid")
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def sigmoid_grad(x):
    """Derivative of :func:`sigmoid`: ``(1 - sigmoid(x)) * sigmoid(x)``.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    ndarray of float, same shape as ``x``
    """
    s = sigmoid(x)
    return (1.0 - s) * s


def relu(x):
    """Rectified linear unit ``max(0, x)``.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    ndarray, same shape as ``x``
    """
    return np.maximum(0, _numbers(x, "relu"))


def relu_grad(x):
    """Derivative of :func:`relu` as the teaching program defines it: 1 where ``x >= 0``, else 0.

    Note that ``x == 0`` counts as active, exactly as in the teaching program.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    ndarray of int, same shape as ``x``
    """
    return np.where(_numbers(x, "relu_grad") >= 0, 1, 0)


def softmax(x):
    """Softmax over the last axis, shifted by the maximum so that large logits cannot overflow.

    Parameters
    ----------
    x : array_like of shape (n_classes,) or (n_samples, n_classes)

    Returns
    -------
    ndarray of float, same shape as ``x``; each row sums to 1
    """
    x = _numbers(x, "softmax")
    if x.ndim == 0:
        raise ValueError("softmax: x must have at least one dimension, got a scalar")
    if x.shape[-1] == 0:
        raise ValueError(f"softmax: x must have at least one value per row, got shape "
                         f"{x.shape}")
    if x.ndim == 2:
        # The teaching program's own order of operations (via the transpose), for identical bits.
        shifted = x.T - np.max(x.T, axis=0)
        exp = np.exp(shifted)
        return (exp / np.sum(exp, axis=0)).T
    shifted = x - np.max(x, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=-1, keepdims=True)


def mean_squared_error(y, t):
    """Half the sum of squared errors, ``0.5 * sum((y - t) ** 2)``, as the teaching program has it.

    Parameters
    ----------
    y, t : array_like of the same shape

    Returns
    -------
    numpy float
    """
    y, t = _numbers(y, "mean_squared_error", "y"), _numbers(t, "mean_squared_error", "t")
    _check_same_shape(y, t, "mean_squared_error")
    return 0.5 * np.sum((y - t) ** 2)


def sum_squared_error(y, t):
    """``0.5 * sum((y - t) ** 2)``: the book's other name for :func:`mean_squared_error`."""
    return mean_squared_error(y, t)


def cross_entropy_error(y, t):
    """Mean cross-entropy ``-sum(log(y[i, t_i] + 1e-7)) / n_samples``.

    Parameters
    ----------
    y : array_like of shape (n_classes,) or (n_samples, n_classes)
        Predicted probabilities.
    t : array_like
        Targets: one-hot rows of the same shape as ``y``, or integer labels of shape
        (n_samples,) (a single label for a 1-D ``y``).

    Returns
    -------
    numpy float
    """
    y = _numbers(y, "cross_entropy_error", "y")
    if y.ndim not in (1, 2) or y.size == 0:
        raise ValueError(f"cross_entropy_error: y must be 1-D or 2-D and not empty, got shape "
                         f"{y.shape}")
    if y.ndim == 1:
        y = y.reshape(1, y.size)
        t = np.asarray(t).reshape(1, -1)
        if t.size == 1:
            t = t.reshape(1)
    labels = as_labels(t, n_samples=y.shape[0], n_classes=y.shape[1], name="t")
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), labels] + LOG_EPSILON)) / batch_size


def softmax_loss(X, t):
    """``cross_entropy_error(softmax(X), t)``.

    Parameters
    ----------
    X : array_like of shape (n_classes,) or (n_samples, n_classes)
        Logits.
    t : array_like
        One-hot rows or integer labels, as for :func:`cross_entropy_error`.

    Returns
    -------
    numpy float
    """
    return cross_entropy_error(softmax(X), t)


def numerical_gradient(f, x):
    """Central-difference gradient of ``f`` at ``x`` with step ``h = 1e-4``.

    Like the teaching program, each element of ``x`` is perturbed in place, ``f(x)`` evaluated,
    and the element restored, so ``f`` may ignore its argument and read ``x`` through a closure
    (``lambda W: net.loss(x, t)``).

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray of float
        The point; modified during the call and restored exactly afterwards.

    Returns
    -------
    ndarray of the same shape and dtype as ``x``
    """
    if not callable(f):
        raise TypeError(f"numerical_gradient: f must be callable, got {type(f).__name__}")
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError("numerical_gradient: x must be a float ndarray that can be perturbed in "
                        f"place, got {got}; use np.asarray(x, dtype=float)")
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
    return grad


def _numbers(x, func, name="x"):
    """``x`` as a numeric ndarray, or a TypeError naming ``func`` (NumPy would give a ufunc
    error about dtypes or ``None``)."""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise TypeError(f"{func}: {name} must be an array of numbers, got "
                        f"{type(x).__name__} ({exc})") from None
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{func}: {name} must be an array of numbers, got "
                        f"{type(x).__name__} of dtype {a.dtype}")
    return a


def _check_same_shape(y, t, func):
    if y.shape != t.shape:
        raise ValueError(f"{func}: y and t must have the same shape, got {y.shape} and {t.shape}")
