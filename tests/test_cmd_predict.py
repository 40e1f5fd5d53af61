"""``fastnn predict MODEL IMAGE... [--show DIR]``, through ``main(argv)``."""

import re

import numpy as np
import pytest
from PIL import Image, ImageOps

import fastnn
from fastnn.cli import main

LINE = re.compile(r"^(\S+): +(\S+)  \((\S+) (\d+\.\d) %, (\S+) (\d+\.\d) %, (\S+) (\d+\.\d) %\)$",
                  re.MULTILINE)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    net = fastnn.train(backend="numpy", iters=200, batch_size=128, learning_rate=0.2,
                       hidden_size=20, seed=0).network
    return net.save(tmp_path_factory.mktemp("model") / "m.npz")


@pytest.fixture
def photos(tmp_path):
    """Three MNIST test digits as dark ink on white paper, as JPEG and PNG files."""
    _, _, x_test, y_test = fastnn.datasets.mnist.load_arrays()
    paths = []
    for k, fmt in zip(range(3), ["jpg", "png", "png"]):
        image = ImageOps.invert(Image.fromarray(x_test[k].reshape(28, 28)).resize((150, 150)))
        path = tmp_path / f"digit{k}.{fmt}"
        image.save(path)
        paths.append(path)
    return paths


def test_prints_each_prediction_with_the_top_three(model, photos, capsys):
    assert main(["predict", str(model), *map(str, photos), "--backend", "numpy"]) == 0
    out, err = capsys.readouterr()
    lines = LINE.findall(out)
    assert [line[0] for line in lines] == list(map(str, photos))
    expected = fastnn.load_model(model, backend="numpy").predict_images(photos)
    for line, label, top in zip(lines, expected.names, expected.top(3)):
        assert line[1] == label == line[2]
        assert [(line[2 + 2 * i], float(line[3 + 2 * i])) for i in range(3)] == [
            (name, pytest.approx(p * 100, abs=0.05)) for name, p in top]
    assert err == ""


def test_show_writes_the_inputs_as_the_model_saw_them(model, photos, tmp_path, capsys):
    seen = tmp_path / "seen"
    doubled = [*photos, photos[0]]  # the same name twice gets a number
    assert main(["predict", str(model), *map(str, doubled), "--show", str(seen)]) == 0
    assert sorted(p.name for p in seen.iterdir()) == ["digit0-2.png", "digit0.png",
                                                      "digit1.png", "digit2.png"]
    expected = fastnn.load_model(model, backend="numpy").predict_images(photos)
    for k in range(3):
        written = np.asarray(Image.open(seen / f"digit{k}.png"))
        assert written.shape == (28, 28) and written.dtype == np.uint8
        np.testing.assert_array_equal(written, expected.inputs[k])
    assert f"written to {seen}" in capsys.readouterr().out


def test_a_bad_file_is_named_and_the_others_are_still_predicted(model, photos, tmp_path,
                                                                capsys):
    bad, empty = tmp_path / "notes.png", tmp_path / "empty.jpg"
    bad.write_text("shopping list")
    empty.write_bytes(b"")
    assert main(["predict", str(model), str(bad), str(photos[0]), str(empty)]) == 1
    out, err = capsys.readouterr()
    assert f"fastnn: error: {bad}: not an image Pillow can read" in err
    assert f"fastnn: error: {empty}: is empty" in err
    assert [line[0] for line in LINE.findall(out)] == [str(photos[0])]
    assert "Traceback" not in err


def test_a_model_for_other_inputs_is_refused_before_reading_images(tmp_path, capsys):
    path = fastnn.TwoLayerNet(64, 5, 10, backend="numpy", seed=0).save(tmp_path / "small.npz")
    assert main(["predict", str(path), str(tmp_path / "absent.png")]) == 2
    err = capsys.readouterr().err
    assert "the network takes 64 inputs, but images are prepared as 28x28" in err
    assert "no such file" not in err


def test_unwritable_show_is_refused_first(model, photos, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["predict", str(model), str(photos[0]), "--show", str(blocker)]) == 2
    out, err = capsys.readouterr()
    assert "--show: cannot write" in err and out == ""
