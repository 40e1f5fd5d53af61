"""The fused train step and the predictions over a prepared data set (imported by
``numba_backend`` only; the conventions are those of ``_numba_kernels``).

One call of :func:`fused_step` does a whole iteration: gather the batch's non-zero pixels,
forward, softmax cross-entropy, backward, and the optimizer's update, reading only the non-zero
pixels of each sample and never writing the first layer's gradient anywhere but a cache-sized
chunk. Every optimizer of :mod:`fastnn.optimizers` is fused, each with the reference's rounding
order (no contractions, the same dtype promotions: NumPy computes float32 Adam's step in
float64, and so does this).

Threads claim work from atomic counters: blocks of samples in the first phase, then the
gradient tasks (chunks of W1's rows, updated as soon as their gradient is summed; the halves of
layer 2). Each task writes only its own outputs and sums samples in their order, so the bits
do not depend on the number of threads. Both phases run in one parallel region: a thread that
runs out of samples waits for the blocks others have claimed (every claimed block is being
worked on, so the wait ends however the threading layer schedules the region, one thread
included), then claims gradient tasks. One region instead of two halves the compile time that
parallel loops cost (each one is compiled, optimized and emitted three more times, with
everything it calls) and wakes the threads once per step. The work of each phase is a separate
function called from the minimal parallel loop: lowering a parallel loop compiles the loop's
body again, and a body of a few calls is cheap to compile twice.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import get_thread_id, njit, prange

from ._llvm_simd import fetch_add, gather_axpy, prefetch, scatter_axpy
from ._numba_kernels import (
    IDENTITY,
    SAMPLE_CLAIMS,
    SAMPLES_DONE,
    SAMPLES_PER_CLAIM,
    TASK_CLAIMS,
    _act_grad,
    _argmax,
    _bias_act,
    _check_index,
    _compress_nonzero,
    _layer2_grads,
    _prange_only,
    _softmax_ce_row,
)

#: Optimizer codes (the kernel's ``opt`` argument; one compiled kernel holds every rule: a
#: variant per optimizer, as Numba's literal dispatch makes, cost a whole compile each);
#: GRAD_ONLY updates nothing and leaves the first layer's gradient in ``work.dW1_out``
#: (``TwoLayerNet.gradient``).
SGD, MOMENTUM, ADAGRAD, RMSPROP, ADAM, GRAD_ONLY, NESTEROV = range(7)

# The fused step's arguments, named on both sides of the call (Numba compiles attribute access
# of a namedtuple to the same code as a slot index).
#: The data set as CSR lists of non-zero pixels: ``offsets`` (N + 1,), ``pixels`` (nnz,) int16 or
#: int32, ``values`` (nnz,) uint8, ``table`` (256,) the pixel scale, ``y`` (N,) int64 labels,
#: ``starts`` (N, n_chunks + 1) where each chunk of pixel rows begins in a sample's list.
StepData = namedtuple("StepData", "offsets pixels values table y starts")
#: The parameters, updated in place.
StepParams = namedtuple("StepParams", "W1 b1 W2 b2")
#: The optimizer's state per parameter, shaped like it: ``*_1`` the first (momentum's velocity,
#: AdaGrad's and RMSprop's ``h``, Adam's ``m``), ``*_2`` the second (Adam's ``v``); an array the
#: optimizer does not use is empty and never read.
OptState = namedtuple("OptState", "W1_1 W1_2 b1_1 b1_2 W2_1 W2_2 b2_1 b2_2")
#: Scratch of one step (``*p``: rows zero-padded to whole vectors): ``Z1`` (threads, h) a row per
#: thread, ``A1p`` ``dZ1p`` (n, hp), ``Z2`` ``dZ2`` (n, c), ``W2Tp`` ``dW2T`` (c, hp), ``bounds``
#: (n_chunks + 1, n) each sample's chunk starts, ``terms`` (n,) float64 log terms, ``hits`` (n,),
#: ``dW1p`` (d, hp), ``db1`` (h,), ``dW2`` (h, c), ``db2`` (c,), ``tasks`` (the gradient work items,
#: the costliest first: chunk numbers, and -1 / -2 for the halves of ``_layer2_grads``),
#: ``claims`` (the counters threads claim work from) and ``dW1_out`` (d, h) for GRAD_ONLY (empty
#: otherwise).
StepWork = namedtuple("StepWork", "Z1 A1p Z2 dZ2 dZ1p W2Tp dW2T bounds terms hits dW1p db1 dW2 "
                                  "db2 tasks claims dW1_out")
#: Scalars in the working dtype: 1, the log epsilon, the batch size as a divisor, the rate; the
#: optimizer's coefficients (momentum ``mu``; RMSprop's ``decay`` and ``1 - decay``; Adam's
#: ``1 - beta1``, ``1 - beta2``; the optimizers' ``1e-7``; Nesterov's ``mu * mu`` and
#: ``(1 + mu) * lr``; the weight decay ``wd``); Adam's bias-corrected rate ``lr_t`` is a float64
#: in every dtype, as NumPy computes it.
StepConsts = namedtuple("StepConsts", "one eps n lr mu decay one_minus_decay c1 c2 opt_eps lr_t "
                                      "mu_mu nesterov_step wd")


# --- the optimizers' rules, element by element ---------------------------------------------------

@njit(cache=True, error_model="numpy")  # IEEE division, no zero test: the loops vectorize
def _update(opt, p, g, s1, s2, c, wd, p0, g0, rows, cols, g_stride):
    """One optimizer step on ``rows`` spans of ``cols`` values of the 1-d ``p`` from ``p0`` on
    (in place; the state ``s1``/``s2`` is shaped like ``p``), with gradient spans ``g_stride``
    apart in ``g`` from ``g0`` on (scratch: the weight decay ``wd * p`` is added to it first,
    when ``wd`` is not 0), as ``fastnn.optimizers`` computes it term for term. A whole chunk of
    W1's rows is one call: a call per row cost more than the arithmetic. Not inlined: one copy
    of the rules serves every call site (each copy costs compile time, not speed)."""
    # Row slices indexed from 0 by the loop counter (an index computed from offsets could be
    # negative for all Numba knows, and its wraparound test kept the loops scalar: 5x slower),
    # and only the slices a rule uses (each costs reference counting).
    if wd != 0:
        for r in range(rows):
            pr, gr = p[p0 + r * cols:p0 + r * cols + cols], g[g0 + r * g_stride:]
            for j in range(cols):
                gr[j] = gr[j] + wd * pr[j]
    if opt == SGD:
        for r in range(rows):
            pr, gr = p[p0 + r * cols:p0 + r * cols + cols], g[g0 + r * g_stride:]
            for j in range(cols):
                pr[j] = pr[j] - c.lr * gr[j]
    elif opt == MOMENTUM:
        for r in range(rows):
            a = p0 + r * cols
            pr, gr, s1r = p[a:a + cols], g[g0 + r * g_stride:], s1[a:a + cols]
            for j in range(cols):
                v = c.mu * s1r[j] - c.lr * gr[j]
                s1r[j] = v
                pr[j] = pr[j] + v
    elif opt == NESTEROV:
        for r in range(rows):
            a = p0 + r * cols
            pr, gr, s1r = p[a:a + cols], g[g0 + r * g_stride:], s1[a:a + cols]
            for j in range(cols):
                pr[j] = pr[j] + c.mu_mu * s1r[j]
                pr[j] = pr[j] - c.nesterov_step * gr[j]
                v = s1r[j] * c.mu
                s1r[j] = v - c.lr * gr[j]
    elif opt == ADAGRAD:
        for r in range(rows):
            a = p0 + r * cols
            pr, gr, s1r = p[a:a + cols], g[g0 + r * g_stride:], s1[a:a + cols]
            for j in range(cols):
                gj = gr[j]
                h = s1r[j] + gj * gj
                s1r[j] = h
                pr[j] = pr[j] - c.lr * gj / (np.sqrt(h) + c.opt_eps)
    elif opt == RMSPROP:
        for r in range(rows):
            a = p0 + r * cols
            pr, gr, s1r = p[a:a + cols], g[g0 + r * g_stride:], s1[a:a + cols]
            for j in range(cols):
                gj = gr[j]
                h = s1r[j] * c.decay
                h = h + c.one_minus_decay * gj * gj
                s1r[j] = h
                pr[j] = pr[j] - c.lr * gj / (np.sqrt(h) + c.opt_eps)
    elif opt == ADAM:  # in float64 whatever the dtype (np.float64 * float32 is float64)
        for r in range(rows):
            a = p0 + r * cols
            pr, gr = p[a:a + cols], g[g0 + r * g_stride:]
            s1r, s2r = s1[a:a + cols], s2[a:a + cols]
            for j in range(cols):
                gj = gr[j]
                m = s1r[j] + c.c1 * (gj - s1r[j])
                v = s2r[j] + c.c2 * (gj * gj - s2r[j])
                s1r[j] = m
                s2r[j] = v
                pr[j] = (np.float64(pr[j])
                         - c.lr_t * np.float64(m) / np.float64(np.sqrt(v) + c.opt_eps))


@njit(cache=True, inline="always")
def _update_rows(opt, P, G, S1, S2, k0, k1, h, c):
    """:func:`_update` on rows ``k0 .. k1 - 1`` of ``P`` (their first ``h`` values of ``G``)."""
    hp = G.shape[1]
    _update(opt, P.reshape(-1), G.reshape(-1), S1.reshape(-1), S2.reshape(-1), c, c.wd,
            k0 * h, k0 * hp, k1 - k0, h, hp)


# --- the fused step ------------------------------------------------------------------------------

@njit(parallel=_prange_only(), cache=True)
def fused_step(data, params, state, work, idx, consts, act, opt, chunk, n_threads):
    """One iteration on the mini-batch ``idx``; returns ``(sum of log terms, n_correct)``.
    Exact only for a finite W1 (skipping zero pixels drops ``0 * inf = nan``): the caller checks.

    ``data`` (:class:`StepData`), ``params`` (:class:`StepParams`, updated in place; W1's rows
    are read as they are, the last vector of each masked), ``state`` (:class:`OptState`),
    ``work`` (:class:`StepWork`), ``consts`` (:class:`StepConsts`); ``opt`` an optimizer code;
    ``n_threads`` = ``numba.get_num_threads()`` (calling it in here would keep the kernel out of
    the cache).
    """
    W1, b1, W2, b2 = params.W1, params.b1, params.W2, params.b2
    N, n = data.offsets.shape[0] - 1, idx.shape[0]
    h = W1.shape[1]
    _check_index(idx, N, "idx out of range")
    for j in range(h):
        for c in range(W2.shape[1]):
            work.W2Tp[c, j] = W2[j, c]
    _reset_claims(work.claims)
    n_blocks = -(-n // SAMPLES_PER_CLAIM)
    for _ in prange(n_threads):
        # 1. per sample: forward, loss, dZ2, dZ1; and where its pixel chunks start (for 2.)
        _sample_worker(data, params, work, idx, consts, act)
        _wait_for(work.claims, SAMPLES_DONE, n_blocks)
        # 2. dW1 = X.T @ dZ1 by chunks of W1's rows, each updated at once, and layer 2's grads
        _gradient_worker(data, params, state, work, consts, opt, chunk)
    no_decay = consts.wd - consts.wd  # the biases are not decayed
    _update(opt, b1, work.db1, state.b1_1, state.b1_2, consts, no_decay, 0, 0, 1, h, h)
    _update(opt, W2.reshape(-1), work.dW2.reshape(-1), state.W2_1.reshape(-1),
            state.W2_2.reshape(-1), consts, consts.wd, 0, 0, 1, W2.size, W2.size)
    _update(opt, b2, work.db2, state.b2_1, state.b2_2, consts, no_decay, 0, 0, 1, b2.shape[0],
            b2.shape[0])
    total, n_correct = 0.0, 0
    for i in range(n):
        total += work.terms[i]
        n_correct += work.hits[i]
    return total, n_correct


@njit(cache=True, inline="always")
def _reset_claims(claims):
    claims[SAMPLE_CLAIMS] = 0
    claims[TASK_CLAIMS] = 0
    claims[SAMPLES_DONE] = 0


@njit(cache=True, nogil=True)
def _wait_for(claims, slot, count):
    """Spin until ``claims[slot]`` reaches ``count``. The atomic read orders this thread's
    later reads after the writes other threads made before counting (sequentially
    consistent)."""
    while fetch_add(claims, slot, 0) < count:
        pass


@njit(cache=True, inline="always")
def _sample(i, start, stop, label, data, params, work, consts, act, z1):
    """Batch entry ``i``, whose pixels are ``data.pixels[start:stop]``: forward, loss term, hit,
    ``dZ2`` and ``dZ1`` (``z1`` holds its hidden pre-activations meanwhile)."""
    W1, b1, W2, b2 = params.W1, params.b1, params.W2, params.b2
    A1p, Z2, dZ2, dZ1p, one = work.A1p, work.Z2, work.dZ2, work.dZ1p, consts.one
    h = W1.shape[1]
    gather_axpy(z1, W1, data.pixels, data.values, data.table, start, stop, False)
    _bias_act(z1, b1, act, A1p[i], one)
    gather_axpy(Z2[i], W2, None, A1p[i], None, 0, h, False)
    _bias_act(Z2[i], b2, IDENTITY, Z2[i], one)
    work.terms[i], work.hits[i] = _softmax_ce_row(Z2[i], label, consts, dZ2[i])
    gather_axpy(dZ1p[i], work.W2Tp, None, dZ2[i], None, 0, work.W2Tp.shape[0], False)
    _act_grad(dZ1p[i], z1, A1p[i], act, one, h)


@njit(cache=True, nogil=True)
def _sample_worker(data, params, work, idx, consts, act):
    """One thread's share of the first phase: it claims blocks of samples and does their
    forward pass, loss, ``dZ2`` and ``dZ1``, and notes where their pixel chunks start."""
    offsets, starts, bounds, claims = data.offsets, data.starts, work.bounds, work.claims
    N, n = offsets.shape[0] - 1, idx.shape[0]
    n_blocks = -(-n // SAMPLES_PER_CLAIM)
    z1 = work.Z1[get_thread_id()]  # a row per thread: Z1 is not needed after its sample
    block = fetch_add(claims, SAMPLE_CLAIMS, 1)
    while block < n_blocks:
        for i in range(block * SAMPLES_PER_CLAIM, min(n, (block + 1) * SAMPLES_PER_CLAIM)):
            _prefetch_sample(data, idx, i + 2, i + 4)
            s = idx[i] + N if idx[i] < 0 else idx[i]
            _sample(i, offsets[s], offsets[s + 1], data.y[s], data, params, work, consts, act,
                    z1)
            for c in range(bounds.shape[0]):
                bounds[c, i] = offsets[s] + starts[s, c]
        fetch_add(claims, SAMPLES_DONE, 1)
        block = fetch_add(claims, SAMPLE_CLAIMS, 1)


@njit(cache=True, nogil=True)
def _gradient_worker(data, params, state, work, consts, opt, chunk):
    """One thread's share of the second phase: it claims gradient tasks (chunks of W1's rows,
    updated once their gradient is summed; the halves of layer 2) until none is left."""
    tasks, claims, h = work.tasks, work.claims, params.W1.shape[1]
    q = fetch_add(claims, TASK_CLAIMS, 1)
    while q < tasks.shape[0]:
        if tasks[q] < 0:
            _layer2_grads(tasks[q], work.A1p, work.dZ2, work.dZ1p[:, :h], work.dW2T, work.dW2,
                          work.db2, work.db1)
        else:
            k0 = tasks[q] * chunk
            k1 = min(params.W1.shape[0], k0 + chunk)
            _dW1_chunk(k0, k1, tasks[q], data, work)
            if opt == GRAD_ONLY:
                for k in range(k0, k1):
                    for j in range(h):
                        work.dW1_out[k, j] = work.dW1p[k, j]
            else:
                _update_rows(opt, params.W1, work.dW1p, state.W1_1, state.W1_2, k0, k1, h,
                             consts)
        q = fetch_add(claims, TASK_CLAIMS, 1)


@njit(cache=True, inline="always")
def _prefetch_sample(data, idx, i_lists, i_offsets):
    """Prefetch the pixel lists of batch entry ``i_lists`` and the offsets, label and chunk
    starts of ``i_offsets``: a new batch's samples are scattered over the data set, and without
    this each sample waited for two dependent trips to memory."""
    offsets, pixels, values = data.offsets, data.pixels, data.values
    N, n = offsets.shape[0] - 1, idx.shape[0]
    if i_offsets < n:
        s = idx[i_offsets] % N
        prefetch(offsets, s)
        prefetch(data.y, s)
        prefetch(data.starts[s], 0)
    if i_lists < n:
        s = idx[i_lists] % N
        for p in range(offsets[s], offsets[s + 1], 32):
            prefetch(pixels, p)
        for p in range(offsets[s], offsets[s + 1], 64):
            prefetch(values, p)


@njit(cache=True, inline="always")
def _dW1_chunk(k0, k1, ch, data, work):
    """Rows ``k0 .. k1 - 1`` (chunk ``ch``) of ``dW1 = X.T @ dZ1``, samples added in order. The
    chunk's rows of dW1p stay in cache while the batch streams past; dW1p and dZ1p are padded
    to whole vectors so the scatter needs no masked stores (a masked store cannot forward to
    the next load of its row, which made this twice as slow)."""
    dW1p, dZ1p, bounds = work.dW1p, work.dZ1p, work.bounds
    for k in range(k0, k1):
        for j in range(dW1p.shape[1]):
            dW1p[k, j] = 0
    for i in range(dZ1p.shape[0]):
        if bounds[ch + 1, i] > bounds[ch, i]:
            scatter_axpy(dW1p, data.pixels, data.values, data.table, bounds[ch, i],
                         bounds[ch + 1, i], dZ1p[i])


# --- the gradient of float inputs (TwoLayerNet.gradient) -----------------------------------------

@njit(parallel=_prange_only(), cache=True)
def float_gradient(X, data, params, state, work, consts, act, chunk, rows_buf, vals_buf,
                   n_threads):
    """Loss terms and gradients of the float batch ``X`` (n, d): the fused step's two phases
    with GRAD_ONLY, each sample's non-zeros first listed into ``data`` (``pixels`` and
    ``values`` of n * d slots, ``y`` the labels; ``offsets`` and ``starts`` unused; ``state``
    an empty :class:`OptState`; ``rows_buf`` (threads, d) int32 and ``vals_buf`` scratch).
    Returns
    ``(sum of log terms, rows of X holding NaN or infinities)``; exact only for a finite W1."""
    h = params.W1.shape[1]
    for j in range(h):
        for c in range(params.W2.shape[1]):
            work.W2Tp[c, j] = params.W2[j, c]
    _reset_claims(work.claims)
    n_blocks = -(-X.shape[0] // SAMPLES_PER_CLAIM)
    for _ in prange(n_threads):
        _float_sample_worker(X, data, params, work, consts, act, chunk, rows_buf, vals_buf)
        _wait_for(work.claims, SAMPLES_DONE, n_blocks)
        _gradient_worker(data, params, state, work, consts, GRAD_ONLY, chunk)
    total, bad = 0.0, 0
    for i in range(X.shape[0]):
        total += work.terms[i]
        bad += work.hits[i] < 0
    return total, bad


@njit(cache=True, nogil=True)
def _float_sample_worker(X, data, params, work, consts, act, chunk, rows_buf, vals_buf):
    """The first phase for float inputs: list the sample's non-zeros (in the parameters'
    dtype; a float32 value converts exactly), note its chunk starts, then as
    :func:`_sample_worker`. A row holding NaN or an infinity is marked by ``hits[i] = -1``.

    The branch-free listing writes a slot for every pixel; it writes them to this thread's
    int32 scratch row, which stays in L1, and only the non-zeros are copied to the sample's
    slots of ``data``. Listing straight into ``data`` (n * d slots, megabytes, int16) took
    twice as long."""
    n, d = X.shape
    n_blocks = -(-n // SAMPLES_PER_CLAIM)
    t = get_thread_id()
    z1, rows, vals = work.Z1[t], rows_buf[t], vals_buf[t]
    pixels, values, bounds = data.pixels, data.values, work.bounds
    block = fetch_add(work.claims, SAMPLE_CLAIMS, 1)
    while block < n_blocks:
        for i in range(block * SAMPLES_PER_CLAIM, min(n, (block + 1) * SAMPLES_PER_CLAIM)):
            start = i * d
            count, finite = _compress_nonzero(X[i], rows, vals)
            stop = start + count
            ch = 0
            for q in range(count):
                k = rows[q]
                while ch * chunk <= k:
                    bounds[ch, i] = start + q
                    ch += 1
                pixels[start + q] = k
                values[start + q] = vals[q]
            while ch < bounds.shape[0]:
                bounds[ch, i] = stop
                ch += 1
            _sample(i, start, stop, data.y[i], data, params, work, consts, act, z1)
            if not finite:
                work.hits[i] = -1
        fetch_add(work.claims, SAMPLES_DONE, 1)
        block = fetch_add(work.claims, SAMPLE_CLAIMS, 1)


# --- predictions over a prepared data set --------------------------------------------------------

@njit(parallel=_prange_only(), cache=True)
def predict_labels_csr(offsets, pixels, values, table, W1, b1, W2, b2, act, out, hidden_buf,
                       logits_buf, one):
    """``out[i] = argmax(act(x_i @ W1 + b1) @ W2 + b2)`` for a data set held as CSR lists of its
    non-zero pixels, scaled by ``table``: no float copy of the pixels is made. Exact only for a
    finite W1 (the caller checks). ``hidden_buf`` and ``logits_buf`` hold a row per thread."""
    h = b1.shape[0]
    for i in prange(out.shape[0]):
        t = get_thread_id()
        z1, z2 = hidden_buf[t], logits_buf[t]
        gather_axpy(z1, W1, pixels, values, table, offsets[i], offsets[i + 1], False)
        _bias_act(z1, b1, act, z1, one)
        gather_axpy(z2, W2, None, z1, None, 0, h, False)
        _bias_act(z2, b2, IDENTITY, z2, one)
        out[i] = _argmax(z2)
