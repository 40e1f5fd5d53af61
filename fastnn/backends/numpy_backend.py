"""The reference backend: plain vectorised NumPy, the teaching program's formulas term for term.

Every other backend is tested against this one, so it favours being obviously the seed's math
over being fast.
"""

from __future__ import annotations

import numpy as np

from .interface import LOG_EPSILON, Backend


class NumpyBackend(Backend):
    """Reference implementation of :class:`~fastnn.backends.interface.Backend`."""

    name = "numpy"

    def gather_scaled(self, x_u8, idx, out):
        # Cast first, then divide in the working dtype: the bits of `x / 255.0` (seed, float64)
        # and of `x.astype(float32) / 255.0` (book loader, float32).
        out[...] = x_u8[idx]
        out /= out.dtype.type(255.0)
        return out

    def dense_forward(self, X, W, b, activation, Z, A):
        np.dot(X, W, out=Z)
        Z += b
        if activation == "relu":
            np.maximum(0, Z, out=A)
        elif activation == "sigmoid":
            _sigmoid(Z, out=A)
        elif A is not Z:
            A[...] = Z
        return A

    def softmax_cross_entropy(self, logits, labels, dlogits):
        n = logits.shape[0]
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        np.divide(exp, exp.sum(axis=1, keepdims=True), out=dlogits)
        loss = -np.sum(np.log(dlogits[rows, labels] + LOG_EPSILON)) / n
        dlogits[rows, labels] -= 1
        dlogits /= n
        return float(loss)

    def two_layer_backward(self, X, Z1, A1, W2, dZ2, activation, dZ1, dW1, db1, dW2, db2):
        np.dot(A1.T, dZ2, out=dW2)
        np.sum(dZ2, axis=0, out=db2)
        np.dot(dZ2, W2.T, out=dZ1)  # dA1, turned into dZ1 in place below
        if activation == "relu":
            np.multiply(dZ1, Z1 >= 0, out=dZ1)
        else:
            dZ1 *= (1.0 - A1) * A1
        np.dot(X.T, dZ1, out=dW1)
        np.sum(dZ1, axis=0, out=db1)

    def predict_labels(self, X, W1, b1, W2, b2, activation, out):
        A1 = np.empty((X.shape[0], W1.shape[1]), X.dtype)
        self.dense_forward(X, W1, b1, activation, A1, A1)  # in place: Z1 is not needed
        Z2 = np.empty((X.shape[0], W2.shape[1]), X.dtype)
        self.dense_forward(A1, W2, b2, "identity", Z2, Z2)
        return np.argmax(Z2, axis=1, out=out)


def _sigmoid(Z, out):
    """``1 / (1 + exp(-Z))``; exp overflows to inf for Z < -709 and the result is then 0."""
    np.negative(Z, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    np.divide(1, out, out=out)
    return out
