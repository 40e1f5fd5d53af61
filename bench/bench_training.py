"""A full train step, a full-test-set evaluation and a whole short training run.

Rows in every group: each backend of the registry, the naive loop (the teaching program's loop as
written, :mod:`fastnn.bench.baselines.naive`: the "before" row) and, when PyTorch is importable,
the PyTorch twin (:mod:`fastnn.bench.baselines.torch_twin`). Each benchmark first checks that its
implementation computes what the NumPy reference computes from the same weights and batches.

The whole run is 1,000 iterations when timed and 20 when the benchmarks are disabled (the default
``pytest`` run), so that the default run stays quick while still executing every row.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest

from fastnn import backends
from fastnn.bench.baselines.naive import naive_step, naive_train, prepare_data
from fastnn.bench.baselines.seed import TwoLayerNet as SeedTwoLayerNet
from fastnn.network import TwoLayerNet
from fastnn.optimizers import make_optimizer
from fastnn.training import train

pytestmark = pytest.mark.benchmark(warmup=True, warmup_iterations=3)

DTYPES = ("float64", "float32")
IMPLS = backends.NAMES + ("naive", "torch")
#: (batch, hidden) of the train-step groups: the default shape first, then each way out of it.
STEP_SHAPES = ((512, 50), (1, 50), (64, 50), (4096, 50), (512, 256), (512, 1024))
LR = 0.05
RUN_ITERS = {True: 1000, False: 20}  # timing -> iterations of the whole-run benchmark
#: The PyTorch twin differentiates the seed's loss, log(p + 1e-7) included, so its update differs
#: from the reference's by a relative ~1e-7 (see fastnn.bench.baselines.torch_twin); and the naive
#: loop in float32 computes dW1 in float64 (the seed's integer relu_grad mask upcasts it).
LOOSE = {"float64": 1e-6, "float32": 2e-4}


def _ids(cases):
    return ["-".join(str(v) for v in case) for case in cases]


@functools.lru_cache(maxsize=2)
def _naive_data(dtype):
    from fastnn.datasets.mnist import load_arrays
    return prepare_data(load_arrays(), dtype)


@functools.lru_cache(maxsize=2)
def _torch_data(dtype):
    """The training pixels as PyTorch tensors, scaled once and shared by the twins."""
    from fastnn.bench.baselines.torch_twin import TorchTwin
    from fastnn.datasets.mnist import load_arrays
    twin = TorchTwin(_params(50, dtype), *load_arrays()[:2])
    return twin.X_all, twin.y_all


def _params(h, dtype):
    """Fresh initial weights, drawn as ``train(seed=0)`` draws them."""
    return TwoLayerNet(784, h, 10, backend="numpy", dtype=dtype,
                       seed=np.random.RandomState(0)).params


@functools.lru_cache(maxsize=4)
def _reference_step(n, h, dtype):
    """The NumPy backend's first step from ``_params``: loss before, params after, loss after."""
    from fastnn.datasets.mnist import load_arrays
    x, y = load_arrays()[:2]
    params = _params(h, dtype)
    be = backends.get("numpy")
    batch = _batches(n)[0]
    step = be.make_train_step(x, y, params, "relu", make_optimizer("sgd", LR), n)
    loss_before, _ = step(batch)
    X = be.gather_scaled(x, batch, np.empty((n, 784), dtype))
    net = TwoLayerNet(784, h, 10, backend=be, dtype=dtype, seed=0)
    net.params = params
    return loss_before, params, net.loss(X, y[batch])


@functools.cache
def _batches(n):
    rs = np.random.RandomState(1)
    return [rs.choice(60000, n).astype(np.int64) for _ in range(8)]


def _make_step(impl, n, h, dtype, mnist):
    """``(step(idx) -> loss, params)`` for one iteration of ``impl``."""
    x, y = mnist[0], mnist[1]
    if impl == "naive":
        net = SeedTwoLayerNet(784, h, 10, dtype=dtype)
        net.params = _params(h, dtype)
        data = _naive_data(dtype)
        return (lambda idx: naive_step(net, data, idx, LR)), net.params
    if impl == "torch":
        from fastnn.bench.baselines.torch_twin import TorchTwin
        twin = TorchTwin(_params(h, dtype), learning_rate=LR,
                         prepared=_torch_data(dtype))
        return (lambda idx: twin.step(idx)[0]), twin
    params = _params(h, dtype)
    step = backends.get(impl).make_train_step(x, y, params, "relu", make_optimizer("sgd", LR),
                                              n)
    return (lambda idx: step(idx)[0]), params


STEP_CASES = [(n, h, dt, impl) for dt in DTYPES for n, h in STEP_SHAPES for impl in IMPLS]


@pytest.mark.parametrize("n, h, dtype, impl", STEP_CASES, ids=_ids(STEP_CASES))
def test_train_step(benchmark, timing, tools, mnist, n, h, dtype, impl):
    tools.require(impl)
    benchmark.group = tools.group("train_step", f"n={n},h={h}", dtype)
    benchmark.extra_info["flops"] = 3 * (2 * n * 784 * h + 2 * n * h * 10)
    step, params = _make_step(impl, n, h, dtype, mnist)
    batches = _batches(n)
    # One step from the reference's weights on its batch must land where the reference does.
    loss_before, ref_params, loss_after = _reference_step(n, h, dtype)
    loss = step(batches[0])
    if impl == "torch":
        params = params.numpy_params()
    tol = LOOSE if impl in ("naive", "torch") else tools.tol
    expected = loss_after if impl == "naive" else loss_before  # the seed logs after the update
    assert abs(loss - expected) <= tol[dtype] * max(1.0, abs(expected))
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(params[key], ref_params[key], rtol=tol[dtype],
                                   atol=tol[dtype] * float(np.abs(ref_params[key]).max()),
                                   err_msg=key)
    cycle = itertools.cycle(batches[1:])
    result = benchmark(lambda: step(next(cycle)))
    assert math.isfinite(result)


def _trained_params(dtype, timing):
    """The weights of the reference's whole run (shared with ``test_train_run``)."""
    return _reference_run(RUN_ITERS[timing], dtype).network.params


EVAL_CASES = [(dt, impl) for dt in DTYPES for impl in IMPLS]


@pytest.mark.parametrize("dtype, impl", EVAL_CASES, ids=_ids(EVAL_CASES))
def test_evaluate(benchmark, timing, tools, mnist, dtype, impl):
    tools.require(impl)
    benchmark.group = tools.group("evaluate", "n=10000,h=50", dtype)
    x_test, y_test = mnist[2], mnist[3]
    params = {k: v.copy() for k, v in _trained_params(dtype, timing).items()}
    if impl == "naive":  # the seed's accuracy(): softmax, argmax, one-hot targets
        data = _naive_data(dtype)
        net = SeedTwoLayerNet(784, 50, 10, dtype=dtype)
        net.params = params

        def evaluate():
            return float(net.accuracy(data.x_test, data.t_test))
    elif impl == "torch":
        from fastnn.bench.baselines.torch_twin import TorchTwin
        twin = TorchTwin(params, learning_rate=LR, prepared=_torch_data(dtype))
        X, labels = twin.prepare(x_test, y_test)

        def evaluate():
            return twin.accuracy(X, labels)
    else:
        net = TwoLayerNet(784, 50, 10, backend=impl, dtype=dtype, seed=0)
        net.params = params

        def evaluate():
            return net.accuracy_u8(x_test, y_test)
    if timing:
        evaluate()
    accuracy = benchmark(evaluate)
    reference = _reference_run(RUN_ITERS[timing], dtype).test_accuracy
    assert accuracy > 0.2  # 20 iterations reach ~0.29, 1,000 ~0.9
    assert abs(accuracy - reference) <= 2 / len(y_test)  # at most a near-tie or two apart


@functools.lru_cache(maxsize=4)
def _reference_run(iters, dtype):
    return train(backend="numpy", iters=iters, dtype=dtype, seed=0)


def _run_once(impl, iters, dtype, mnist):
    """One whole run: ``(losses, test_accuracy)``."""
    if impl == "naive":
        r = naive_train(iters, dtype=dtype, data=_naive_data(dtype))
        return r.losses, r.test_accuracy
    if impl == "torch":
        from fastnn.bench.baselines.torch_twin import torch_train
        r = torch_train(iters, dtype=dtype, data=mnist, threads=None)
        return r.losses, r.test_accuracy
    r = train(backend=impl, iters=iters, dtype=dtype, seed=0, data=mnist)
    return r.history["train_loss"], r.test_accuracy


RUN_CASES = [(dt, impl) for dt in DTYPES for impl in IMPLS]


@pytest.mark.parametrize("dtype, impl", RUN_CASES, ids=_ids(RUN_CASES))
def test_train_run(benchmark, timing, tools, mnist, dtype, impl):
    tools.require(impl)
    iters = RUN_ITERS[timing]
    benchmark.group = tools.group("train_run", f"{iters}it,n=512,h=50", dtype)
    if timing:
        _run_once(impl, 2, dtype, mnist)  # JIT compilation out of the timing
        losses, accuracy = benchmark.pedantic(_run_once, args=(impl, iters, dtype, mnist),
                                              rounds=3, iterations=1)
    else:
        losses, accuracy = benchmark(_run_once, impl, iters, dtype, mnist)
    reference = _reference_run(iters, dtype)
    assert len(losses) == iters and all(math.isfinite(v) for v in losses)
    assert losses[-1] < math.log(10)  # it learned something
    # Same weights, same batches: the same network, up to rounding and near-ties.
    assert abs(accuracy - reference.test_accuracy) <= 0.005
