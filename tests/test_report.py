"""The report's pictures show what they say: counts, only misclassified images, the weights."""

import dataclasses
import re

import numpy as np
import pytest

import fastnn
from fastnn import report
from fastnn.evaluation import evaluate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained():
    return fastnn.train(backend="numpy", iters=100, batch_size=128, learning_rate=0.1, seed=4,
                        hidden_size=12)


@pytest.fixture(scope="module")
def evaluation(trained):
    return evaluate(trained.network)


def drawn_images(fig):
    return [(ax, ax.images[0].get_array()) for ax in fig.axes if ax.images]


def test_the_mistakes_grid_shows_only_misclassified_images(evaluation):
    fig = report.mistakes_figure(evaluation)
    drawn = drawn_images(fig)
    wrong = evaluation.predicted != evaluation.labels
    assert len(drawn) == min(48, np.count_nonzero(wrong)) == 48
    by_pixels = {}
    for k in range(len(evaluation.labels)):
        by_pixels.setdefault(evaluation.images[k].tobytes(), []).append(k)
    names = evaluation.class_names
    for (ax, image), k in zip(drawn, fig.fastnn_indices):
        np.testing.assert_array_equal(image, evaluation.images[k].reshape(28, 28))
        # every test image with these pixels is misclassified (the grid cannot show a hit)
        assert all(wrong[i] for i in by_pixels[np.asarray(image, np.uint8).tobytes()])
        true, guess = evaluation.labels[k], evaluation.predicted[k]
        p = evaluation.probabilities[k, guess] * 100
        assert ax.get_xlabel() == f"true {names[true]}\nsaid {names[guess]} ({p:.0f} %)"
    assert fig.fastnn_indices.tolist() == np.flatnonzero(wrong)[:48].tolist()
    assert f"of {np.count_nonzero(wrong):,} misclassified" in fig.get_suptitle()


def test_a_perfect_evaluation_has_an_empty_grid(evaluation):
    perfect = dataclasses.replace(evaluation, predicted=evaluation.labels.copy())
    fig = report.mistakes_figure(perfect)
    assert drawn_images(fig) == [] and len(fig.fastnn_indices) == 0
    assert any(t.get_text() == "no mistakes" for ax in fig.axes for t in ax.texts)


def test_the_confusion_picture_writes_every_count_in_its_cell(evaluation):
    fig = report.confusion_figure(evaluation)
    ax = fig.axes[0]
    shown = {(round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text())
             for t in ax.texts}
    C = evaluation.confusion
    assert shown == {(i, j): int(C[i, j]) for i in range(10) for j in range(10) if C[i, j]}
    assert [t.get_text() for t in ax.get_xticklabels()] == list("0123456789")
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert re.search(r"accuracy \d+\.\d\d %", ax.get_title())


def test_the_hidden_units_are_the_columns_of_W1(trained):
    net = trained.network
    fig = report.hidden_units_figure(net)
    drawn = drawn_images(fig)
    assert len(drawn) == 12
    for j, (ax, image) in enumerate(drawn):
        np.testing.assert_array_equal(image, net.params["W1"][:, j].reshape(28, 28))
        assert ax.get_title() == str(j)
    with pytest.raises(ValueError, match=r"image_shape \(20, 20\) does not fit the network's "
                                         "784 inputs"):
        report.hidden_units_figure(net, (20, 20))


def test_class_names_label_the_pictures(trained, evaluation):
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"]
    renamed = dataclasses.replace(evaluation, class_names=names)
    ax = report.confusion_figure(renamed).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    fig = report.mistakes_figure(renamed, limit=5)
    assert all(ax.get_xlabel().split("\n")[0][5:] in names for ax, _ in drawn_images(fig))


def test_write_report_writes_three_pngs(trained, evaluation, tmp_path):
    written = report.write_report(evaluation, trained.network, tmp_path / "new" / "dir")
    assert [p.name for p in written] == ["confusion.png", "mistakes.png", "hidden-units.png"]
    for path in written:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(p.name for p in (tmp_path / "new" / "dir").iterdir()) == sorted(
        p.name for p in written)  # no temporary files left
