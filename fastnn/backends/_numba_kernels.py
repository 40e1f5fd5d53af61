"""The Numba backend's compiled kernels (imported only by ``numba_backend``).

Conventions. Every kernel is ``@njit(cache=True)``, works for float32 and float64 alike, and
writes into buffers it is given. The activation is an int code (``RELU``, ``SIGMOID``,
``IDENTITY``) rather than a function, so that each kernel has one specialisation per dtype and
the on-disk cache can hold it. Scalars that must stay in the working dtype (``one``, the log
epsilon, ``n`` as a divisor, the learning rate) arrive as a namedtuple of that dtype,
because a Python float literal would promote float32 arithmetic to float64 here (NumPy treats
it as "weak" and does not). Small helpers are ``inline="always"``: compiled separately, each
would cost its own LLVM module, and compile time is what this backend has to watch.

Determinism. ``prange`` loops only split work whose outputs belong to one iteration (a sample's
rows, a chunk of W1's rows, a set of classes); every sum runs in a fixed order that does not
depend on the number of threads. The gradients go one further: threads claim their work
items (chunks of W1's rows, halves of layer 2; in the fused step also blocks of samples) one at
a time from an atomic counter, so which thread runs an item changes from call to call, but
never what the item computes. No fast-math flags.

Zeros. Exact zeros of the input are skipped in the first layer (forward and ``dW1``): the
fused step (``_numba_step``) reads a per-sample list of non-zero pixels (CSR) built once per
run, and the contract kernels compress each row on the fly. Skipping ``0 * w`` is exact as
long as ``w`` is finite, so the kernels check that first and keep the zeros otherwise.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import get_thread_id, njit, prange

from ._llvm_simd import fetch_add, gather_axpy, scatter_axpy

RELU, SIGMOID, IDENTITY = 0, 1, 2

#: Scalars of the softmax cross-entropy in the working dtype: 1, the log epsilon, the batch size
#: as a divisor (the fused step's ``StepConsts`` has these fields too).
RowConsts = namedtuple("RowConsts", "one eps n")

#: Bytes of W1 / dW1 rows one chunk may span. Not the L1 cache's 32 KB: the scatter into dW1 is
#: bound by its stores wherever the rows sit, while each chunk walks every sample of the batch,
#: so fewer, larger chunks were faster at the seed's shape (the report measures the step); two
#: per thread still leave room to balance.
CHUNK_BYTES = 98304
#: Bytes per vector in ``_llvm_simd``; the fused step pads its own rows to a multiple of this.
LANE_BYTES = 64
#: Samples a thread of the fused step claims at a time: few enough that a thread the machine
#: slows down leaves its share to the others (on a shared 2-core VM, one core often runs 20 %
#: slower than the other), many enough that claiming costs nothing.
SAMPLES_PER_CLAIM = 16
#: Slots of the fused step's ``claims`` counters, one cache line apart: blocks of samples
#: claimed, gradient tasks claimed, blocks of samples finished.
SAMPLE_CLAIMS, TASK_CLAIMS, SAMPLES_DONE, N_CLAIMS = 0, 8, 16, 24


def _prange_only():
    """``parallel=`` options: only ``prange`` loops run in parallel. Numba's other rewrites
    (array expressions and slice assignments into parfors, fusion) only add compile time here."""
    return dict(comprehension=False, reduction=False, inplace_binop=False, setitem=False,
                numpy=False, stencil=False, fusion=False, prange=True)


def chunk_rows(row_bytes, n_features):
    """Pixel rows per chunk of W1 / dW1: at most ``CHUNK_BYTES`` of rows (while at least 4 rows)
    and an even number of chunks, so that two cores get the same share."""
    n_chunks = 2
    while n_chunks * CHUNK_BYTES < n_features * row_bytes and n_chunks < n_features // 4:
        n_chunks += 2
    return max(1, -(-n_features // n_chunks))


@njit(cache=True)
def probe(X, out):
    """Run when the backend is constructed: ``out = ones @ X`` through the intrinsic."""
    gather_axpy(out, X, None, np.ones(X.shape[0]), None, 0, X.shape[0], False)


# --- row helpers ----------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _bias_act(Z_row, b, act, A_row, one):
    """``Z_row[:h] += b`` then ``A_row[:h] = act(Z_row[:h])`` (A_row may be Z_row)."""
    h = b.shape[0]
    for j in range(h):
        Z_row[j] = Z_row[j] + b[j]
    if act == RELU:
        for j in range(h):  # np.maximum(0, z): NaN passes, -0 becomes 0
            z = Z_row[j]
            A_row[j] = 0 if z <= 0 else z
    elif act == SIGMOID:
        for j in range(h):
            A_row[j] = one / (one + np.exp(-Z_row[j]))
    else:
        for j in range(h):
            A_row[j] = Z_row[j]


@njit(cache=True, inline="always")
def _act_grad(dZ_row, Z_row, A_row, act, one, h):
    """``dZ_row[:h] *= act'``: relu counts ``z == 0`` as active; sigmoid is ``(1 - a) * a``."""
    if act == RELU:
        for j in range(h):
            dZ_row[j] = dZ_row[j] * (one if Z_row[j] >= 0 else 0)
    else:
        for j in range(h):
            a = A_row[j]
            dZ_row[j] = dZ_row[j] * ((one - a) * a)


@njit(cache=True, inline="always")
def _argmax(z):
    """First index of the maximum, or of the first NaN (as ``np.argmax``)."""
    if np.isnan(z[0]):
        return 0
    best = 0
    for k in range(1, z.shape[0]):
        if z[k] > z[best]:
            best = k
        elif np.isnan(z[k]):
            return k
    return best


@njit(cache=True, inline="always")
def _softmax_ce_row(z, label, consts, d_row):
    """``d_row = (softmax(z) - onehot) / n``; returns ``log(p_label + eps)`` and the hit flag."""
    one, eps, n_f = consts.one, consts.eps, consts.n
    m = z[0]
    for k in range(1, z.shape[0]):
        m = z[k] if z[k] > m else m
    s = one - one
    for k in range(z.shape[0]):
        d_row[k] = np.exp(z[k] - m)
        s += d_row[k]
    for k in range(z.shape[0]):
        d_row[k] = d_row[k] / s
    term = np.log(d_row[label] + eps)
    d_row[label] -= one
    for k in range(z.shape[0]):
        d_row[k] = d_row[k] / n_f
    return term, _argmax(z) == label


@njit(cache=True, inline="always")
def _compress(x_row, k0, k1, rows, vals, keep_zeros):
    """Branch-free: indices and values of the non-zeros of ``x_row[k0:k1]`` (of all of them if
    ``keep_zeros``) into ``rows``/``vals`` (whose dtype ``x_row``'s values convert to);
    returns the count."""
    c = 0
    for k in range(k0, k1):
        rows[c] = k
        vals[c] = x_row[k]
        c += (x_row[k] != 0) | keep_zeros
    return c


@njit(cache=True, inline="always")
def _compress_nonzero(x_row, rows, vals):
    """The non-zeros of the float row ``x_row`` (indices ascending, values converted to
    ``vals``' dtype) into ``rows``/``vals``; returns ``(count, finite)``.

    Branch-free: every pixel is written to the next free slot, which moves on only for a
    non-zero. Skipping blocks of zeros after a test was slower on MNIST rows (the test's branch
    is unpredictable at the edges of the digit); NaN and infinities are looked for in a second,
    vectorized pass."""
    c = 0
    for q in range(x_row.shape[0]):
        x = x_row[q]
        rows[c] = q
        vals[c] = x
        c += x != 0
    return c, _row_finite(x_row)


@njit(cache=True, inline="always")
def _row_finite(x_row):
    """No NaN or infinity in ``x_row`` (vectorisable, as :func:`_all_finite`)."""
    bad = 0
    for k in range(x_row.shape[0]):
        t = x_row[k] - x_row[k]
        bad |= t != t
    return bad == 0


@njit(cache=True, inline="always")
def _all_finite(a):
    """No NaN or infinity in the C-contiguous ``a``: ``x - x`` is NaN exactly for those, and an
    integer OR (unlike a float sum or an early return) lets LLVM vectorise the scan."""
    flat = a.reshape(-1)
    bad = 0
    for j in range(flat.shape[0]):
        t = flat[j] - flat[j]
        bad |= t != t
    return bad == 0


@njit(cache=True)
def all_finite(a):
    """:func:`_all_finite` for Python callers (a few microseconds for a 784 x 50 W1)."""
    return _all_finite(a)


@njit(cache=True, inline="always")
def _check_index(idx, size, what):
    """Raise IndexError unless ``-size <= idx[i] < size`` (negative ones count from the end)."""
    for i in range(idx.shape[0]):
        if idx[i] < -size or idx[i] >= size:
            raise IndexError(what)


@njit(cache=True, inline="always")
def _layer2_grads(part, A1, dZ2, dZ1, dW2T, dW2, db2, db1):
    """Half ``part`` (-1 or -2) of ``dW2 = A1.T @ dZ2`` plus ``db2`` (-1) or ``db1`` (-2).

    ``dW2T[c] = sum_i dZ2[i, c] * A1[i, :]`` keeps a whole row of accumulators per class; ten
    per hidden unit would wait on each other's latency. Samples are added in order.
    """
    n, h, n_classes = A1.shape[0], dW2.shape[0], dZ2.shape[1]
    half = n_classes // 2
    lo, hi = (0, half) if part == -1 else (half, n_classes)
    for c in range(lo, hi):
        gather_axpy(dW2T[c], A1, None, dZ2[:, c], None, 0, n, False)
        for j in range(h):
            dW2[j, c] = dW2T[c, j]
    M, out = (dZ2, db2) if part == -1 else (dZ1, db1)
    for j in range(out.shape[0]):
        out[j] = 0
    for i in range(n):
        for j in range(out.shape[0]):
            out[j] += M[i, j]


# --- contract kernels -----------------------------------------------------------------------------

@njit(parallel=_prange_only(), cache=True)
def gather_scaled(x_u8, idx, table, out):
    """``out[i] = table[x_u8[idx[i]]]`` (the table is ``v / 255`` in out's dtype)."""
    N = x_u8.shape[0]
    _check_index(idx, N, "idx out of range")
    for i in prange(idx.shape[0]):
        s = idx[i] + N if idx[i] < 0 else idx[i]
        for k in range(x_u8.shape[1]):
            out[i, k] = table[x_u8[s, k]]


@njit(parallel=_prange_only(), cache=True)
def dense_forward(X, W, b, act, Z, A, rows_buf, vals_buf, one):
    """``Z = X @ W + b; A = act(Z)``, skipping zeros of X when W is finite."""
    n, d = X.shape
    keep_zeros = not _all_finite(W)
    for i in prange(n):
        t = get_thread_id()
        c = _compress(X[i], 0, d, rows_buf[t], vals_buf[t], keep_zeros)
        gather_axpy(Z[i], W, rows_buf[t], vals_buf[t], None, 0, c, False)
        _bias_act(Z[i], b, act, A[i], one)


@njit(parallel=_prange_only(), cache=True)
def softmax_cross_entropy(logits, labels, dlogits, consts, terms):
    """Rows of ``dlogits`` in parallel; returns ``sum_i log(p_i + eps)`` summed in float64."""
    n = logits.shape[0]
    for i in range(n):
        if labels[i] < 0 or labels[i] >= logits.shape[1]:
            raise IndexError("label out of range")
    for i in prange(n):
        terms[i] = _softmax_ce_row(logits[i], labels[i], consts, dlogits[i])[0]
    total = 0.0
    for i in range(n):
        total += terms[i]
    return total


@njit(parallel=_prange_only(), cache=True)
def two_layer_backward(X, Z1, A1, W2, dZ2, act, dZ1, dW1, db1, dW2, db2, W2T, dW2T, rows_buf,
                       vals_buf, chunk, one, claims, n_threads):
    """The reference's backward pass; ``dW1 = X.T @ dZ1`` skips zeros of X if dZ1 is finite.
    The gradient's work items are claimed as in the fused step: the two halves of
    ``_layer2_grads`` first, then W1's chunks of rows in order."""
    (n, d), h = X.shape, W2.shape[0]
    for j in range(h):
        for c in range(W2.shape[1]):
            W2T[c, j] = W2[j, c]
    for i in prange(n):
        gather_axpy(dZ1[i], W2T, None, dZ2[i], None, 0, W2T.shape[0], False)
        _act_grad(dZ1[i], Z1[i], A1[i], act, one, h)
    keep_zeros = not _all_finite(dZ1)
    n_tasks = (d + chunk - 1) // chunk + 2
    claims[TASK_CLAIMS] = 0
    for _ in prange(n_threads):
        q = fetch_add(claims, TASK_CLAIMS, 1)
        while q < n_tasks:
            ch = q - 2 if q >= 2 else -1 - q
            if ch < 0:
                _layer2_grads(ch, A1, dZ2, dZ1, dW2T, dW2, db2, db1)
            else:
                k0, k1 = ch * chunk, min(d, ch * chunk + chunk)
                dW1[k0:k1] = 0
                rows, vals = rows_buf[k0:k1], vals_buf[k0:k1]  # this chunk's own scratch
                for i in range(n):
                    c = _compress(X[i], k0, k1, rows, vals, keep_zeros)
                    scatter_axpy(dW1, rows, vals, None, 0, c, dZ1[i])
            q = fetch_add(claims, TASK_CLAIMS, 1)


@njit(parallel=_prange_only(), cache=True)
def predict_labels(X, W1, b1, W2, b2, act, out, rows_buf, vals_buf, hidden_buf, logits_buf,
                   one, bad):
    """``out[i] = argmax(act(X[i] @ W1 + b1) @ W2 + b2)``; zeros of X skipped if W1 is finite.
    ``hidden_buf`` and ``logits_buf`` hold a row per thread; ``bad[i]`` is set when row ``i``
    of X holds NaN or an infinity (X's dtype may be narrower than W1's)."""
    n, d = X.shape
    keep_zeros = not _all_finite(W1)
    for i in prange(n):
        t = get_thread_id()
        z2 = logits_buf[t]
        bad[i] = _hidden_logits(X[i], W1, b1, W2, b2, act, rows_buf[t], vals_buf[t],
                                hidden_buf[t], z2, one, keep_zeros)
        out[i] = _argmax(z2)


@njit(parallel=_prange_only(), cache=True)
def logits(X, W1, b1, W2, b2, act, out, rows_buf, vals_buf, hidden_buf, one, bad):
    """``out[i] = act(X[i] @ W1 + b1) @ W2 + b2``, as :func:`predict_labels` computes them."""
    n, d = X.shape
    keep_zeros = not _all_finite(W1)
    for i in prange(n):
        t = get_thread_id()
        bad[i] = _hidden_logits(X[i], W1, b1, W2, b2, act, rows_buf[t], vals_buf[t],
                                hidden_buf[t], out[i], one, keep_zeros)


@njit(cache=True, inline="always")
def _hidden_logits(x_row, W1, b1, W2, b2, act, rows, vals, z1, z2, one, keep_zeros):
    """The logits of one sample into ``z2``; returns whether ``x_row`` is not all finite."""
    if keep_zeros:
        c = _compress(x_row, 0, x_row.shape[0], rows, vals, True)
        finite = _row_finite(x_row)
    else:
        c, finite = _compress_nonzero(x_row, rows, vals)
    gather_axpy(z1, W1, rows, vals, None, 0, c, False)
    _bias_act(z1, b1, act, z1, one)
    gather_axpy(z2, W2, None, z1, None, 0, b1.shape[0], False)
    _bias_act(z2, b2, IDENTITY, z2, one)
    return not finite
