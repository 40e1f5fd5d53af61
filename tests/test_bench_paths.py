"""The report's "every path" section: its rows, their ratios and the drop-in loops' sameness."""

import numpy as np
import pytest

from fastnn.bench import paths
from fastnn.bench.baselines.naive import naive_train
from fastnn.bench.options import BenchSettings
from fastnn.bench.render_paths import render_paths
from fastnn.network import TwoLayerNet

TINY = BenchSettings(quick=True, min_reps=1, point_seconds=0.0, repeats=1, threads=1,
                     dtypes=("float64",))


def test_ratio_is_the_medians_ratio_with_the_per_round_range():
    row = paths.PathRow("wide", "x", {"a": [1.0, 2.0, 3.0], "b": [2.0, 6.0, 3.0]})
    assert row.subject == "a" and row.seconds("b") == 3.0
    # medians 3 / 2; per round 2, 3 and 1
    assert row.ratio("b") == (1.5, 1.0, 3.0)
    assert row.ratio("a") == (1.0, 1.0, 1.0)


def test_render_paths_formats_the_tables():
    rows = [paths.PathRow("optimizers", "sgd (float64)", {"numba": [0.001], "numpy": [0.003]}),
            paths.PathRow("optimizers", "adam (float64)", {"numba": [0.0015], "numpy": [0.006]}),
            paths.PathRow("busy", "quiet, 10 iterations (float64)",
                          {"default (adaptive)": [2.0, 4.0], "1 thread": [3.0, 2.0]})]
    lines = []
    render_paths(rows, lines.append)
    text = "\n".join(lines)
    # milliseconds for steps, the ratio numpy/numba, the step over SGD's in the same dtype
    assert "| adam (float64) | 1.5 | 6 | 4.00x | 1.50 |" in text
    assert "| sgd (float64) | 1 | 3 | 3.00x | 1.00 |" in text
    # seconds for whole runs; medians 3 and 2.5, per-round ratios 1.5 and 0.5
    assert "| quiet, 10 iterations (float64) | 3 | 2.5 | 0.83x (0.50–1.50) |" in text
    assert text.index(paths.SECTIONS["optimizers"]) < text.index(paths.SECTIONS["busy"])
    assert paths.SECTIONS["wide"] not in text
    empty = []
    render_paths([], empty.append)
    assert "--no-paths" in "\n".join(empty)


def test_one_core_busy_runs_a_spinner_only_inside_the_block():
    with paths.one_core_busy() as spinner:
        assert spinner.poll() is None
    assert spinner.poll() is not None


@pytest.mark.parametrize("kwargs", [
    dict(batch_size=64, learning_rate=0.05, activation="relu", dtype="float64"),
    dict(batch_size=100, learning_rate=0.1, activation="sigmoid", dtype="float32",
         weights_dtype="float64"),
], ids=["teaching", "book"])
def test_the_loop_on_fastnn_classes_gives_the_seed_classes_results(mnist_small, kwargs):
    # the drop-in rows time the same computation on both sides, so the losses must agree
    seed = naive_train(30, data=mnist_small, seed=3, **kwargs)
    ours = naive_train(30, data=mnist_small, seed=3, network_class=TwoLayerNet, **kwargs)
    np.testing.assert_allclose(ours.losses, seed.losses, rtol=1e-10)
    assert ours.test_accuracy == seed.test_accuracy
    for key, value in seed.params.items():
        assert ours.params[key].dtype == value.dtype
        np.testing.assert_allclose(ours.params[key], value, rtol=1e-9, atol=1e-12)


def test_optimizer_rows_cover_every_optimizer_on_both_backends(mnist_small):
    from fastnn.optimizers import OPTIMIZERS

    failures = {}
    rows = paths.measure_optimizers(mnist_small, ("float64",), 1, TINY, failures)
    assert failures == {}
    assert [r.name for r in rows] == [f"{opt} (float64)" for opt in OPTIMIZERS]
    for row in rows:
        assert list(row.times) == ["numba", "numpy"]
        assert all(len(t) == 1 and t[0] > 0 for t in row.times.values())


def test_busy_rows_measure_quiet_and_busy_with_each_thread_setting(mnist_small):
    failures = {}
    rows = paths.measure_busy(mnist_small, 5, 1, 2, failures)
    assert failures == {}
    assert [r.name.split(",")[0] for r in rows] == ["quiet", "one core busy"]
    for row in rows:
        assert list(row.times) == ["default (adaptive)", "2 threads", "1 thread"]
        assert all(t[0] > 0 for t in row.times.values())


def test_a_failing_row_is_recorded_and_the_others_still_come(mnist_small, monkeypatch):
    real = paths._fastnn_step

    def flaky(backend, dtype, n, h, x, y, optimizer="sgd"):
        if optimizer == "adam" and backend == "numpy":
            raise FloatingPointError("boom")
        return real(backend, dtype, n, h, x, y, optimizer)

    monkeypatch.setattr(paths, "_fastnn_step", flaky)
    failures = {}
    rows = paths.measure_optimizers(mnist_small, ("float64",), 1, TINY, failures)
    assert "adam (float64)" not in [r.name for r in rows] and len(rows) >= 5
    assert any("FloatingPointError: boom" in m for m in failures.values())
