"""The Numba backend: the kernel contract as compiled loops, plus a fused SGD train step.

The registry imports this module the first time the ``"numba"`` backend is asked for, so
``import fastnn`` never imports numba. Constructing :class:`NumbaBackend` runs a tiny compile
probe; any failure there makes the registry report the backend as unavailable, with the reason.

The compiled code lives in ``_numba_kernels`` (the loops) and ``_llvm_simd`` (intrinsics that
keep a row of accumulators in vector registers). Everything here is bookkeeping: choosing
buffers, tables and dtype-correct constants, and the per-data-set list of non-zero pixels.
Where the fused step's time goes is in ``bench/REPORT.md`` and the notes of the commits that
shaped it: per non-zero pixel of the batch, one gather of a W1 row (forward, bound by the L2
cache) and one scatter into a dW1 row (bound by stores).
"""

from __future__ import annotations

import weakref

import numba
import numpy as np

from . import _numba_cache

_numba_cache.install()  # before the kernels are decorated: it decides where they are cached

from . import _numba_kernels as kernels  # noqa: E402
from ._numba_kernels import StepConsts, StepData, StepParams, StepWork  # noqa: E402
from .interface import LOG_EPSILON, PARAM_NAMES, Backend, pixel_table  # noqa: E402

__all__ = ["NumbaBackend", "FusedSGDStep", "runtime_info"]

_ACT_CODES = {"relu": kernels.RELU, "sigmoid": kernels.SIGMOID, "identity": kernels.IDENTITY}


def runtime_info() -> dict:
    """Numba's version, thread counts, threading layer and cache directory (for ``fastnn info``)."""
    threads = int(numba.get_num_threads())  # also starts the thread pool if need be
    try:
        layer = numba.threading_layer()
    except ValueError:  # pragma: no cover - the pool was not started
        layer = f"not initialised (configured: {numba.config.THREADING_LAYER})"
    return {
        "numba": numba.__version__,
        "max_threads": int(numba.config.NUMBA_NUM_THREADS),
        "threads": threads,
        "threading_layer": layer,
        "cache_dir": kernels.probe.stats.cache_path,
    }


def _act_code(activation):
    try:
        return _ACT_CODES[activation]
    except KeyError:
        raise ValueError(f"activation={activation!r} is not one of "
                         f"{', '.join(map(repr, _ACT_CODES))}") from None


def _consts(dtype, n, lr=0.0):
    """:class:`StepConsts` as scalars of ``dtype`` (see ``_numba_kernels``)."""
    t = np.dtype(dtype).type
    return StepConsts(one=t(1.0), eps=t(LOG_EPSILON), n=t(n), lr=t(lr))


def _loss(total, dtype, n):
    """The reference's ``-np.sum(log terms) / n`` in ``dtype``, from the float64 sum."""
    t = np.dtype(dtype).type
    return float(-t(total) / t(n))


class NumbaBackend(Backend):
    """The contract's kernels as ``@njit`` loops over both cores; see the module docstring."""

    name = "numba"

    def __init__(self):
        self._buffers = {}
        self._csr = {}
        out = np.zeros(2)
        kernels.probe(np.ones((3, 2)), out)  # compiles (or loads) a kernel using the intrinsics
        if out[0] != 3.0:
            raise RuntimeError(f"numba compile probe returned {out[0]!r}, expected 3.0")

    # -- buffers owned by the backend, reused between calls (never returned to callers) --

    def _buf(self, name, shape, dtype):
        key = (name, shape, np.dtype(dtype).str)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = np.empty(shape, dtype)
        return buf

    def _per_thread(self, name, width, dtype):
        return self._buf(name, (int(numba.config.NUMBA_NUM_THREADS), width), dtype)

    def _table(self, dtype):
        table = self._buf("table", (256,), dtype)
        table[:] = pixel_table(dtype)
        return table

    # -- the contract --

    def gather_scaled(self, x_u8, idx, out):
        kernels.gather_scaled(x_u8, idx, self._table(out.dtype), out)
        return out

    def dense_forward(self, X, W, b, activation, Z, A):
        d, dt = X.shape[1], X.dtype
        kernels.dense_forward(X, W, b, _act_code(activation), Z, A,
                        self._per_thread("rows", d, np.int32), self._per_thread("vals", d, dt),
                        dt.type(1))
        return A

    def softmax_cross_entropy(self, logits, labels, dlogits):
        n, dt = logits.shape[0], logits.dtype
        total = kernels.softmax_cross_entropy(logits, labels, dlogits, _consts(dt, n),
                                        self._buf("terms", (n,), np.float64))
        return _loss(total, dt, n)

    def two_layer_backward(self, X, Z1, A1, W2, dZ2, activation, dZ1, dW1, db1, dW2, db2):
        d, (h, c), dt = X.shape[1], W2.shape, X.dtype
        kernels.two_layer_backward(
            X, Z1, A1, W2, dZ2, _act_code(activation), dZ1, dW1, db1, dW2, db2,
            self._buf("W2T", (c, h), dt), self._buf("dW2T", (c, h), dt),
            self._buf("rows1", (d,), np.int32), self._buf("vals1", (d,), dt),
            kernels.chunk_rows(h * dt.itemsize, d), dt.type(1),
            self._buf("claims", (kernels.N_CLAIMS,), np.int64), numba.get_num_threads())

    def predict_labels(self, X, W1, b1, W2, b2, activation, out):
        (d, h), c, dt = W1.shape, W2.shape[1], X.dtype
        kernels.predict_labels(X, W1, b1, W2, b2, _act_code(activation), out,
                         self._per_thread("rows", d, np.int32), self._per_thread("vals", d, dt),
                         self._per_thread("hidden", h, dt), self._per_thread("logits", c, dt),
                         dt.type(1))
        return out

    def predict_labels_u8(self, x_u8, W1, b1, W2, b2, activation, out, chunk=10_000):
        """Reads the cached non-zero pixel lists of ``x_u8`` (as the fused step does) instead of
        a float copy; a non-finite W1 takes the reference route, where ``0 * inf`` counts."""
        if not np.isfinite(W1).all():
            return super().predict_labels_u8(x_u8, W1, b1, W2, b2, activation, out, chunk)
        (d, h), c, dt = W1.shape, W2.shape[1], W1.dtype
        # the fused step's chunk, so that both share one cache entry
        step_chunk = kernels.chunk_rows(_padded(h, dt) * dt.itemsize, d)
        offsets, pixels, values, _ = self._nonzero_pixels(x_u8, step_chunk)
        kernels.predict_labels_csr(offsets, pixels, values, self._table(dt), W1, b1, W2, b2,
                             _act_code(activation), out, self._per_thread("hidden", h, dt),
                             self._per_thread("logits", c, dt), dt.type(1))
        return out

    def make_train_step(self, x_u8, y, params, activation, optimizer, batch_size):
        """A :class:`FusedSGDStep` for plain SGD, else the composed reference step.

        Parameters
        ----------
        x_u8 : ndarray of shape (n_samples, n_features), uint8
            The data set; a list of its non-zero pixels is built once and cached.
        y : ndarray of shape (n_samples,), int64
        params : dict of ndarray
            ``W1`` (n_features, h), ``b1`` (h,), ``W2`` (h, c), ``b2`` (c,); updated in place.
        activation : {"relu", "sigmoid"}
        optimizer : object with ``name`` and ``lr``; fused when ``name == "sgd"``.
        batch_size : int
        """
        if getattr(optimizer, "name", None) == "sgd":
            return FusedSGDStep(self, x_u8, y, params, activation, optimizer, batch_size)
        return super().make_train_step(x_u8, y, params, activation, optimizer, batch_size)

    def _nonzero_pixels(self, x_u8, chunk):
        """Each sample's non-zero pixels as CSR ``(offsets, pixels, values)``, plus ``starts``
        (where each chunk of ``chunk`` pixel rows begins in a sample's list); cached by identity.
        """
        self._csr = {k: v for k, v in self._csr.items() if v[0]() is not None}
        entry = self._csr.get(id(x_u8))
        if entry is None or entry[0]() is not x_u8:
            n, d = x_u8.shape
            counts = np.empty(n, np.int64)
            kernels.count_nonzero_rows(x_u8, counts)
            offsets = np.zeros(n + 1, np.int64)
            np.cumsum(counts, out=offsets[1:])
            small = d < np.iinfo(np.int16).max
            pixels = np.empty(offsets[-1], np.int16 if small else np.int32)
            values = np.empty(offsets[-1], np.uint8)
            kernels.fill_csr(x_u8, offsets, pixels, values)
            entry = self._csr[id(x_u8)] = (weakref.ref(x_u8), (offsets, pixels, values), {})
        csr, by_chunk = entry[1], entry[2]
        if chunk not in by_chunk:
            offsets, pixels, _ = csr
            n, d = x_u8.shape
            starts = np.empty((n, -(-d // chunk) + 1), pixels.dtype)
            kernels.chunk_starts(offsets, pixels, chunk, starts)
            by_chunk[chunk] = starts
        return csr + (by_chunk[chunk],)


def _padded(n_hidden, dtype):
    """``n_hidden`` rounded up to whole vectors of ``dtype`` (rows padded with zeros)."""
    lanes = kernels.LANE_BYTES // np.dtype(dtype).itemsize
    return -(-n_hidden // lanes) * lanes


def _aligned_zeros(shape, dtype, align=64):
    """Zeros whose first element sits on an ``align``-byte boundary (a cache line)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    raw = np.zeros(size + align // dtype.itemsize, dtype)
    start = (-raw.ctypes.data % align) // dtype.itemsize
    return raw[start:start + size].reshape(shape)


class FusedSGDStep:
    """``step(idx) -> (loss, n_correct)``: gather, forward, loss, backward and ``p -= lr * g`` in
    one compiled call, reading only the non-zero pixels of each sample.

    ``idx`` : integer array of length ``batch_size`` with row numbers of ``x_u8``. The caller's
    ``params`` arrays are updated in place; ``x_u8``, ``y`` and ``idx`` are only read. The
    results are the same bits for any number of threads. ``optimizer.lr`` is read at each call.
    """

    def __init__(self, backend, x_u8, y, params, activation, optimizer, batch_size):
        W1 = params["W1"]
        dt = W1.dtype
        (d, h), c = W1.shape, params["W2"].shape[1]
        for name in PARAM_NAMES:
            p = params[name]
            if p.dtype != dt or p.dtype.kind != "f" or not p.flags.c_contiguous:
                raise ValueError(f"params[{name!r}] must be C-contiguous {dt}, got "
                                 f"{p.dtype} with flags {p.flags}")
        if x_u8.dtype != np.uint8 or x_u8.ndim != 2 or x_u8.shape[1] != d:
            raise ValueError(f"x_u8 must be uint8 of shape (n, {d}), got {x_u8.dtype} "
                             f"{x_u8.shape}")
        y = np.array(y, dtype=np.int64)  # a private, writable copy: one compiled type
        if y.shape != (x_u8.shape[0],) or (y.size and (y.min() < 0 or y.max() >= c)):
            raise ValueError(f"y must hold {x_u8.shape[0]} labels in 0..{c - 1}")
        self.params, self.optimizer, self.batch_size = params, optimizer, int(batch_size)
        self.act = _act_code(activation)
        hp = _padded(h, dt)
        self.chunk = kernels.chunk_rows(hp * dt.itemsize, d)
        offsets, pixels, values, starts = backend._nonzero_pixels(x_u8, self.chunk)
        self.data = StepData(offsets=offsets, pixels=pixels, values=values,
                             table=backend._table(dt).copy(), y=y, starts=starts)
        n = self.batch_size
        tasks = np.empty(starts.shape[1] + 1, np.int64)
        kernels.gradient_tasks(starts, c, tasks)
        threads = int(numba.config.NUMBA_NUM_THREADS)
        self.work = StepWork(
            Z1=_aligned_zeros((threads, h), dt), A1p=_aligned_zeros((n, hp), dt),
            Z2=np.empty((n, c), dt), dZ2=np.empty((n, c), dt), dZ1p=_aligned_zeros((n, hp), dt),
            W2Tp=_aligned_zeros((c, hp), dt), dW2T=_aligned_zeros((c, hp), dt),
            bounds=np.empty((starts.shape[1], n), np.int64), terms=np.empty(n, np.float64),
            hits=np.empty(n, np.int64), dW1p=_aligned_zeros((d, hp), dt),
            db1=np.empty(h, dt), dW2=np.empty((h, c), dt), db2=np.empty(c, dt), tasks=tasks,
            claims=_aligned_zeros(kernels.N_CLAIMS, np.int64))
        self.idx = np.empty(self.batch_size, np.int64)
        self.dtype = dt

    def __call__(self, idx):
        idx = np.asarray(idx)
        if idx.shape != (self.batch_size,) or idx.dtype.kind not in "iu":
            raise ValueError(f"idx must be {self.batch_size} integers, got {idx.dtype} "
                             f"of shape {idx.shape}")
        self.idx[:] = idx  # our own int64 buffer: any idx dtype or flags, one compiled type
        params = StepParams(**{name: self.params[name] for name in PARAM_NAMES})
        consts = _consts(self.dtype, self.batch_size, self.optimizer.lr)
        total, n_correct = kernels.fused_sgd_step(self.data, params, self.work, self.idx, consts,
                                            self.act, self.chunk, numba.get_num_threads())
        return _loss(total, self.dtype, self.batch_size), int(n_correct)
