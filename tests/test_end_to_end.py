"""The default training run, end to end: the reference's accuracy and Numba's agreement with it.

These are the slowest tests of the suite (one default run per backend and dtype, ~2 minutes on
2 cores), and the only ones that check the published behaviour of the full 10,000 iterations:
marked slow, so `pytest -m "not slow"` leaves them out (CI runs them).
"""

import numpy as np
import pytest

from fastnn import train
from fastnn.datasets.mnist import load_arrays

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs():
    cache = {}

    def run(backend, dtype):
        if (backend, dtype) not in cache:
            cache[backend, dtype] = train(backend=backend, dtype=dtype, seed=0)
        return cache[backend, dtype]

    return run


def predicted_test_labels(result):
    _, _, x_test, _ = load_arrays()
    return result.network.predict_labels(x_test / 255.0)


def test_default_run_reaches_the_teaching_programs_accuracy(runs):
    result = runs("numpy", "float64")
    assert result.test_accuracy >= 0.955  # the teaching program reaches about 96 %
    assert len(result.history["train_loss"]) == 10_000
    assert result.history["eval_iter"][-1] == 10_000


def test_numba_follows_the_reference_for_10000_float64_iterations(runs):
    ref, fast = runs("numpy", "float64"), runs("numba", "float64")
    assert fast.backend == "numba"
    ref_loss, fast_loss = np.array(ref.history["train_loss"]), np.array(fast.history["train_loss"])
    rel = np.abs(fast_loss - ref_loss) / np.abs(ref_loss)
    assert rel.max() <= 1e-10, (rel.argmax(), rel.max())
    np.testing.assert_array_equal(predicted_test_labels(fast), predicted_test_labels(ref))
    assert fast.test_accuracy == ref.test_accuracy


def test_float32_runs_agree_within_a_tenth_of_a_point(runs):
    ref, fast = runs("numpy", "float32"), runs("numba", "float32")
    assert all(p.dtype == np.float32 for p in fast.network.params.values())
    assert abs(fast.test_accuracy - ref.test_accuracy) <= 0.001
    assert fast.test_accuracy >= 0.955
