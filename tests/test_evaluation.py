"""evaluate(): the confusion matrix against a direct count, precision and recall by hand."""

import numpy as np
import pytest

import fastnn
from fastnn.evaluation import confusion_matrix, evaluate, per_class_metrics


@pytest.fixture(scope="module")
def trained():
    """A briefly trained network (about 85 % on MNIST): mistakes in every class."""
    return fastnn.train(backend="numpy", iters=150, batch_size=128, learning_rate=0.1, seed=2)


def test_confusion_counts_equal_a_direct_count():
    rng = np.random.default_rng(0)
    labels, predicted = rng.integers(0, 4, 500), rng.integers(0, 4, 500)
    C = confusion_matrix(labels, predicted, 4)
    for i in range(4):
        for j in range(4):
            assert C[i, j] == sum(1 for t, p in zip(labels, predicted) if t == i and p == j)
    assert C.sum() == 500 and C.dtype == np.int64


def test_precision_and_recall_by_hand():
    # true:      0 0 0 1 1 2
    # predicted: 0 0 1 1 0 0      class 2 is never predicted; class 3 never occurs
    C = confusion_matrix([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 0], 4)
    assert C.tolist() == [[2, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    precision, recall, count = per_class_metrics(C)
    # precision: of those called 0 (4), 2 are; called 1 (2), 1 is; 2 and 3 never called
    np.testing.assert_array_equal(precision, [2 / 4, 1 / 2, np.nan, np.nan])
    # recall: of the 3 zeros 2 found; of the 2 ones 1; of the one 2 none; no 3s
    np.testing.assert_array_equal(recall, [2 / 3, 1 / 2, 0.0, np.nan])
    assert count.tolist() == [3, 2, 1, 0]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"predicted: labels must be in 0..2, got \[3\]"):
        confusion_matrix([0, 1], [1, 3], 3)
    with pytest.raises(ValueError, match="square"):
        per_class_metrics(np.zeros((2, 3)))


def test_evaluate_agrees_with_training_and_with_a_direct_count(trained, backend, tmp_path):
    network = fastnn.load_model(trained.network.save(tmp_path / "m.npz"), backend=backend.name)
    ev = evaluate(network)  # the data set recorded in the model file
    assert ev.dataset == "mnist" and ev.class_names == list("0123456789")
    assert ev.accuracy == trained.test_accuracy  # train()'s last evaluation, on every backend
    _, _, x_test, y_test = fastnn.datasets.mnist.load_arrays()
    direct = network.predict_labels(x_test / 255.0)
    np.testing.assert_array_equal(ev.predicted, direct)
    np.testing.assert_array_equal(ev.labels, y_test)
    for i in range(10):
        assert ev.count[i] == np.count_nonzero(y_test == i)
        for j in range(10):
            assert ev.confusion[i, j] == np.count_nonzero((y_test == i) & (direct == j))
    assert ev.confusion.trace() == round(ev.accuracy * 10000)
    np.testing.assert_allclose(ev.probabilities, network.predict(x_test / 255.0), rtol=1e-12)
    np.testing.assert_array_equal(ev.mistakes, np.flatnonzero(direct != y_test))
    k = 3
    assert ev.precision[k] == ev.confusion[k, k] / np.count_nonzero(direct == k)
    assert ev.recall[k] == ev.confusion[k, k] / np.count_nonzero(y_test == k)


def test_the_table_lists_every_class(trained):
    ev = evaluate(trained.network)
    lines = ev.table().splitlines()
    assert lines[0].split() == ["class", "precision", "recall", "count"]
    assert len(lines) == 11
    name, precision, recall, count = lines[1 + 7].split()
    assert name == "7" and int(count) == 1028  # MNIST's published test count of sevens
    assert float(precision) == pytest.approx(ev.precision[7], abs=5e-5)
    assert float(recall) == pytest.approx(ev.recall[7], abs=5e-5)


def test_arrays_and_class_names_of_ones_own(trained):
    _, _, x_test, y_test = fastnn.datasets.mnist.load_arrays()
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    ev = evaluate(trained.network, data=(x_test[:300], y_test[:300]), class_names=names)
    assert ev.dataset is None and ev.class_names == names and ev.confusion.sum() == 300
    assert ev.image_shape == (28, 28)
    assert "seven" in ev.table()
    with pytest.raises(ValueError, match="uint8 pixels of shape"):
        evaluate(trained.network, data=(x_test[:10] / 255.0, y_test[:10]))
    with pytest.raises(ValueError, match="10 outputs but 3 class names"):
        evaluate(trained.network, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="dataset='svhn' is not known"):
        evaluate(trained.network, dataset="svhn")
    small = fastnn.TwoLayerNet(20, 4, 10, backend="numpy", seed=0)
    with pytest.raises(ValueError, match="takes 20 inputs but mnist's images have 784"):
        evaluate(small, dataset="mnist")
