"""FusedStep: the Numba backend's train step, one compiled call per iteration for every
optimizer (the kernel is ``_numba_step.fused_step``; this is its bookkeeping).
"""

from __future__ import annotations

import threading
import time
from collections import namedtuple

import numba
import numpy as np

from . import _checks as checks
from . import _numba_kernels as kernels
from . import _numba_step as step_kernels
from ._adaptive import ThreadChooser
from ._numba_step import OptState, StepConsts, StepData, StepParams, StepWork
from ._pixels import chunk_starts, gradient_tasks, prepare_pixels
from .interface import LOG_EPSILON, PARAM_NAMES, ComposedTrainStep

__all__ = ["FusedStep", "FUSED_OPTIMIZERS", "FloatBatch", "float_batch", "DENSE_ROUTE_SHARE"]

#: From this share of non-zero pixels on, the step takes the dense route: the reference step on
#: the NumPy backend, whose BLAS products beat reading the pixels one by one once a sample has
#: more non-zeros than about two in five (MNIST has 19 %, Fashion-MNIST 50 %; the measured
#: crossover is in bench/REPORT.md's density rows).
DENSE_ROUTE_SHARE = 0.4

#: optimizer name -> the kernel's code.
FUSED_OPTIMIZERS = {"sgd": step_kernels.SGD, "momentum": step_kernels.MOMENTUM,
                    "nesterov": step_kernels.NESTEROV, "adagrad": step_kernels.ADAGRAD,
                    "rmsprop": step_kernels.RMSPROP, "adam": step_kernels.ADAM}


def padded(n_hidden, dtype):
    """``n_hidden`` rounded up to whole vectors of ``dtype`` (rows padded with zeros)."""
    lanes = kernels.LANE_BYTES // np.dtype(dtype).itemsize
    return -(-n_hidden // lanes) * lanes


def aligned_zeros(shape, dtype, align=64):
    """Zeros whose first element sits on an ``align``-byte boundary (a cache line)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    raw = np.zeros(size + align // dtype.itemsize, dtype)
    start = (-raw.ctypes.data % align) // dtype.itemsize
    return raw[start:start + size].reshape(shape)


class FusedStep:
    """``step(idx) -> (loss, n_correct)``: gather, forward, loss, backward and the optimizer's
    update in one compiled call, reading only the non-zero pixels of each sample.

    ``idx``: integer array of length ``batch_size`` with row numbers of ``x_u8``. The caller's
    ``params`` arrays are updated in place, and so is the optimizer's state (its own arrays, as
    its ``update()`` would make them), so that a step it takes itself continues from here;
    ``x_u8``, ``y`` and ``idx`` are only read. ``optimizer.lr`` is read at each call. The
    results are the same bits for any number of threads, so with ``adaptive_threads`` the
    step picks, from its own timings, one thread or all of them (a busy machine makes two
    threads slower than one; :class:`ThreadChooser`). When W1 holds an infinity or a NaN, the
    step takes the reference route (:class:`ComposedTrainStep`), where ``0 * inf`` counts.
    """

    def __init__(self, backend, x_u8, y, params, activation, optimizer, batch_size,
                 adaptive_threads=False):
        from .numba_backend import NumbaBackend, _act_code

        W1 = params["W1"]
        d = checks.floats(W1, "params['W1']", (None, None)).shape[0]
        NumbaBackend._check_network(*(params[name] for name in PARAM_NAMES), d)
        for name in PARAM_NAMES:
            if not params[name].flags.writeable:
                raise ValueError(f"params[{name!r}] is updated in place and must be writable")
        (d, h), c, dt = W1.shape, params["W2"].shape[1], W1.dtype
        x_u8 = checks.pixels(x_u8, "x_u8", d)
        y = np.array(checks.labels(y, "y", x_u8.shape[0]))  # a private copy: one compiled type
        if y.size and (y.min() < 0 or y.max() >= c):
            raise ValueError(f"y must hold {x_u8.shape[0]} labels in 0..{c - 1}")
        self.backend, self.x_u8, self.y = backend, x_u8, y
        self.params, self.optimizer, self.batch_size = params, optimizer, int(batch_size)
        self.activation, self.act = activation, _act_code(activation)
        self.opt = FUSED_OPTIMIZERS[optimizer.name]
        self.idx = np.empty(self.batch_size, np.int64)
        self.dtype = dt
        self._reference = None
        self._params = self._opt_state = self._consts_key = self._consts_value = None
        self.threads = ThreadChooser(numba.get_num_threads()) if adaptive_threads else None
        self.route = ("dense" if np.count_nonzero(x_u8) >= DENSE_ROUTE_SHARE * max(x_u8.size, 1)
                      else "sparse")
        if self.route == "dense":
            from . import get

            self._reference = ComposedTrainStep(get("numpy"), x_u8, y, params, activation,
                                                optimizer, batch_size)
            return
        hp = padded(h, dt)
        self.chunk = kernels.chunk_rows(hp * dt.itemsize, d)
        pixels = prepare_pixels(x_u8)
        starts = chunk_starts(pixels, self.chunk)
        self.data = StepData(offsets=pixels.offsets, pixels=pixels.pixels, values=pixels.values,
                             table=backend._tables[dt], y=y, starts=starts)
        n = self.batch_size
        threads = int(numba.config.NUMBA_NUM_THREADS)
        self.work = StepWork(
            Z1=aligned_zeros((threads, h), dt), A1p=aligned_zeros((n, hp), dt),
            Z2=np.empty((n, c), dt), dZ2=np.empty((n, c), dt), dZ1p=aligned_zeros((n, hp), dt),
            W2Tp=aligned_zeros((c, hp), dt), dW2T=aligned_zeros((c, hp), dt),
            bounds=np.empty((starts.shape[1], n), np.int64), terms=np.empty(n, np.float64),
            hits=np.empty(n, np.int64), dW1p=aligned_zeros((d, hp), dt),
            db1=np.empty(h, dt), dW2=np.empty((h, c), dt), db2=np.empty(c, dt),
            tasks=gradient_tasks(starts, c), claims=aligned_zeros(kernels.N_CLAIMS, np.int64),
            dW1_out=np.empty((0, h), dt))

    def _step_params(self):
        """The caller's parameter arrays as :class:`StepParams` (rebuilt when one of them is
        another array than last time)."""
        from .numba_backend import NumbaBackend

        arrays = tuple(self.params[name] for name in PARAM_NAMES)
        if self._params is None or any(a is not b for a, b in zip(arrays, self._params)):
            # a replaced array gets the checks the first ones had: the kernel trusts shapes
            NumbaBackend._check_network(*arrays, self.x_u8.shape[1])
            if arrays[0].dtype != self.dtype or not all(a.flags.writeable for a in arrays):
                raise ValueError(f"params must stay writable {self.dtype} arrays")
            self._params = StepParams(*arrays)
        return self._params

    def _state(self):
        """The optimizer's own state arrays (made now if need be) as an :class:`OptState`,
        rebuilt only when the optimizer holds other arrays than last time."""
        first, second = self.optimizer.state(self.params)
        arrays = tuple((d or {}).get(name) for d in (first, second) for name in PARAM_NAMES)
        cached = self._opt_state
        if cached is None or any(a is not b for a, b in zip(arrays, cached[0])):
            empty = {name: np.empty((0,) * p.ndim, self.dtype)
                     for name, p in self.params.items()}
            first, second = first or empty, second or empty
            state = OptState(**{f"{name}_1": first[name] for name in PARAM_NAMES},
                             **{f"{name}_2": second[name] for name in PARAM_NAMES})
            self._opt_state = cached = (arrays, state)
        return cached[1]

    def _consts(self):
        """:class:`StepConsts` of this call: rebuilt when a rate or coefficient has changed
        since the last call (``lr`` may change between calls), Adam's ``lr_t`` at every call."""
        o = self.optimizer
        key = (o.lr, o.weight_decay, getattr(o, "momentum", 0.0), getattr(o, "decay_rate", 0.0),
               getattr(o, "beta1", 0.0), getattr(o, "beta2", 0.0), getattr(o, "eps", 0.0))
        if self._consts_key != key:
            self._consts_key, self._consts_value = key, self._make_consts()
        if self.opt == step_kernels.ADAM:
            return self._consts_value._replace(lr_t=np.float64(o.next_lr()))
        return self._consts_value

    def _make_consts(self):
        t, o = self.dtype.type, self.optimizer
        decay, mu = getattr(o, "decay_rate", 0.0), getattr(o, "momentum", 0.0)
        # each coefficient rounded as NumPy rounds the Python float it multiplies by
        return StepConsts(
            one=t(1.0), eps=t(LOG_EPSILON), n=t(self.batch_size), lr=t(o.lr), mu=t(mu),
            decay=t(decay), one_minus_decay=t(1 - decay),
            c1=t(1 - getattr(o, "beta1", 0.0)), c2=t(1 - getattr(o, "beta2", 0.0)),
            opt_eps=t(getattr(o, "eps", 0.0)), lr_t=np.float64(0.0),
            mu_mu=t(mu * mu), nesterov_step=t((1 + mu) * o.lr), wd=t(o.weight_decay))

    def __call__(self, idx):
        from .numba_backend import _Launch, _loss

        idx = np.asarray(idx)
        if idx.shape != (self.batch_size,) or idx.dtype.kind not in "iu":
            raise ValueError(f"idx must be {self.batch_size} integers, got {idx.dtype} "
                             f"of shape {idx.shape}")
        self.idx[:] = idx  # our own int64 buffer: any idx dtype or flags, one compiled type
        if self.route == "dense":
            if self.idx.size and (self.idx.min() < 0 or self.idx.max() >= self.x_u8.shape[0]):
                raise IndexError(f"idx out of range: rows 0..{self.x_u8.shape[0] - 1} of x_u8")
            return self._reference(self.idx)
        if not kernels.all_finite(self.params["W1"]):  # 0 * inf must count: the reference
            return self._reference_step()(self.idx)
        params = self._step_params()
        state, consts = self._state(), self._consts()
        chooser = self.threads
        before = numba.get_num_threads()
        n_threads = before if chooser is None else min(chooser.threads(), before)
        start = time.perf_counter()
        try:
            if n_threads != before:
                numba.set_num_threads(n_threads)  # this thread's setting only
            with _Launch.guard:
                total, n_correct = step_kernels.fused_step(
                    self.data, params, state, self.work, self.idx, consts, self.act,
                    self.opt, self.chunk, n_threads)
        finally:
            if n_threads != before:
                numba.set_num_threads(before)
        if chooser is not None:
            chooser.record(n_threads, time.perf_counter() - start)
        return _loss(total, self.dtype, self.batch_size), int(n_correct)

    def _reference_step(self):
        if self._reference is None:
            self._reference = ComposedTrainStep(self.backend, self.x_u8, self.y, self.params,
                                                self.activation, self.optimizer,
                                                self.batch_size)
        return self._reference


class FloatBatch(namedtuple("FloatBatch", "data state work consts chunk rows_buf vals_buf")):
    """Scratch for ``float_gradient`` (one per shape and thread, reused); ``rows_buf`` and
    ``vals_buf`` (threads, d) hold a row per Numba thread."""

    __slots__ = ()


_scratch = threading.local()


def float_batch(n, d, h, c, dtype):
    """The calling thread's :class:`FloatBatch` for these sizes: reused from call to call (a
    fresh one would page-fault its way through megabytes each time), never shared between
    threads."""
    key = (n, d, h, c, np.dtype(dtype).str)
    cache = getattr(_scratch, "batches", None)
    if cache is None:
        cache = _scratch.batches = {}
    if key not in cache:
        if len(cache) > 8:
            cache.clear()
        cache[key] = _make_float_batch(n, d, h, c, np.dtype(dtype))
    return cache[key]


def _make_float_batch(n, d, h, c, dt):
    hp = padded(h, dt)
    chunk = kernels.chunk_rows(hp * dt.itemsize, d)
    n_chunks = -(-d // chunk)
    data = StepData(offsets=np.zeros(1, np.int64),
                    pixels=np.empty(n * d, np.int16 if d <= np.iinfo(np.int16).max else np.int32),
                    values=np.empty(n * d, dt), table=None, y=np.zeros(n, np.int64),
                    starts=np.zeros((0, 0), np.int16))
    threads = int(numba.config.NUMBA_NUM_THREADS)
    work = StepWork(
        Z1=aligned_zeros((threads, h), dt), A1p=aligned_zeros((n, hp), dt),
        Z2=np.empty((n, c), dt), dZ2=np.empty((n, c), dt), dZ1p=aligned_zeros((n, hp), dt),
        W2Tp=aligned_zeros((c, hp), dt), dW2T=aligned_zeros((c, hp), dt),
        bounds=np.empty((n_chunks + 1, n), np.int64), terms=np.empty(n, np.float64),
        hits=np.empty(n, np.int64), dW1p=aligned_zeros((d, hp), dt),
        db1=np.empty(h, dt), dW2=np.empty((h, c), dt), db2=np.empty(c, dt),
        # the layer-2 halves first, then W1's chunks in order, as the composed step claims them
        tasks=np.concatenate(([-1, -2], np.arange(n_chunks))).astype(np.int64),
        claims=aligned_zeros(kernels.N_CLAIMS, np.int64), dW1_out=np.empty((d, h), dt))
    empty = {name: np.empty((0,) * (2 if name.startswith("W") else 1), dt)
             for name in PARAM_NAMES}
    state = OptState(**{f"{name}_{k}": empty[name] for name in PARAM_NAMES for k in (1, 2)})
    t = dt.type
    consts = StepConsts(one=t(1.0), eps=t(LOG_EPSILON), n=t(n), lr=t(0), mu=t(0), decay=t(0),
                        one_minus_decay=t(0), c1=t(0), c2=t(0), opt_eps=t(0),
                        lr_t=np.float64(0.0), mu_mu=t(0), nesterov_step=t(0), wd=t(0))
    return FloatBatch(data, state, work, consts, chunk, np.empty((threads, d), np.int32),
                      np.empty((threads, d), dt))
