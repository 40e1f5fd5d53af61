"""fastnn.bench.time_to_accuracy: the time read off the evaluations, the PyTorch recipe equal
to fastnn's, the Markdown section. No wall time is asserted: the machine is shared."""

import pytest

from fastnn.bench.time_to_accuracy import (
    measure_time_to_accuracy,
    render_time_to_accuracy,
    seconds_to,
    torch_time_to_accuracy,
)
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
    assert text.count("(2/2)") >= 2

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
