"""Correct under sharing: threads, several networks, and data edited in place between calls.

Each case compares with the same calls made one at a time; the Numba backend must give the very
same bits, as the NumPy backend does.
"""

import threading

import numpy as np
import pytest

from fastnn import TwoLayerNet, train
from fastnn.datasets.mnist import load_arrays

N_THREADS, N_CALLS = 4, 50


@pytest.fixture(scope="module")
def batches():
    x, y, _, _ = load_arrays()
    rng = np.random.default_rng(7)
    out = []
    for _ in range(N_THREADS):
        idx = rng.integers(0, len(x), 64)
        out.append((x[idx] / 255.0, y[idx]))
    return out


def _calls(net, x, t):
    """One round of the drop-in methods; returns their results."""
    grads = net.gradient(x, t)
    return (net.predict(x), net.predict_labels(x), net.loss(x, t), net.accuracy(x, t),
            *(grads[k] for k in ("W1", "b1", "W2", "b2")))


def _run_together(work):
    """Run ``work(k)`` for k in 0..N_THREADS-1 in threads started at the same moment."""
    start, results, errors = threading.Barrier(N_THREADS), [None] * N_THREADS, []

    def target(k):
        try:
            start.wait()
            results[k] = work(k)
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(k,)) for k in range(N_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("shared", [True, False], ids=["one network", "four networks"])
def test_threads_get_the_results_of_sequential_calls(backend, batches, shared):
    nets = [TwoLayerNet(784, 50, 10, weight_init_std=0.1, backend=backend.name, seed=k)
            for k in range(N_THREADS)]
    if shared:
        nets = [nets[0]] * N_THREADS
    expected = [_calls(nets[k], *batches[k]) for k in range(N_THREADS)]

    def work(k):
        return [_calls(nets[k], *batches[k]) for _ in range(N_CALLS)]

    wrong = 0
    for k, rounds in enumerate(_run_together(work)):
        for got in rounds:
            wrong += sum(not np.array_equal(a, b) for a, b in zip(got, expected[k]))
    assert wrong == 0, f"{wrong} of {N_THREADS * N_CALLS * len(expected[0])} results differ"


def test_two_trainings_in_threads_equal_the_same_runs_one_after_the_other(backend):
    x, y, xt, yt = load_arrays()
    data = (x[:3000], y[:3000], xt[:500], yt[:500])
    kwargs = dict(backend=backend.name, iters=60, batch_size=64, eval_every=20, data=data)
    alone = [train(seed=k, **kwargs) for k in range(2)]
    together = _run_together(lambda k: train(seed=k % 2, **kwargs))
    for k, result in enumerate(together):
        assert result.history == alone[k % 2].history
        for key in ("W1", "b1", "W2", "b2"):
            np.testing.assert_array_equal(result.network.params[key],
                                          alone[k % 2].network.params[key])


def test_a_second_run_on_data_edited_in_place_sees_the_edit(backend):
    x, y, xt, yt = load_arrays()
    x_train, x_test = x[:2000].copy(), xt[:500].copy()
    data = (x_train, y[:2000], x_test, yt[:500])
    kwargs = dict(backend=backend.name, iters=30, batch_size=64, seed=3, data=data)
    first = train(**kwargs)
    x_train[:, 300:500] = 255  # the same arrays, edited in place
    x_test[:] = 0
    second = train(**kwargs)
    reference = train(**dict(kwargs, backend="numpy"))
    assert second.history["train_loss"] != first.history["train_loss"]
    np.testing.assert_allclose(second.history["train_loss"], reference.history["train_loss"],
                               rtol=1e-10)
    # every test image is now blank: one prediction for all, its share of the labels
    blank = second.network.predict_labels(np.zeros(784))
    assert second.test_accuracy == np.mean(yt[:500] == blank)
    assert first.network.accuracy_u8(x_test, yt[:500]) == np.mean(
        yt[:500] == first.network.predict_labels(np.zeros(784)))


def test_an_evaluator_keeps_the_pixels_it_was_given(backend):
    x, y, _, _ = load_arrays()
    pixels, labels = x[:300].copy(), y[:300]
    net = TwoLayerNet(784, 20, 10, weight_init_std=0.1, backend=backend.name, seed=0)
    evaluate = net.evaluator(pixels, labels)
    before = evaluate()
    pixels[:] = 0
    assert evaluate() == before  # the snapshot it documents
    assert net.accuracy_u8(pixels, labels) == np.mean(labels == net.predict_labels(np.zeros(784)))
