"""The Numba backend's compiled kernels (imported only by ``numba_backend``).

Conventions. Every kernel is ``@njit(cache=True)``, works for float32 and float64 alike, and
writes into buffers it is given. The activation is an int code (``RELU``, ``SIGMOID``,
``IDENTITY``) rather than a function, so that each kernel has one specialisation per dtype and
the on-disk cache can hold it. Scalars that must stay in the working dtype (``one``, the log
epsilon, ``n`` as a divisor, the learning rate) arrive as a tuple ``consts`` of that dtype,
because a Python float literal would promote float32 arithmetic to float64 here (NumPy treats
it as "weak" and does not).

Determinism. ``prange`` loops only split work whose outputs belong to one iteration (a sample's
rows, a weight row, a chunk of pixel rows); every sum runs in a fixed order that does not
depend on the number of threads. No fast-math flags.

Zeros. Exact zeros of the input are skipped in the first layer (forward and ``dW1``): the
fused step reads a per-sample list of non-zero pixels (CSR) built once per data set, and the
contract kernels compress each row on the fly. Skipping ``0 * w`` is exact as long as ``w`` is
finite, so the contract kernels check that first and fall back to the dense loop otherwise.
"""

from __future__ import annotations

import numpy as np
from numba import get_thread_id, njit, prange

from ._llvm_simd import gather_axpy, scatter_axpy

RELU, SIGMOID, IDENTITY = 0, 1, 2
#: Bytes of weight rows one ``dW1`` chunk may touch, so that they stay in L1 while the batch
#: streams past (half of a 32 KiB L1 data cache).
CHUNK_BYTES = 16384


def chunk_rows(n_hidden, itemsize, n_features):
    """Pixel rows per ``dW1`` chunk: ``CHUNK_BYTES`` worth of weight rows, at least 4."""
    return int(min(n_features, max(4, CHUNK_BYTES // max(1, n_hidden * itemsize))))


# --- data set preparation ---------------------------------------------------------------------

@njit(parallel=True, cache=True)
def count_nonzero_rows(x_u8, counts):
    """``counts[i] = number of non-zero pixels of sample i``."""
    for i in prange(x_u8.shape[0]):
        c = 0
        for k in range(x_u8.shape[1]):
            c += x_u8[i, k] != 0
        counts[i] = c


@njit(parallel=True, cache=True)
def fill_csr(x_u8, offsets, pixels, values):
    """Write each sample's non-zero pixel indices (ascending) and values at ``offsets[i]``."""
    for i in prange(x_u8.shape[0]):
        p = offsets[i]
        for k in range(x_u8.shape[1]):
            v = x_u8[i, k]
            if v != 0:
                pixels[p] = k
                values[p] = v
                p += 1


# --- row helpers shared by the kernels and the fused step --------------------------------------

@njit(cache=True)
def _bias_act(Z_row, b, act, A_row, one):
    """``Z_row += b`` then ``A_row[:] = act(Z_row)`` (A_row may be Z_row)."""
    for j in range(Z_row.shape[0]):
        z = Z_row[j] + b[j]
        Z_row[j] = z
        if act == RELU:
            A_row[j] = z if (z > 0 or z != z) else 0  # np.maximum(0, z): +0 for -0, NaN kept
        elif act == SIGMOID:
            A_row[j] = one / (one + np.exp(-z))
        else:
            A_row[j] = z


@njit(cache=True)
def _act_grad(dZ_row, Z_row, A_row, act, one):
    """``dZ_row *= act'(Z)``: relu counts ``z == 0`` as active; sigmoid uses ``(1 - a) * a``."""
    for j in range(dZ_row.shape[0]):
        if act == RELU:
            dZ_row[j] = dZ_row[j] * (one if Z_row[j] >= 0 else 0)
        else:
            a = A_row[j]
            dZ_row[j] = dZ_row[j] * ((one - a) * a)


@njit(cache=True)
def _argmax(z):
    """First index of the maximum, or of the first NaN (as ``np.argmax``)."""
    best = 0
    if np.isnan(z[0]):
        return 0
    for k in range(1, z.shape[0]):
        if z[k] > z[best]:
            best = k
        elif np.isnan(z[k]):
            return k
    return best


@njit(cache=True)
def _softmax_ce_row(z, label, consts, d_row):
    """``d_row = (softmax(z) - onehot) / n``; returns ``log(p_label + eps)`` and the hit flag."""
    one, eps, n_f = consts[0], consts[1], consts[2]
    m = z[0]
    for k in range(1, z.shape[0]):
        if z[k] > m:
            m = z[k]
    s = one - one
    for k in range(z.shape[0]):
        e = np.exp(z[k] - m)
        d_row[k] = e
        s += e
    for k in range(z.shape[0]):
        d_row[k] = d_row[k] / s
    term = np.log(d_row[label] + eps)
    d_row[label] -= one
    for k in range(z.shape[0]):
        d_row[k] = d_row[k] / n_f
    return term, _argmax(z) == label


@njit(cache=True)
def _compress(x_row, k0, k1, rows, vals):
    """Branch-free: indices and values of the non-zeros of ``x_row[k0:k1]``; returns the count."""
    c = 0
    for k in range(k0, k1):
        x = x_row[k]
        rows[c] = k
        vals[c] = x
        c += x != 0
    return c


@njit(cache=True)
def _all_finite(a):
    """True if no element of the 2-d array ``a`` is inf or NaN."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if not np.isfinite(a[i, j]):
                return False
    return True


@njit(cache=True)
def _sgd(p, g, lr):
    """``p -= lr * g`` with the reference's two roundings (no contraction without fastmath)."""
    pf, gf = p.reshape(-1), g.reshape(-1)
    for j in range(pf.shape[0]):
        pf[j] = pf[j] - lr * gf[j]


# --- contract kernels ---------------------------------------------------------------------------

@njit(parallel=True, cache=True)
def gather_scaled(x_u8, idx, table, out):
    """``out[i] = table[x_u8[idx[i]]]`` (the table is ``v / 255`` in out's dtype)."""
    for i in prange(idx.shape[0]):
        s = idx[i]
        for k in range(x_u8.shape[1]):
            out[i, k] = table[x_u8[s, k]]


@njit(parallel=True, cache=True)
def dense_forward(X, W, b, act, Z, A, rows_buf, vals_buf, one):
    """``Z = X @ W + b; A = act(Z)``, skipping zeros of X when W is finite."""
    n, d = X.shape
    skip = _all_finite(W)
    for i in prange(n):
        if skip:
            t = get_thread_id()
            c = _compress(X[i], 0, d, rows_buf[t], vals_buf[t])
            gather_axpy(Z[i], W, rows_buf[t], vals_buf[t], None, 0, c, False)
        else:
            gather_axpy(Z[i], W, None, X[i], None, 0, d, False)
        _bias_act(Z[i], b, act, A[i], one)


@njit(parallel=True, cache=True)
def softmax_cross_entropy(logits, labels, dlogits, consts, terms):
    """Rows of ``dlogits`` in parallel; returns ``sum_i log(p_i + eps)`` summed in float64."""
    n = logits.shape[0]
    for i in prange(n):
        terms[i] = _softmax_ce_row(logits[i], labels[i], consts, dlogits[i])[0]
    total = 0.0
    for i in range(n):
        total += terms[i]
    return total


@njit(parallel=True, cache=True)
def two_layer_backward(X, Z1, A1, W2, dZ2, act, dZ1, dW1, db1, dW2, db2, W2T, rows_buf,
                       vals_buf, chunk, one):
    """The reference's backward pass; ``dW1 = X.T @ dZ1`` skips zeros of X if dZ1 is finite."""
    n, d = X.shape
    W2T[:, :] = W2.T
    _small_grads(A1, dZ2, dZ1, dW2, db2, db1, False)
    for i in prange(n):
        gather_axpy(dZ1[i], W2T, None, dZ2[i], None, 0, W2T.shape[0], False)
        _act_grad(dZ1[i], Z1[i], A1[i], act, one)
    _row_sums(dZ1, db1)
    skip = _all_finite(dZ1)
    for ch in prange((d + chunk - 1) // chunk):
        k0, k1 = ch * chunk, min(d, ch * chunk + chunk)
        dW1[k0:k1] = 0
        for i in range(n):
            if skip:  # rows/vals_buf[k0:k1] belong to this chunk alone
                c = _compress(X[i], k0, k1, rows_buf[k0:k1], vals_buf[k0:k1])
                scatter_axpy(dW1, rows_buf[k0:k1], vals_buf[k0:k1], None, 0, c, dZ1[i])
            else:
                scatter_axpy(dW1[k0:k1], None, X[i, k0:k1], None, 0, k1 - k0, dZ1[i])


@njit(parallel=True, cache=True)
def _small_grads(A1, dZ2, dZ1, dW2, db2, db1, with_db1):
    """``dW2 = A1.T @ dZ2`` (rows in parallel), ``db2 = sum(dZ2)``, optionally ``db1``."""
    n = A1.shape[0]
    for j in prange(A1.shape[1]):
        gather_axpy(dW2[j], dZ2, None, A1[:, j], None, 0, n, False)
    _row_sums(dZ2, db2)
    if with_db1:
        _row_sums(dZ1, db1)


@njit(cache=True)
def _row_sums(M, out):
    """``out = M.sum(axis=0)``, adding rows in order."""
    out[:] = 0
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            out[j] += M[i, j]


@njit(parallel=True, cache=True)
def predict_labels(X, W1, b1, W2, b2, act, out, rows_buf, vals_buf, hidden_buf, logits_buf,
                   one):
    """``out[i] = argmax(act(X[i] @ W1 + b1) @ W2 + b2)``; zeros of X skipped if W1 is finite."""
    n, d = X.shape
    skip = _all_finite(W1)
    for i in prange(n):
        t = get_thread_id()
        z1, z2 = hidden_buf[t], logits_buf[t]
        if skip:
            c = _compress(X[i], 0, d, rows_buf[t], vals_buf[t])
            gather_axpy(z1, W1, rows_buf[t], vals_buf[t], None, 0, c, False)
        else:
            gather_axpy(z1, W1, None, X[i], None, 0, d, False)
        _bias_act(z1, b1, act, z1, one)
        gather_axpy(z2, W2, None, z1, None, 0, z1.shape[0], False)
        _bias_act(z2, b2, IDENTITY, z2, one)
        out[i] = _argmax(z2)
