"""fastnn compare on the command line: the flags generated from TrainConfig, the outputs, and
what it says about bad input."""

import csv

import pytest

from fastnn import cli
from fastnn._cmd_compare import parse_values
from fastnn.cli import main
from fastnn.compare import LogUniform
from fastnn.config import config_fields

QUICK = ["--iters", "20", "--batch-size", "32", "--eval-every", "10", "--hidden", "10",
         "--no-progress"]


def field(name):
    return next(f for f in config_fields() if f.name == name)


def test_every_training_field_has_a_compare_flag():
    parser = cli.build_parser()
    compare = parser._subparsers._group_actions[0].choices["compare"]
    flags = {s for action in compare._actions for s in action.option_strings}
    for f in config_fields():
        assert f.name == "seed" or f.metadata["flag"] in flags, f.name
    assert "--seeds" in flags


def test_values_lists_and_ranges_are_read_with_each_fields_own_parser():
    assert parse_values(field("learning_rate"), "0.01,0.1", "grid") == [0.01, 0.1]
    assert parse_values(field("hidden_size"), "50", "grid") == 50
    assert parse_values(field("weight_init_std"), "he,0.05", "grid") == ["he", 0.05]
    assert parse_values(field("shuffle"), "true,no", "grid") == [True, False]
    assert parse_values(field("iters"), "100,1000", "grid") == [100, 1000]
    assert parse_values(field("learning_rate"), "1e-4:1", "random") == LogUniform(1e-4, 1.0)


@pytest.mark.parametrize("argv, expected", [
    (["--lr", "0.1,abc"], "--lr '0.1,abc': cannot read 'abc' as a number"),
    (["--lr", "0.1,,0.2"], "--lr '0.1,,0.2': an empty value in the list"),
    (["--hidden", "1.5"], "--hidden '1.5': cannot read '1.5' as a whole number"),
    (["--lr", "1e-4:1"], "--lr '1e-4:1': a range LOW:HIGH is for --search random"),
    (["--search", "random", "--trials", "3", "--lr", "1:0.1"], "a range needs 0 < low < high"),
    (["--optimizer", "sgd,lbfgs"], "optimizer='lbfgs' is not known; expected one of 'sgd', "
                                   "'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam' "
                                   "(set by --optimizer)"),
    (["--shuffle", "maybe"], "--shuffle 'maybe': 'maybe' is not true or false"),
    (["--seeds", "0,x"], "--seeds '0,x': give whole numbers separated by commas"),
    (["--search", "random"], "--search random needs --trials N"),
    (["--hidden", ",".join(map(str, range(1, 12))), "--lr", "0.1,0.2,0.3,0.4,0.5"],
     "this sweep has 55 runs, more than max_runs=50; nothing was started: confirm it with "
     "max_runs=55 (fastnn compare --yes)"),
    (["--lrr", "0.1"], "compare: unknown argument '--lrr'; did you mean --lr? The training "
                       "flags are --backend"),
    (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler is for --engine dask"),
])
def test_bad_input_names_the_flag_and_what_it_accepts(argv, expected, capsys, tmp_path):
    code = main(["compare", *argv, "--csv", str(tmp_path / "t.csv")])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err, err
    assert not (tmp_path / "t.csv").exists()


def test_an_unreachable_scheduler_is_an_error_before_any_run(capsys, tmp_path):
    pytest.importorskip("dask.distributed")
    code = main(["compare", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9", *QUICK,
                 "--csv", str(tmp_path / "t.csv")])
    err = capsys.readouterr().err
    assert code == 1 and "cannot reach the dask scheduler at tcp://127.0.0.1:9" in err
    assert not (tmp_path / "t.csv").exists()


def test_compare_writes_the_table_the_csv_and_the_overlay(capsys, tmp_path):
    code = main(["compare", "--optimizer", "sgd,adam", "--lr", "0.1", "--seeds", "0,1",
                 "--backend", "numba", *QUICK, "--csv", str(tmp_path / "t.csv"),
                 "--plot", str(tmp_path / "t.png")])
    out = capsys.readouterr().out
    assert code == 0
    assert "4 of 4 runs" in out and "best (*): optimizer=" in out
    with open(tmp_path / "t.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["optimizer"], r["seed"]) for r in rows] == [
        ("sgd", "0"), ("sgd", "1"), ("adam", "0"), ("adam", "1")]
    assert all(r["learning_rate"] == "0.1" and r["iters"] == "20" for r in rows)
    assert (tmp_path / "t.png").stat().st_size > 10_000


def test_a_random_search_runs_its_trials(capsys, tmp_path):
    code = main(["compare", "--search", "random", "--trials", "3", "--lr", "1e-3:1",
                 "--optimizer", "sgd,momentum", "--backend", "numba", *QUICK, "--no-plot",
                 "--csv", str(tmp_path / "t.csv")])
    assert code == 0, capsys.readouterr().err
    with open(tmp_path / "t.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and all(1e-3 <= float(r["learning_rate"]) <= 1 for r in rows)


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_stops_the_sweep_and_writes_the_finished_rows(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    # Ctrl-C reaches the whole process group (the command and its worker processes)
    process = subprocess.Popen(
        [sys.executable, "-m", "fastnn", "compare", "--lr", "0.1,0.2,0.3,0.4,0.5,0.6",
         "--iters", "3000", "--batch-size", "64", "--backend", "numba",
         "--csv", str(tmp_path / "t.csv"), "--plot", str(tmp_path / "t.png")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        for line in process.stdout:
            if line.startswith("[run"):
                os.killpg(process.pid, signal.SIGINT)
                break
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert "runs had finished; their rows and curves are written" in err
    assert "Traceback" not in err
    with open(tmp_path / "t.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert 1 <= len(rows) < 6 and all(r["status"] == "completed" for r in rows)
    assert (tmp_path / "t.png").exists()
