"""The kernel contract, written once.

Every backend is an instance of :class:`Backend` whose kernels have exactly the signatures
below; ``TwoLayerNet`` and ``train()`` reach the math only through them. Kernels write into
caller-provided ``out`` buffers (habit borrowed from scikit-learn and numbagg) so that the
training loop allocates nothing per step, and they never write into an input array.

Shapes use ``n`` for samples, ``d`` for input features, ``h`` for hidden units and ``c`` for
classes. Every float array passed to one call has the same dtype (float32 or float64), is
C-contiguous, and the caller has already validated shapes and values: kernels do no checking.

The math is the teaching program's, term for term:

* pixels are scaled as ``x / 255`` in the working dtype;
* ``Z = X @ W + b`` and ``A = act(Z)`` with ``relu(z) = max(0, z)`` and
  ``sigmoid(z) = 1 / (1 + exp(-z))``;
* ``loss = -sum(log(softmax(Z2)[i, t_i] + 1e-7)) / n`` and
  ``dZ2 = (softmax(Z2) - onehot(t)) / n``;
* ``relu'(z) = 1 if z >= 0 else 0`` (sic: the seed counts ``z == 0`` as active) and
  ``sigmoid'(z) = (1 - s) * s`` with ``s = sigmoid(z)``;
* the SGD update is ``p -= lr * g``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

#: Activations of the hidden layer; ``"identity"`` is only used for the output logits.
ACTIVATIONS = ("relu", "sigmoid")
FORWARD_ACTIVATIONS = ACTIVATIONS + ("identity",)
#: Working floating-point types.
DTYPES = ("float64", "float32")
#: The same dtypes, native byte order only, as a set to test ``a.dtype in`` (looking up
#: ``dtype.name`` costs microseconds, and the checks run on every call).
NATIVE_FLOATS = frozenset(np.dtype(name) for name in DTYPES)
#: Added inside the log of the cross-entropy, exactly as the teaching program does.
LOG_EPSILON = 1e-7
#: Pixels are divided by this to land in [0, 1].
PIXEL_SCALE = 255.0
#: Names of the trainable parameters, in update order.
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def pixel_table(dtype) -> np.ndarray:
    """Return the 256 values ``v / 255`` in ``dtype``, bit-identical to dividing uint8 pixels.

    Dividing in the working dtype matches both the seed (``x / 255.0`` in float64) and the book's
    loader (``x.astype(float32) / 255.0`` in float32).
    """
    dtype = np.dtype(dtype)
    return np.arange(256, dtype=dtype) / dtype.type(PIXEL_SCALE)


class Backend(ABC):
    """One implementation of the kernel contract.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"numpy"`` or ``"numba"``.
    """

    name: str = ""

    @abstractmethod
    def gather_scaled(self, x_u8, idx, out):
        """``out[i] = x_u8[idx[i]] / 255`` in ``out.dtype``.

        x_u8 : uint8 (N, d); idx : int64 (n,); out : float (n, d). Returns ``out``.
        """

    @abstractmethod
    def dense_forward(self, X, W, b, activation, Z, A):
        """``Z[:] = X @ W + b`` and ``A[:] = act(Z)`` in one pass.

        X : (n, d); W : (d, h); b : (h,); activation : one of FORWARD_ACTIVATIONS;
        Z, A : (n, h) outputs (with ``"identity"`` they may be the same array). Returns ``A``.
        """

    @abstractmethod
    def softmax_cross_entropy(self, logits, labels, dlogits):
        """Mean cross-entropy of ``softmax(logits)`` and its gradient, in one pass.

        logits : (n, c); labels : int64 (n,) in ``0..c-1``; dlogits : (n, c) output receiving
        ``(softmax(logits) - onehot(labels)) / n``. Returns the loss as a Python float.
        """

    @abstractmethod
    def two_layer_backward(self, X, Z1, A1, W2, dZ2, activation, dZ1, dW1, db1, dW2, db2):
        """Backward pass of both layers given the gradient of the logits ``dZ2``.

        X : (n, d); Z1, A1 : (n, h) from the forward pass; W2 : (h, c); dZ2 : (n, c).
        Outputs: dZ1 (n, h) work buffer, dW1 (d, h), db1 (h,), dW2 (h, c), db2 (c,).
        """

    @abstractmethod
    def predict_labels(self, X, W1, b1, W2, b2, activation, out):
        """``out[i] = argmax(logits[i])`` (first maximum), without a softmax.

        X : (n, d); out : int64 (n,). Returns ``out``.
        """

    #: True when the kernels below refuse a non-finite X themselves (with
    #: :class:`NonFiniteInputError`), so that callers need not scan X first.
    checks_inputs = False

    def logits(self, X, W1, b1, W2, b2, activation, out):
        """``out = act(X @ W1 + b1) @ W2 + b2`` (the logits, before the softmax).

        X : (n, d), float32 or float64 (it may differ from the parameters' dtype: each value
        converts exactly); out : (n, c) in the parameters' dtype. Returns ``out``. This default
        composes :meth:`dense_forward`.
        """
        Z1 = np.empty((X.shape[0], W1.shape[1]), W1.dtype)
        self.dense_forward(_as_dtype(X, W1.dtype), W1, b1, activation, Z1, Z1)
        return self.dense_forward(Z1, W2, b2, "identity", out, out)

    def loss_gradient(self, X, labels, W1, b1, W2, b2, activation, dW1, db1, dW2, db2):
        """The mean cross-entropy of the network's prediction for ``X`` against ``labels``, and
        its gradient, in one call.

        X : (n, d) as for :meth:`logits`; labels : int64 (n,); outputs dW1 (d, h), db1 (h,),
        dW2 (h, c), db2 (c,) in the parameters' dtype. Returns the loss as a Python float.
        This default composes the kernels above, the reference order.
        """
        X = _as_dtype(X, W1.dtype)
        n, h, c = X.shape[0], W1.shape[1], W2.shape[1]
        Z1, A1 = np.empty((n, h), W1.dtype), np.empty((n, h), W1.dtype)
        Z2, dZ2 = np.empty((n, c), W1.dtype), np.empty((n, c), W1.dtype)
        self.dense_forward(X, W1, b1, activation, Z1, A1)
        self.dense_forward(A1, W2, b2, "identity", Z2, Z2)
        loss = self.softmax_cross_entropy(Z2, labels, dZ2)
        self.two_layer_backward(X, Z1, A1, W2, dZ2, activation, np.empty_like(Z1), dW1, db1,
                                dW2, db2)
        return loss

    def predict_labels_u8(self, x_u8, W1, b1, W2, b2, activation, out, chunk=10_000):
        """:meth:`predict_labels` of uint8 pixels scaled by 1/255 in W1's dtype.

        x_u8 : uint8 (n, d), e.g. a whole data set; out : int64 (n,). Returns ``out``.
        """
        return self.pixel_predictor(x_u8, chunk).predict_labels(W1, b1, W2, b2, activation, out)

    def pixel_predictor(self, x_u8, chunk=10_000):
        """An object whose ``predict_labels(W1, b1, W2, b2, activation, out)`` is
        :meth:`predict_labels_u8` of ``x_u8``, for evaluating one data set many times.

        This default scales ``chunk`` rows at a time (bounding the float copy) at each call; a
        backend may prepare the pixels once instead (from a snapshot, never a cache that could
        outlive a change to ``x_u8``).
        """
        return ChunkedPredictor(self, x_u8, chunk)

    def make_train_step(self, x_u8, y, params, activation, optimizer, batch_size,
                        adaptive_threads=False):
        """Return ``step(idx) -> (loss, n_correct)`` doing one training iteration in place.

        The composed step below is the reference; a backend may return a fused one for the
        optimizers it can fuse. ``loss`` and ``n_correct`` come from the same forward pass as
        the gradient (before the update). ``adaptive_threads`` lets a backend whose results do
        not depend on the thread count choose it per step (this one ignores it).
        """
        return ComposedTrainStep(self, x_u8, y, params, activation, optimizer, batch_size)

    def __repr__(self):
        return f"<fastnn backend {self.name!r}>"


class NonFiniteInputError(ValueError):
    """An input array given to a kernel holds NaN or infinite values."""


def _as_dtype(X, dtype):
    return X if X.dtype == dtype else np.ascontiguousarray(X, dtype=dtype)


class ComposedTrainStep:
    """A train step built from the contract's kernels and an optimizer: the reference order."""

    def __init__(self, backend, x_u8, y, params, activation, optimizer, batch_size):
        dtype = params["W1"].dtype
        n_features, n_hidden = params["W1"].shape
        n_classes = params["W2"].shape[1]
        self.backend, self.x_u8, self.y = backend, x_u8, y
        self.params, self.activation, self.optimizer = params, activation, optimizer
        empty = np.empty
        self.X = empty((batch_size, n_features), dtype)
        self.Z1 = empty((batch_size, n_hidden), dtype)
        self.A1 = empty((batch_size, n_hidden), dtype)
        self.Z2 = empty((batch_size, n_classes), dtype)
        self.dZ2 = empty((batch_size, n_classes), dtype)
        self.dZ1 = empty((batch_size, n_hidden), dtype)
        self.labels = empty(batch_size, np.int64)
        self.grads = {name: np.empty_like(p) for name, p in params.items()}

    def __call__(self, idx):
        be, p, g = self.backend, self.params, self.grads
        be.gather_scaled(self.x_u8, idx, self.X)
        np.take(self.y, idx, out=self.labels)
        be.dense_forward(self.X, p["W1"], p["b1"], self.activation, self.Z1, self.A1)
        be.dense_forward(self.A1, p["W2"], p["b2"], "identity", self.Z2, self.Z2)
        n_correct = int(np.count_nonzero(self.Z2.argmax(axis=1) == self.labels))
        loss = be.softmax_cross_entropy(self.Z2, self.labels, self.dZ2)
        be.two_layer_backward(self.X, self.Z1, self.A1, p["W2"], self.dZ2, self.activation,
                              self.dZ1, g["W1"], g["b1"], g["W2"], g["b2"])
        self.optimizer.update(p, g)
        return loss, n_correct


class ChunkedPredictor:
    """:meth:`Backend.pixel_predictor`'s default: ``chunk`` rows of ``x_u8`` scaled to floats
    and predicted at a time, reading the pixels afresh at every call."""

    def __init__(self, backend, x_u8, chunk=10_000):
        self.backend, self.x_u8, self.chunk = backend, x_u8, chunk

    def predict_labels(self, W1, b1, W2, b2, activation, out):
        x_u8, chunk = self.x_u8, self.chunk
        n = x_u8.shape[0]
        X = np.empty((min(chunk, n), x_u8.shape[1]), W1.dtype)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            rows = X[: stop - start]
            self.backend.gather_scaled(x_u8, np.arange(start, stop), rows)
            self.backend.predict_labels(rows, W1, b1, W2, b2, activation, out[start:stop])
        return out
