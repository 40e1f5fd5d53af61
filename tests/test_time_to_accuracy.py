"""fastnn.bench.time_to_accuracy: the time read off the evaluations, the PyTorch recipe equal
to fastnn's, the Markdown section. No wall time is asserted: the machine is shared."""

import pytest

from fastnn.bench import time_to_accuracy as tta
from fastnn.bench.options import BenchSettings
from fastnn.bench.render import render_report
from fastnn.bench.results import BenchResults
from fastnn.bench.time_to_accuracy import (
    measure_time_to_accuracy,
    render_time_to_accuracy,
    seconds_to,
    torch_time_to_accuracy,
)
from fastnn.cli import main
from fastnn.presets import preset_config

SHORT = dict(iters=60, eval_every=20, target_accuracy=0.9)

def test_the_time_is_the_first_evaluation_at_or_above_the_target():
    accs, times = [0.1, 0.95, 0.97, 0.969, 0.98], [0.0, 1.0, 2.0, 3.0, 4.0]
    assert seconds_to(0.97, accs, times) == 2.0
    assert seconds_to(0.98, accs, times) == 4.0
    assert seconds_to(0.99, accs, times) is None

def test_a_measured_row_per_implementation_and_seed():
    rows = measure_time_to_accuracy("fast", implementations=("numba", "numpy"), seeds=(0, 1),
                                    targets=(0.5, 0.9), **SHORT)
    assert [(r["implementation"], r["seed"]) for r in rows] == [
        ("fastnn numba", 0), ("fastnn numba", 1), ("fastnn numpy", 0), ("fastnn numpy", 1)]
    for r in rows:
        assert r["iterations"] <= 60 and r["preset"] == "fast"
        assert r["times"][0.5] is not None and r["times"][0.5] <= r["seconds"]
        if r["times"][0.9] is not None:
            assert r["stop_reason"] == "target_accuracy"
    text = render_time_to_accuracy(rows, targets=(0.5, 0.9))
    assert "| fast | fastnn numba |" in text and "| fast | fastnn numpy |" in text
    assert text.count("2/2)") >= 2

def test_the_pytorch_recipe_reaches_fastnns_accuracies():
    pytest.importorskip("torch")
    config = preset_config("fast", **{**SHORT, "target_accuracy": None, "dtype": "float64"})
    theirs = torch_time_to_accuracy(config, targets=(0.5,))
    ours = measure_time_to_accuracy("fast", implementations=("numpy",), targets=(0.5,),
                                    **{**SHORT, "target_accuracy": None, "dtype": "float64"})[0]
    # the same weights, batches and rates in float64: the same predictions at every evaluation
    # but for the twin's autograd loss (p / (p + 1e-7) on the true class)
    assert theirs["iterations"] == ours["iterations"] == 60
    assert abs(theirs["final"] - ours["final"]) <= 0.002

def test_the_section_says_what_was_not_run_and_compares_with_the_fastest():
    rows = [dict(preset="fast", implementation="fastnn numba", seed=0, final=0.981,
                 iterations=2000, times={0.97: 0.8, 0.98: 2.0}),
            dict(preset="fast", implementation="PyTorch CPU", seed=0, final=0.98,
                 iterations=2000, times={0.97: 3.0, 0.98: 7.0}),
            dict(preset="fast", implementation="fastnn numpy", seed=0,
                 error="PyTorch is not importable")]
    text = render_time_to_accuracy(rows)
    assert "| fast | fastnn numba | 0.80 s (1/1) | 2.00 s (1/1) | 98.10 % | 2,000 | fastest |" \
        in text
    assert "| fast | PyTorch CPU | 3.00 s (1/1) | 7.00 s (1/1) | 98.00 % | 2,000 | 3.5x slower |" \
        in text
    assert "not run: PyTorch is not importable" in text


def test_an_unknown_implementation_is_named():
    with pytest.raises(ValueError, match="implementations: unknown implementation 'jax'"):
        measure_time_to_accuracy("fast", implementations=("numba", "jax"))


# -- in fastnn bench ---------------------------------------------------------------------------

def _row(preset, impl, seed, accs, times, targets):
    return dict(preset=preset, implementation=impl, seed=seed, final=accs[-1],
                iterations=100 * (len(accs) - 1), stop_reason="target_accuracy",
                times={t: seconds_to(t, accs, times) for t in targets})


def test_the_bench_section_has_a_table_per_preset_with_its_targets():
    fast_targets, big_targets = (0.97, 0.98), (0.97, 0.98, 0.984)
    accs = [[0.1, 0.96, 0.972, 0.981], [0.1, 0.971, 0.975, 0.98], [0.1, 0.95, 0.97, 0.979]]
    times = [[0.0, 0.5, 1.0, 1.5], [0.0, 0.6, 1.2, 1.8], [0.0, 0.4, 0.8, 1.2]]
    rows = [_row("fast", "fastnn numba", s, a, t, fast_targets)
            for s, (a, t) in enumerate(zip(accs, times))]
    rows.append(_row("fast", "PyTorch CPU", 0, [0.1, 0.97, 0.98], [0.0, 2.0, 6.0],
                     fast_targets))
    rows.append(_row("fast-800", "fastnn numba", 0, [0.1, 0.98, 0.9845], [0.0, 3.0, 9.0],
                     big_targets))
    results = BenchResults(settings=BenchSettings(), time_to_accuracy=rows,
                           time_to_accuracy_note="a note")
    text = render_report(results)
    section = text[text.index("## Time to accuracy"):]
    # 97 %: seeds at 1.0, 0.6, 0.8 s -> median 0.8; 98 %: 1.5, 1.8 s, one seed never -> 1.65
    assert ("| fast | fastnn numba | 0.80 s (0.60–1.00, 3/3) | 1.65 s (1.50–1.80, 2/3) | "
            "98.00 % | 300 | fastest |") in section
    # PyTorch: 6.0 s to 98 % against the fastest fastnn median 1.65 s
    assert ("| fast | PyTorch CPU | 2.00 s (1/1) | 6.00 s (1/1) | 98.00 % | 200 | "
            f"{6.0 / 1.65:.1f}x slower |") in section
    assert "| preset | implementation | to 97 % | to 98 % | final test acc |" in section
    assert ("| preset | implementation | to 97 % | to 98 % | to 98.4 % | final test acc |"
            in section)
    assert ("| fast-800 | fastnn numba | 3.00 s (1/1) | 3.00 s (1/1) | 9.00 s (1/1) | "
            "98.45 % | 200 | fastest |") in section
    assert "a note" in section


def test_the_bench_section_says_when_it_was_skipped():
    results = BenchResults(settings=BenchSettings(time_to_accuracy=False),
                           time_to_accuracy_note="Skipped (--no-time-to-accuracy).")
    text = render_report(results)
    assert "## Time to accuracy" in text and "Skipped (--no-time-to-accuracy)." in text
    assert "--no-time-to-accuracy" in BenchSettings(time_to_accuracy=False).command()
    assert "--no-time-to-accuracy" not in BenchSettings().command()


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def fake(preset, *, implementations, seeds, targets, **overrides):
        seen.append((preset, implementations, seeds, targets, overrides))
        return [dict(preset=preset, implementation=f"fastnn {implementations[0]}", seed=s,
                     final=0.99, iterations=10, times={t: 0.5 for t in targets})
                for s in seeds]

    monkeypatch.setattr(tta, "measure_time_to_accuracy", fake)
    return seen


def test_the_full_bench_measures_both_presets_and_leaves_out_torch_when_told(calls):
    rows, note = tta.bench_time_to_accuracy(BenchSettings(use_torch=False), {})
    assert [c[:3] for c in calls] == [("fast", ("numba",), (0, 1, 2)),
                                      ("fast", ("numpy",), (0, 1, 2)),
                                      ("fast-800", ("numba",), (0, 1, 2))]
    assert calls[2][3] == (0.97, 0.98, 0.984) and all(c[4] == {} for c in calls)
    assert note == ""
    assert [r for r in rows if "error" in r] == [dict(
        preset="fast", implementation="PyTorch CPU", seed=0, error="disabled with --no-torch")]
    calls.clear()
    tta.bench_time_to_accuracy(BenchSettings(), {})
    assert ("fast", ("torch",), (0, 1, 2)) in [c[:3] for c in calls]


def test_quick_bench_runs_one_short_fast_row_and_says_so(calls, tmp_path):
    argv = ["--quick", "--out", str(tmp_path), "--iters", "5", "--hidden-sizes", "8",
            "--batch-sizes", "4", "--dtypes", "float32", "--threads", "1", "--no-startup",
            "--no-plots", "--no-torch", "--repeats", "1", "--no-paths"]
    assert main(["bench", *argv]) == 0
    assert calls == [("fast", ("numba",), (0,), (0.97, 0.98), {})]
    text = (tmp_path / "REPORT.md").read_text()
    assert "| fast | fastnn numba | 0.50 s (1/1) | 0.50 s (1/1) | 99.00 % | 10 | fastest |" \
        in text
    assert "`--quick`: preset `fast` on numba only, one seed" in text
    calls.clear()
    assert main(["bench", *argv, "--no-time-to-accuracy"]) == 0
    assert calls == []
    assert "Skipped (--no-time-to-accuracy)." in (tmp_path / "REPORT.md").read_text()
