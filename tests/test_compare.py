"""fastnn.compare: the grid and the random search, parallel runs equal to train()'s, diverged
runs recorded, Ctrl-C, the CSV, the kept files, the overlay and the engines."""

import csv
import math
import time

import numpy as np
import pytest

from fastnn import TrainConfig, load_model, train
from fastnn.compare import LogUniform, TooManyRunsError, compare, expand
from fastnn.engines import EngineUnavailableError, make_engine

#: Short runs: the bundled MNIST, a few dozen iterations.
QUICK = dict(iters=30, batch_size=32, eval_every=10, hidden_size=20)


def test_the_grid_is_the_cross_product_once_per_seed():
    configs = expand({"optimizer": ["sgd", "adam"], "learning_rate": [0.1, 0.01], "iters": 5},
                     seeds=[3, 4])
    assert [(c["optimizer"], c["learning_rate"], c["seed"]) for c in configs] == [
        ("sgd", 0.1, 3), ("sgd", 0.1, 4), ("sgd", 0.01, 3), ("sgd", 0.01, 4),
        ("adam", 0.1, 3), ("adam", 0.1, 4), ("adam", 0.01, 3), ("adam", 0.01, 4)]
    assert all(c["iters"] == 5 for c in configs)
    assert all(TrainConfig.from_dict(c) for c in configs)  # complete, valid configurations


def test_the_random_search_draws_log_uniformly_and_repeats_with_its_seed():
    grid = {"learning_rate": LogUniform(1e-4, 1.0), "hidden_size": LogUniform(10, 1000),
            "optimizer": ["sgd", "adam"]}
    configs = expand(grid, search="random", trials=2000, search_seed=1)
    assert configs == expand(grid, search="random", trials=2000, search_seed=1)
    assert configs != expand(grid, search="random", trials=2000, search_seed=2)
    lr = np.log10([c["learning_rate"] for c in configs])
    # log10 of a log-uniform draw on [1e-4, 1] is uniform on [-4, 0]: mean -2, a quarter
    # below -3 (the standard error of the mean of 2,000 draws is 4 / sqrt(12 * 2000) = 0.026)
    assert lr.min() >= -4 and lr.max() <= 0
    assert abs(lr.mean() + 2) < 0.12 and abs(np.mean(lr < -3) - 0.25) < 0.04
    hidden = [c["hidden_size"] for c in configs]
    assert all(isinstance(h, int) and 10 <= h <= 1000 for h in hidden)
    assert abs(np.mean(np.log10(hidden)) - 2) < 0.06
    assert abs(np.mean([c["optimizer"] == "adam" for c in configs]) - 0.5) < 0.05


@pytest.mark.parametrize("grid, kwargs, message", [
    ({"lr": [0.1]}, {}, "'lr' is not a training parameter \\(did you mean 'learning_rate'\\?\\)"),
    ({"hiden_size": [5]}, {}, "did you mean 'hidden_size'"),
    ({"learning_rate": LogUniform(1e-3, 1)}, {}, "a range .* is for search='random'"),
    ({"optimizer": ["sgd", "lbfgs"]}, {}, "optimizer='lbfgs' is not known"),
    ({"batch_size": []}, {}, "an empty list of values"),
    ({}, {"search": "random"}, "search='random' needs trials=N"),
    ({}, {"search": "bayes"}, "search='bayes' is not known"),
])
def test_bad_grids_are_refused_naming_what_is_wrong(grid, kwargs, message):
    with pytest.raises(ValueError, match=message):
        expand(grid, **kwargs)


def test_a_range_must_be_positive_and_increasing():
    with pytest.raises(ValueError, match="a range needs 0 < low < high, got 1:0.1"):
        LogUniform(1, 0.1)


def test_too_many_runs_need_confirming_before_anything_starts():
    with pytest.raises(TooManyRunsError, match="this sweep has 60 runs, more than max_runs=50; "
                                               "nothing was started"):
        compare({"hidden_size": list(range(1, 21))}, seeds=[0, 1, 2])


def test_parallel_runs_are_train_runs_and_a_diverged_one_stops_nothing(tmp_path):
    grid = {**QUICK, "backend": "numba", "learning_rate": [0.1, 1e300]}
    seen = []
    result = compare(grid, seeds=[0, 1], jobs=2, keep=tmp_path / "runs", on_result=seen.append)
    assert len(result.rows) == len(seen) == 4 and not result.interrupted
    assert [r["run"] for r in result.rows] == [0, 1, 2, 3]
    for row in result.rows:
        config = TrainConfig.from_dict(row["config"])
        assert config.threads == 1  # two runs at a time on two cores: one thread each
        if config.learning_rate == 1e300:
            assert row["status"] == "diverged" and row["diverged_at"] >= 1
            assert math.isnan(row["final_test_acc"]) and row["eval_seconds"] == []
            continue
        direct = train(config)  # the same configuration run here: the same bits
        assert row["status"] == "completed"
        assert row["final_test_acc"] == direct.test_accuracy
        assert row["history"]["train_loss"] == direct.history["train_loss"]
        assert row["best_test_acc"] == max(direct.history["test_acc"])
        # one time per evaluation, from the run's own loop
        assert len(row["eval_seconds"]) == len(direct.history["eval_iter"])
        assert row["eval_seconds"] == sorted(row["eval_seconds"])
        kept = load_model(tmp_path / "runs" / f"run-{row['run']:03d}.npz")
        np.testing.assert_array_equal(kept.params["W1"], direct.network.params["W1"])
        assert (tmp_path / "runs" / f"run-{row['run']:03d}.csv").exists()
    assert result.best == "lr=0.1"
    table = result.table()
    assert "diverged at iteration" in table and "4 of 4 runs" in table
    assert "best (*): lr=0.1: mean final test accuracy" in table and "2 seeds" in table

    path = result.write_csv(tmp_path / "table.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    assert [r["diverged"] for r in rows] == ["false", "false", "true", "true"]
    assert float(rows[0]["final_test_acc"]) == result.rows[0]["final_test_acc"]
    assert rows[0]["learning_rate"] == "0.1" and rows[3]["seed"] == "1"
    assert rows[2]["diverged_at"] == str(result.rows[2]["diverged_at"])

    fig = result.figure()
    ax_loss, ax_acc = fig.axes
    lines = {line.get_label(): line for line in ax_acc.get_lines()}
    assert set(lines) == {"best: lr=0.1 (2 seeds)", "lr=1e+300 (2 seeds) (2 diverged)"}
    assert lines["best: lr=0.1 (2 seeds)"].get_linewidth() > lines[
        "lr=1e+300 (2 seeds) (2 diverged)"].get_linewidth()
    # the best line is the mean of its two seeds at each evaluation
    h0, h1 = result.rows[0]["history"], result.rows[1]["history"]
    np.testing.assert_allclose(lines["best: lr=0.1 (2 seeds)"].get_ydata(),
                               (np.array(h0["test_acc"]) + np.array(h1["test_acc"])) / 2)
    assert result.plot(tmp_path / "overlay.png").stat().st_size > 10_000


def test_ctrl_c_keeps_the_finished_runs(tmp_path):
    def press_ctrl_c(row):
        raise KeyboardInterrupt  # as the signal does, in the loop that collects the rows

    result = compare({**QUICK, "backend": "numpy", "learning_rate": [0.1, 0.2, 0.3, 0.4]},
                     jobs=1, on_result=press_ctrl_c)
    assert result.interrupted and len(result.rows) == 1
    assert "1 of 4 runs (interrupted: the finished runs only)" in result.table()
    result.write_csv(tmp_path / "t.csv")
    result.plot(tmp_path / "t.png")


def test_the_unreachable_scheduler_fails_fast_and_starts_nothing():
    pytest.importorskip("dask.distributed")
    start = time.perf_counter()
    with pytest.raises(EngineUnavailableError, match="cannot reach the dask scheduler at "
                                                     "tcp://127.0.0.1:9 .*No run was started"):
        compare({"iters": 5}, engine="dask", address="tcp://127.0.0.1:9")
    assert time.perf_counter() - start < 10


def test_engines_say_what_is_wrong():
    with pytest.raises(ValueError, match="engine='spark' is not known"):
        make_engine("spark")
    with pytest.raises(ValueError, match="address .* is for --engine dask or ray"):
        make_engine("local", address="tcp://127.0.0.1:8786")


def test_a_missing_engine_library_says_how_to_install_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(EngineUnavailableError, match=r"pip install 'fastnn\[ray\]'"):
        make_engine("ray")


def test_the_dask_engine_on_a_local_cluster_gives_the_same_runs():
    distributed = pytest.importorskip("dask.distributed")
    grid = {**QUICK, "backend": "numba", "optimizer": ["sgd", "momentum"]}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = compare(grid, engine="dask", address=cluster.scheduler_address)
    assert "dask at tcp://" in result.engine and len(result.rows) == 2
    for row in result.rows:
        assert row["status"] == "completed" and row["config"]["threads"] == 1
        direct = train(TrainConfig.from_dict(row["config"]))
        assert row["final_test_acc"] == direct.test_accuracy
        assert row["history"]["train_loss"] == direct.history["train_loss"]


def test_the_ray_engine_on_a_local_instance_gives_the_same_runs():
    # Ray is not in the dev extras (its wheel and daemons are large for CI's 2 cores); this
    # runs where `pip install 'fastnn[ray]'` was done, in about 15 s.
    pytest.importorskip("ray")
    grid = {**QUICK, "backend": "numba", "optimizer": ["sgd", "momentum"]}
    result = compare(grid, engine="ray")
    assert "Ray at a local instance" in result.engine and len(result.rows) == 2
    for row in result.rows:
        direct = train(TrainConfig.from_dict(row["config"]))
        assert row["final_test_acc"] == direct.test_accuracy


def test_an_unreachable_ray_head_fails_fast():
    pytest.importorskip("ray")
    start = time.perf_counter()
    with pytest.raises(EngineUnavailableError, match="cannot reach the Ray head node at "
                                                     "127.0.0.1:9"):
        compare({"iters": 5}, engine="ray", address="127.0.0.1:9")
    assert time.perf_counter() - start < 10
