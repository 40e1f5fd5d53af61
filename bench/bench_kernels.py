"""Each kernel of the contract, on every backend, at batch 1/64/512/4096 x hidden 50/256/1024.

Groups are ``kernel|n=..,h=..|dtype`` so the backends sit side by side. Inputs are real MNIST
rows (the Numba backend's speed depends on the ~81 % zero pixels) and random weights; every
benchmark checks its output against the NumPy reference computed once per shape. Kernels whose
work does not depend on the hidden size (``gather_scaled``, ``softmax_cross_entropy``) are run at
each batch size only.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pytest

from fastnn import backends

pytestmark = pytest.mark.benchmark(warmup=True, warmup_iterations=3)

BATCHES = (1, 64, 512, 4096)
HIDDENS = (50, 256, 1024)
DTYPES = ("float64", "float32")

#: (n, h, dtype, backend), ordered so that consecutive cases share their cached inputs.
CASES = [(n, h, dt, be) for dt in DTYPES for n in BATCHES for h in HIDDENS
         for be in backends.NAMES]
BATCH_CASES = [(n, dt, be) for dt in DTYPES for n in BATCHES for be in backends.NAMES]


def _case_id(case):
    return "-".join(str(v) for v in case)


@functools.lru_cache(maxsize=2)
def _inputs(n, h, dtype):
    """Inputs of every kernel at this shape, and the NumPy reference's outputs."""
    from fastnn.datasets.mnist import load_arrays
    x_u8, y = load_arrays()[:2]
    ref = backends.get("numpy")
    rs = np.random.RandomState(1000 * n + h)
    idx = rs.choice(x_u8.shape[0], n).astype(np.int64)
    c = SimpleNamespace(x_u8=x_u8, idx=idx, labels=y[idx].astype(np.int64))
    c.X = ref.gather_scaled(x_u8, idx, np.empty((n, 784), dtype))
    c.W1 = (0.01 * rs.randn(784, h)).astype(dtype)
    c.b1 = (0.01 * rs.randn(h)).astype(dtype)
    c.W2 = (0.1 * rs.randn(h, 10)).astype(dtype)
    c.b2 = (0.1 * rs.randn(10)).astype(dtype)
    c.Z1, c.A1 = np.empty((n, h), dtype), np.empty((n, h), dtype)
    ref.dense_forward(c.X, c.W1, c.b1, "relu", c.Z1, c.A1)
    c.Z2 = np.empty((n, 10), dtype)
    ref.dense_forward(c.A1, c.W2, c.b2, "identity", c.Z2, c.Z2)
    c.dZ2 = np.empty((n, 10), dtype)
    c.loss = ref.softmax_cross_entropy(c.Z2, c.labels, c.dZ2)
    c.grads = _backward(ref, c)
    c.predicted = ref.predict_labels(c.X, c.W1, c.b1, c.W2, c.b2, "relu",
                                     np.empty(n, np.int64))
    # Inputs stay writable, as in train(): read-only arrays would make Numba compile (and this
    # file time) another specialisation. tests/ checks that kernels leave their inputs alone.
    return c


def _backward(be, c):
    n, h = c.Z1.shape
    dt = c.Z1.dtype
    out = dict(dZ1=np.empty((n, h), dt), dW1=np.empty((784, h), dt), db1=np.empty(h, dt),
               dW2=np.empty((h, 10), dt), db2=np.empty(10, dt))
    be.two_layer_backward(c.X, c.Z1, c.A1, c.W2, c.dZ2, "relu", out["dZ1"], out["dW1"],
                          out["db1"], out["dW2"], out["db2"])
    return out


def _run(benchmark, timing, fn):
    if timing:
        fn()  # compile (JIT) before anything is timed
    return benchmark(fn)


@pytest.mark.parametrize("n, dtype, name", BATCH_CASES, ids=[_case_id(c) for c in BATCH_CASES])
def test_gather_scaled(benchmark, timing, tools, n, dtype, name):
    tools.require(name)
    benchmark.group = tools.group("gather_scaled", f"n={n},d=784", dtype)
    be, c = backends.get(name), _inputs(n, HIDDENS[0], dtype)
    out = np.empty((n, 784), dtype)
    result = _run(benchmark, timing, lambda: be.gather_scaled(c.x_u8, c.idx, out))
    np.testing.assert_array_equal(result, c.X)  # bit for bit, by contract


@pytest.mark.parametrize("n, h, dtype, name", CASES, ids=[_case_id(c) for c in CASES])
def test_dense_forward(benchmark, timing, tools, n, h, dtype, name):
    tools.require(name)
    benchmark.group = tools.group("dense_forward", f"n={n},d=784,h={h}", dtype)
    be, c = backends.get(name), _inputs(n, h, dtype)
    Z, A = np.empty((n, h), dtype), np.empty((n, h), dtype)
    result = _run(benchmark, timing, lambda: be.dense_forward(c.X, c.W1, c.b1, "relu", Z, A))
    tools.assert_close(Z, c.Z1, dtype, "Z")
    tools.assert_close(result, c.A1, dtype, "A")


@pytest.mark.parametrize("n, dtype, name", BATCH_CASES, ids=[_case_id(c) for c in BATCH_CASES])
def test_softmax_cross_entropy(benchmark, timing, tools, n, dtype, name):
    tools.require(name)
    benchmark.group = tools.group("softmax_cross_entropy", f"n={n},c=10", dtype)
    be, c = backends.get(name), _inputs(n, HIDDENS[0], dtype)
    dlogits = np.empty((n, 10), dtype)
    loss = _run(benchmark, timing, lambda: be.softmax_cross_entropy(c.Z2, c.labels, dlogits))
    assert np.isfinite(loss)
    tools.assert_close(loss, c.loss, dtype, "loss")
    tools.assert_close(dlogits, c.dZ2, dtype, "dlogits")


@pytest.mark.parametrize("n, h, dtype, name", CASES, ids=[_case_id(c) for c in CASES])
def test_two_layer_backward(benchmark, timing, tools, n, h, dtype, name):
    tools.require(name)
    benchmark.group = tools.group("two_layer_backward", f"n={n},d=784,h={h}", dtype)
    be, c = backends.get(name), _inputs(n, h, dtype)
    out = {key: np.empty_like(a) for key, a in c.grads.items()}
    _run(benchmark, timing, lambda: be.two_layer_backward(
        c.X, c.Z1, c.A1, c.W2, c.dZ2, "relu", out["dZ1"], out["dW1"], out["db1"], out["dW2"],
        out["db2"]))
    for key in ("dW1", "db1", "dW2", "db2"):
        tools.assert_close(out[key], c.grads[key], dtype, key)


@pytest.mark.parametrize("n, h, dtype, name", CASES, ids=[_case_id(c) for c in CASES])
def test_predict_labels(benchmark, timing, tools, n, h, dtype, name):
    tools.require(name)
    benchmark.group = tools.group("predict_labels", f"n={n},d=784,h={h}", dtype)
    be, c = backends.get(name), _inputs(n, h, dtype)
    out = np.empty(n, np.int64)
    result = _run(benchmark, timing, lambda: be.predict_labels(
        c.X, c.W1, c.b1, c.W2, c.b2, "relu", out))
    # A different label is only acceptable at a near-tie of the reference's logits.
    chosen = np.take_along_axis(c.Z2, result[:, None], axis=1)[:, 0]
    slack = tools.tol[dtype] * max(float(np.abs(c.Z2).max()), 1e-30)
    assert np.all((result == c.predicted) | (chosen >= c.Z2.max(axis=1) - slack))
