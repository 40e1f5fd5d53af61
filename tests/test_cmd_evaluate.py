"""``fastnn evaluate MODEL`` and ``fastnn train --report DIR``, through ``main(argv)``."""

import re
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPORT = ["confusion.png", "hidden-units.png", "mistakes.png"]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
ACCURACY = re.compile(r"^(\S+) test set: ([\d,]+) images, accuracy (\d+\.\d\d) % "
                      r"\(([\d,]+) misclassified\)$", re.MULTILINE)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    result = fastnn.train(backend="numpy", iters=120, batch_size=128, learning_rate=0.1,
                          hidden_size=16, seed=1)
    path = result.network.save(tmp_path_factory.mktemp("model") / "m.npz")
    return path, result


def test_prints_the_accuracy_and_a_row_per_class(model, capsys):
    path, result = model
    assert main(["evaluate", str(path), "--backend", "numpy"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    dataset, n, accuracy, wrong = ACCURACY.search(out).groups()
    assert (dataset, n) == ("mnist", "10,000")
    assert float(accuracy) == pytest.approx(result.test_accuracy * 100, abs=0.005)
    assert int(wrong.replace(",", "")) == round((1 - result.test_accuracy) * 10000)
    rows = re.findall(r"^(\d)\s+(\d\.\d{4})\s+(\d\.\d{4})\s+(\d+)$", out, re.MULTILINE)
    assert [r[0] for r in rows] == list("0123456789")
    # MNIST's published test counts per digit
    assert [int(r[3]) for r in rows] == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    ev = fastnn.evaluate(result.network)
    assert [float(r[2]) for r in rows] == pytest.approx(ev.recall.tolist(), abs=5e-5)


def test_the_report_writes_three_pictures(model, tmp_path, capsys):
    path, _ = model
    out_dir = tmp_path / "report"
    assert main(["evaluate", str(path), "--report", str(out_dir), "--backend", "numba"]) == 0
    out = capsys.readouterr().out
    assert f"report written to {out_dir}: confusion.png, mistakes.png, hidden-units.png" in out
    assert sorted(p.name for p in out_dir.iterdir()) == REPORT
    assert all((out_dir / name).read_bytes()[:8] == PNG_SIGNATURE for name in REPORT)


def test_an_unwritable_report_is_refused_before_evaluating(model, tmp_path, capsys):
    path, _ = model
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["evaluate", str(path), "--report", str(blocker / "sub")]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("fastnn: error: --report: cannot write") and out == ""


def test_bad_model_files_are_named(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a model")
    assert main(["evaluate", str(bad)]) == 1
    assert f"fastnn: error: {bad}: not a fastnn model file" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "absent.npz")]) == 1
    err = capsys.readouterr().err
    assert "no such model file" in err and "Traceback" not in err


def test_a_model_of_unknown_origin_is_evaluated_on_mnist_with_a_warning(tmp_path, capsys):
    net = fastnn.TwoLayerNet(784, 5, 10, backend="numpy", seed=0)  # not made by train()
    path = net.save(tmp_path / "raw.npz")
    assert main(["evaluate", str(path), "--backend", "numpy"]) == 0
    out, err = capsys.readouterr()
    assert "does not say which data set it was trained on; evaluating it on mnist" in err
    assert ACCURACY.search(out).group(1) == "mnist"


def test_a_model_for_other_images_is_refused(tmp_path, capsys):
    path = fastnn.TwoLayerNet(20, 5, 10, backend="numpy", seed=0).save(tmp_path / "small.npz")
    assert main(["evaluate", str(path), "--backend", "numpy"]) == 2
    err = capsys.readouterr().err
    assert "takes 20 inputs but mnist's images have 784 pixels" in err


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Fashion-MNIST is not installed")
def test_another_data_set_uses_its_class_names(model, capsys, monkeypatch):
    monkeypatch.delenv("FASTNN_DATA_DIR", raising=False)
    path, _ = model
    assert main(["evaluate", str(path), "--dataset", "fashion-mnist",
                 "--backend", "numpy"]) == 0
    out, err = capsys.readouterr()
    assert "was trained on mnist; evaluating it on fashion-mnist anyway" in err
    assert ACCURACY.search(out).group(1) == "fashion-mnist"
    counts = re.findall(r"^(T-shirt/top|Ankle boot)\s+\S+\s+\S+\s+(\d+)$", out, re.MULTILINE)
    assert counts == [("T-shirt/top", "1000"), ("Ankle boot", "1000")]


def test_train_report_writes_the_pictures_after_training(tmp_path, capsys):
    out_dir = tmp_path / "r"
    code = main(["train", "--iters", "20", "--batch-size", "64", "--hidden", "10",
                 "--backend", "numpy", "--no-progress", "--no-plot", "--report", str(out_dir),
                 "--save", str(tmp_path / "m.npz")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == REPORT
    assert f"report written to {out_dir}" in out
    import matplotlib.image

    hidden = matplotlib.image.imread(out_dir / "hidden-units.png")
    assert hidden.shape[1] > hidden.shape[0]  # one row of 10 units, wider than tall
    net = fastnn.load_model(tmp_path / "m.npz", backend="numpy")
    assert np.isfinite(net.params["W1"]).all()


def test_train_refuses_an_unwritable_report_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["train", "--report", str(blocker / "r"), "--no-plot"]) == 2
    out, err = capsys.readouterr()
    assert "--report: cannot write" in err and "iter" not in out
