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

import contextlib
import threading

import numba
import numpy as np

from . import _numba_cache

_numba_cache.install()  # before the kernels are decorated: it decides where they are cached

from . import _checks as checks  # noqa: E402
from . import _numba_kernels as kernels  # noqa: E402
from . import _numba_step as step_kernels  # noqa: E402
from ._numba_kernels import RowConsts  # noqa: E402
from ._pixels import PixelData, prepare_pixels  # noqa: E402
from .interface import (  # noqa: E402
    DTYPES,
    LOG_EPSILON,
    Backend,
    ChunkedPredictor,
    NonFiniteInputError,
    pixel_table,
)

__all__ = ["NumbaBackend", "CSRPredictor", "PixelData", "prepare_pixels", "runtime_info"]

_ACT_CODES = {"relu": kernels.RELU, "sigmoid": kernels.SIGMOID, "identity": kernels.IDENTITY}


def runtime_info() -> dict:
    """Numba's version, thread counts, threading layer, how idle threads wait and the cache
    directory (for ``fastnn info``)."""
    from .._threads import pool_note, start_numba_pool
    from ._fused import DENSE_ROUTE_SHARE

    start_numba_pool()
    threads = int(numba.get_num_threads())
    try:
        layer = numba.threading_layer()
    except ValueError:  # pragma: no cover - the pool was not started
        layer = f"not initialised (configured: {numba.config.THREADING_LAYER})"
    return {
        "numba": numba.__version__,
        "max_threads": int(numba.config.NUMBA_NUM_THREADS),
        "threads": threads,
        "threading_layer": layer,
        "thread_wait": pool_note(),
        "thread_choice": ("train() uses all threads, or one while the machine is too busy for "
                          "two to help (measured per run; set threads= to fix it)"),
        "train_step_route": (f"sparse (the fused kernel) below {DENSE_ROUTE_SHARE:.0%} "
                             "non-zero pixels, else dense (the NumPy backend's BLAS step)"),
        "cache_dir": kernels.probe.stats.cache_path,
    }


def _act_code(activation):
    try:
        return _ACT_CODES[activation]
    except KeyError:
        raise ValueError(f"activation={activation!r} is not one of "
                         f"{', '.join(map(repr, _ACT_CODES))}") from None


def _consts(dtype, n):
    """:class:`RowConsts` as scalars of ``dtype`` (see ``_numba_kernels``)."""
    t = np.dtype(dtype).type
    return RowConsts(one=t(1.0), eps=t(LOG_EPSILON), n=t(n))


def _loss(total, dtype, n):
    """The reference's ``-np.sum(log terms) / n`` in ``dtype``, from the float64 sum."""
    t = np.dtype(dtype).type
    return float(-t(total) / t(n))


class _Launch:
    """What a parallel kernel call holds: nothing where Numba's threading layer is thread-safe
    (OpenMP, TBB), a lock where it is the ``workqueue`` layer, which aborts the process when two
    Python threads launch parallel work at once."""

    guard = contextlib.nullcontext()

    @classmethod
    def choose(cls):
        from .._threads import start_numba_pool

        start_numba_pool()  # the pool picks the layer as it starts
        if numba.threading_layer() == "workqueue":
            cls.guard = threading.Lock()



def _raise_if_bad(bad):
    if bad.any():
        raise NonFiniteInputError(f"X contains NaN or infinite values (first at row "
                                  f"{int(np.flatnonzero(bad)[0])})")


def _per_thread(width, dtype):
    """A fresh row per Numba thread: scratch is made per call, never shared between calls."""
    return np.empty((int(numba.config.NUMBA_NUM_THREADS), width), dtype)


class NumbaBackend(Backend):
    """The contract's kernels as ``@njit`` loops over both cores; see the module docstring.

    Holds no mutable state: every call gets its own scratch, so threads and networks can share
    it. Every array is checked before it reaches compiled code (``_checks``).
    """

    name = "numba"
    checks_inputs = True

    def __init__(self):
        out = np.zeros(2)
        kernels.probe(np.ones((3, 2)), out)  # compiles (or loads) a kernel using the intrinsics
        _Launch.choose()
        if out[0] != 3.0:
            raise RuntimeError(f"numba compile probe returned {out[0]!r}, expected 3.0")
        self._tables = {}
        for name in DTYPES:
            table = pixel_table(name)
            table.flags.writeable = False
            self._tables[np.dtype(name)] = table

    # -- the contract --

    def gather_scaled(self, x_u8, idx, out):
        x_u8 = checks.pixels(x_u8, "x_u8")
        idx = checks.indices(idx, "idx")
        checks.floats(out, "out", (idx.shape[0], x_u8.shape[1]), writable=True)
        with _Launch.guard:
            kernels.gather_scaled(x_u8, idx, self._tables[out.dtype], out)
        return out

    def dense_forward(self, X, W, b, activation, Z, A):
        n, d = checks.floats(X, "X", (None, None)).shape
        h = checks.floats(W, "W", (d, None)).shape[1]
        checks.floats(b, "b", (h,))
        checks.floats(Z, "Z", (n, h), writable=True)
        checks.floats(A, "A", (n, h), writable=True)
        checks.same_dtype(dict(X=X, W=W, b=b, Z=Z, A=A))
        dt = X.dtype
        with _Launch.guard:
            kernels.dense_forward(X, W, b, _act_code(activation), Z, A, _per_thread(d, np.int32),
                                  _per_thread(d, dt), dt.type(1))
        return A

    def softmax_cross_entropy(self, logits, labels, dlogits):
        n, c = checks.floats(logits, "logits", (None, None)).shape
        labels = checks.labels(labels, "labels", n)
        checks.floats(dlogits, "dlogits", (n, c), writable=True)
        checks.same_dtype(dict(logits=logits, dlogits=dlogits))
        dt = logits.dtype
        with _Launch.guard:
            total = kernels.softmax_cross_entropy(logits, labels, dlogits, _consts(dt, n),
                                                  np.empty(n, np.float64))
        return _loss(total, dt, n)

    def two_layer_backward(self, X, Z1, A1, W2, dZ2, activation, dZ1, dW1, db1, dW2, db2):
        n, d = checks.floats(X, "X", (None, None)).shape
        h, c = checks.floats(W2, "W2", (None, None)).shape
        for name, a, shape in (("Z1", Z1, (n, h)), ("A1", A1, (n, h)), ("dZ2", dZ2, (n, c))):
            checks.floats(a, name, shape)
        for name, a, shape in (("dZ1", dZ1, (n, h)), ("dW1", dW1, (d, h)), ("db1", db1, (h,)),
                               ("dW2", dW2, (h, c)), ("db2", db2, (c,))):
            checks.floats(a, name, shape, writable=True)
        checks.same_dtype(dict(X=X, Z1=Z1, A1=A1, W2=W2, dZ2=dZ2, dZ1=dZ1, dW1=dW1, db1=db1,
                               dW2=dW2, db2=db2))
        dt = X.dtype
        with _Launch.guard:
            kernels.two_layer_backward(
                X, Z1, A1, W2, dZ2, _act_code(activation), dZ1, dW1, db1, dW2, db2,
                np.empty((c, h), dt), np.empty((c, h), dt), np.empty(d, np.int32), np.empty(d, dt),
                kernels.chunk_rows(h * dt.itemsize, d), dt.type(1),
                np.zeros(kernels.N_CLAIMS, np.int64), numba.get_num_threads())

    def predict_labels(self, X, W1, b1, W2, b2, activation, out):
        n, d = self._check_input(X, W1, b1, W2, b2)
        self._check_labels_out(out, n)
        (h, c), dt = W2.shape, W1.dtype
        bad = np.empty(n, np.bool_)
        with _Launch.guard:
            kernels.predict_labels(X, W1, b1, W2, b2, _act_code(activation), out,
                                   _per_thread(d, np.int32), _per_thread(d, dt), _per_thread(h, dt),
                                   _per_thread(c, dt), dt.type(1), bad)
        _raise_if_bad(bad)
        return out

    def logits(self, X, W1, b1, W2, b2, activation, out):
        n, d = self._check_input(X, W1, b1, W2, b2)
        checks.floats(out, "out", (n, W2.shape[1]), writable=True)
        checks.same_dtype(dict(W1=W1, out=out))
        h, dt = W1.shape[1], W1.dtype
        bad = np.empty(n, np.bool_)
        with _Launch.guard:
            kernels.logits(X, W1, b1, W2, b2, _act_code(activation), out,
                           _per_thread(d, np.int32), _per_thread(d, dt), _per_thread(h, dt),
                           dt.type(1), bad)
        _raise_if_bad(bad)
        return out

    def loss_gradient(self, X, labels, W1, b1, W2, b2, activation, dW1, db1, dW2, db2):
        """The fused step's two phases on a float batch (its non-zeros listed on the fly),
        updating nothing; a non-finite W1 takes the reference route, where ``0 * inf`` counts."""
        n, d = self._check_input(X, W1, b1, W2, b2)
        labels = checks.labels(labels, "labels", n)
        (h, c), dt = W2.shape, W1.dtype
        for name, a, shape in (("dW1", dW1, (d, h)), ("db1", db1, (h,)), ("dW2", dW2, (h, c)),
                               ("db2", db2, (c,))):
            checks.floats(a, name, shape, writable=True)
        checks.same_dtype(dict(W1=W1, dW1=dW1, db1=db1, dW2=dW2, db2=db2))
        if labels.size and (labels.min() < 0 or labels.max() >= c):
            raise IndexError("label out of range")
        if not kernels.all_finite(W1):
            return super().loss_gradient(X, labels, W1, b1, W2, b2, activation, dW1, db1,
                                         dW2, db2)
        from ._fused import float_batch

        batch = float_batch(n, d, h, c, dt)
        data = batch.data._replace(y=labels)
        work = batch.work._replace(dW1_out=dW1)
        params = step_kernels.StepParams(W1, b1, W2, b2)
        with _Launch.guard:
            total, n_bad = step_kernels.float_gradient(
                X, data, params, batch.state, work, batch.consts, _act_code(activation),
                batch.chunk, batch.rows_buf, batch.vals_buf, numba.get_num_threads())
        if n_bad:
            _raise_if_bad(work.hits < 0)
        db1[:], dW2[:], db2[:] = work.db1, work.dW2, work.db2
        return _loss(total, dt, n)

    def _check_input(self, X, W1, b1, W2, b2):
        """X's and the network's shapes; X may be float32 for a float64 network (exact)."""
        n, d = checks.floats(X, "X", (None, None)).shape
        self._check_network(W1, b1, W2, b2, d)
        if X.dtype.itemsize > W1.dtype.itemsize:
            raise ValueError(f"X is {X.dtype} but the network is {W1.dtype}: convert X first")
        return n, d

    def predict_labels_u8(self, x_u8, W1, b1, W2, b2, activation, out, chunk=10_000):
        """Reads each sample's non-zero pixels (listed afresh) instead of a float copy."""
        x_u8 = checks.pixels(x_u8, "x_u8")
        return self.pixel_predictor(x_u8).predict_labels(W1, b1, W2, b2, activation, out)

    def pixel_predictor(self, x_u8):
        """A :class:`CSRPredictor` over a snapshot of ``x_u8``'s non-zero pixels."""
        return CSRPredictor(self, prepare_pixels(checks.pixels(x_u8, "x_u8")))

    def make_train_step(self, x_u8, y, params, activation, optimizer, batch_size,
                        adaptive_threads=False):
        """A :class:`~fastnn.backends._fused.FusedStep` for the optimizers it fuses (all of
        :mod:`fastnn.optimizers`), else the composed reference step.

        Parameters
        ----------
        x_u8 : ndarray of shape (n_samples, n_features), uint8
            The data set; a list of its non-zero pixels is made once, for this step only.
        y : ndarray of shape (n_samples,), int64
        params : dict of ndarray
            ``W1`` (n_features, h), ``b1`` (h,), ``W2`` (h, c), ``b2`` (c,); updated in place.
        activation : {"relu", "sigmoid"}
        optimizer : an optimizer of :mod:`fastnn.optimizers` (its state is the fused step's)
        batch_size : int
        adaptive_threads : bool, default False
            Let the step choose between one thread and all of them from its own timings.
        """
        from ._fused import FUSED_OPTIMIZERS, FusedStep

        if getattr(optimizer, "name", None) in FUSED_OPTIMIZERS:
            return FusedStep(self, x_u8, y, params, activation, optimizer, batch_size,
                             adaptive_threads)
        return super().make_train_step(x_u8, y, params, activation, optimizer, batch_size)

    @staticmethod
    def _check_network(W1, b1, W2, b2, n_features):
        h = checks.floats(W1, "W1", (n_features, None)).shape[1]
        checks.floats(b1, "b1", (h,))
        c = checks.floats(W2, "W2", (h, None)).shape[1]
        checks.floats(b2, "b2", (c,))
        checks.same_dtype(dict(W1=W1, b1=b1, W2=W2, b2=b2))

    @staticmethod
    def _check_labels_out(out, n):
        if not (isinstance(out, np.ndarray) and out.dtype == np.int64 and out.shape == (n,)
                and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out must be a writable int64 array of shape ({n},), got "
                             f"{getattr(out, 'dtype', type(out).__name__)} "
                             f"{getattr(out, 'shape', '')}")


class CSRPredictor:
    """``predict_labels(W1, b1, W2, b2, activation, out)`` of one prepared data set: each
    sample's non-zero pixels straight from its CSR lists, no float copy. ``train()`` makes one
    per evaluated set and run, so the lists are built once per run."""

    def __init__(self, backend, data):
        self.backend, self.data = backend, data

    def predict_labels(self, W1, b1, W2, b2, activation, out):
        be, data = self.backend, self.data
        be._check_network(W1, b1, W2, b2, data.n_features)
        be._check_labels_out(out, data.n_samples)
        if not np.isfinite(W1).all():  # 0 * inf must count: the reference route
            return ChunkedPredictor(be, self._dense_pixels()).predict_labels(
                W1, b1, W2, b2, activation, out)
        (h, c), dt = W2.shape, W1.dtype
        with _Launch.guard:
            step_kernels.predict_labels_csr(
                data.offsets, data.pixels, data.values, be._tables[dt], W1, b1, W2, b2,
                _act_code(activation), out, _per_thread(h, dt), _per_thread(c, dt), dt.type(1))
        return out

    def _dense_pixels(self):
        data = self.data
        x_u8 = np.zeros((data.n_samples, data.n_features), np.uint8)
        rows = np.repeat(np.arange(data.n_samples), np.diff(data.offsets))
        x_u8[rows, data.pixels] = data.values
        return x_u8
