"""A run's history as CSV or JSON: every loss and every evaluation, back to the same floats."""

import csv
import json
import math

import pytest

import fastnn
from fastnn.cli import main
from fastnn.history import KEYS, read_history, write_history


@pytest.fixture(scope="module")
def result(mnist_small):
    return fastnn.train(backend="numpy", iters=25, batch_size=32, eval_every=10,
                        data=mnist_small, seed=1)


def test_the_names_are_those_of_train_result_history(result):
    assert tuple(result.history) == KEYS
    for key in KEYS:
        assert f"``\"{key}\"``" in fastnn.TrainResult.__doc__


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_round_trip_gives_back_the_same_floats(result, tmp_path, suffix):
    path = write_history(result.history, tmp_path / f"run{suffix}")
    assert read_history(path) == result.history


def test_csv_has_a_row_per_iteration_and_the_evaluations_where_they_happened(result, tmp_path):
    path = write_history(result.history, tmp_path / "run.csv")
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows[0] == ["iteration", "train_loss", "train_acc", "test_acc"]
    body = rows[1:]
    assert [int(r[0]) for r in body] == list(range(26))
    assert body[0][1] == ""  # no update before iteration 1
    assert [float(r[1]) for r in body[1:]] == result.history["train_loss"]
    evaluated = [int(r[0]) for r in body if r[3]]
    assert evaluated == result.history["eval_iter"] == [0, 10, 20, 25]
    assert [float(r[3]) for r in body if r[3]] == result.history["test_acc"]
    assert [float(r[2]) for r in body if r[2]] == result.history["train_acc"]


def test_json_is_the_history_with_null_for_a_loss_that_was_not_finite(tmp_path):
    history = {"train_loss": [2.3, float("inf"), float("nan")], "eval_iter": [0, 3],
               "train_acc": [0.1, 0.2], "test_acc": [0.1, 0.15]}
    path = write_history(history, tmp_path / "d.json")
    data = json.loads(path.read_text())  # strict JSON: no NaN or Infinity tokens
    assert data == {"train_loss": [2.3, None, None], "eval_iter": [0, 3],
                    "train_acc": [0.1, 0.2], "test_acc": [0.1, 0.15]}
    back = read_history(path)
    assert back["train_loss"][0] == 2.3 and all(math.isnan(x) for x in back["train_loss"][1:])
    csv_back = read_history(write_history(history, tmp_path / "d.csv"))
    assert csv_back["train_loss"][1] == float("inf") and math.isnan(csv_back["train_loss"][2])


def test_bad_paths_and_histories_are_named(result, tmp_path):
    with pytest.raises(ValueError, match=r"run.txt' has extension '.txt'; use .csv or .json"):
        write_history(result.history, tmp_path / "run.txt")
    with pytest.raises(ValueError, match="missing test_acc"):
        write_history({"train_loss": [], "eval_iter": [], "train_acc": []}, tmp_path / "a.csv")
    (tmp_path / "other.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="other.json: not a fastnn history file"):
        read_history(tmp_path / "other.json")


def test_fastnn_train_history(tmp_path, capsys):
    path = tmp_path / "logs" / "run.csv"
    code = main(["train", "--iters", "12", "--batch-size", "64", "--eval-every", "5",
                 "--hidden", "8", "--backend", "numpy", "--no-progress", "--no-plot",
                 "--history", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"history written to {path}" in out
    history = read_history(path)
    assert len(history["train_loss"]) == 12 and history["eval_iter"] == [0, 5, 10, 12]
    last = [line for line in out.splitlines() if line.startswith("iter 12 ")][0]
    assert f"test {history['test_acc'][-1]:.4f}" in last


def test_an_unknown_history_format_is_refused_before_training(tmp_path, capsys):
    assert main(["train", "--history", str(tmp_path / "run.xlsx"), "--no-plot"]) == 2
    out, err = capsys.readouterr()
    assert "use .csv or .json" in err and "iter" not in out
    assert not (tmp_path / "run.xlsx").exists()


def test_a_diverged_run_keeps_its_history_so_far(tmp_path, capsys):
    path = tmp_path / "run.json"
    code = main(["train", "--iters", "500", "--lr", "1e300", "--batch-size", "64",
                 "--backend", "numpy", "--no-progress", "--no-plot", "--history", str(path)])
    out, err = capsys.readouterr()
    assert code == 3 and "training diverged" in err
    history = read_history(path)
    assert len(history["train_loss"]) < 500 and not math.isfinite(history["train_loss"][-1])
    assert f"history so far written to {path}" in out
