"""The benchmark's reference rows and report: the naive loop is the seed's math, the PyTorch twin
matches the NumPy reference, and ``fastnn bench`` writes its report and plots. No wall times are
asserted anywhere: the machine is shared and noisy."""

import argparse
import math
import sys

import numpy as np
import pytest

import fastnn
from fastnn.bench import measure, options, startup
from fastnn.bench.baselines import seed, torch_twin
from fastnn.bench.baselines.naive import naive_train, prepare_data
from fastnn.bench.results import LABELS, BenchResults
from fastnn.cli import main


def _draws(seed_value, n_train, hidden, batch_size, k):
    """The first ``k`` mini-batches of ``train(seed=seed_value)``: after W1 and W2 are drawn."""
    rs = np.random.RandomState(seed_value)
    rs.randn(784, hidden)
    rs.randn(hidden, 10)
    return [rs.choice(n_train, batch_size) for _ in range(k)]


# -- the naive loop ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_naive_params_equal_numpy_train(mnist_small, dtype, rtol):
    # Same RandomState order (W1, W2, then one choice per iteration) and the same math: after k
    # iterations the naive loop holds train()'s parameters. (In float32 the seed's integer
    # relu_grad mask upcasts dW1 to float64, hence the looser tolerance.)
    k = 6
    result = naive_train(k, batch_size=64, hidden_size=20, dtype=dtype, seed=3,
                         data=mnist_small)
    reference = fastnn.train(backend="numpy", iters=k, batch_size=64, hidden_size=20,
                             dtype=dtype, seed=3, data=mnist_small)
    for key in ("W1", "b1", "W2", "b2"):
        assert result.params[key].dtype == np.dtype(dtype)
        np.testing.assert_allclose(result.params[key], reference.network.params[key],
                                   rtol=rtol, atol=rtol * 1e-2, err_msg=key)


def test_naive_logs_the_loss_after_the_update(mnist_small):
    # The seed's second forward pass: losses[0] is the loss of batch 0 under the updated weights.
    result = naive_train(1, batch_size=32, hidden_size=10, seed=5, data=mnist_small)
    net = fastnn.train(backend="numpy", iters=1, batch_size=32, hidden_size=10, seed=5,
                       data=mnist_small).network
    (batch,) = _draws(5, mnist_small[0].shape[0], 10, 32, 1)
    expected = net.loss(mnist_small[0][batch] / 255.0, mnist_small[1][batch])
    assert result.losses[0] == pytest.approx(expected, rel=1e-12)
    assert len(result.losses) == 1 and 0.0 <= result.test_accuracy <= 1.0


def test_naive_loop_is_the_seed_program(mnist_small):
    # The teaching program itself (its class and loop, NumPy's global state) gives the same
    # parameters and logged losses, bit for bit.
    x_u8, y, x_test_u8, y_test = mnist_small
    x_train, t_train = x_u8 / 255.0, seed.change_one_hot_label(y)
    np.random.seed(7)
    network = seed.TwoLayerNet(input_size=784, hidden_size=16, output_size=10)
    losses = []
    for _ in range(4):
        batch_mask = np.random.choice(x_train.shape[0], 48)
        grad = network.gradient(x_train[batch_mask], t_train[batch_mask])
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= 0.05 * grad[key]
        losses.append(network.loss(x_train[batch_mask], t_train[batch_mask]))
    result = naive_train(4, batch_size=48, hidden_size=16, seed=7, data=mnist_small)
    assert result.losses == losses
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(result.params[key], network.params[key])
    expected_acc = network.accuracy(x_test_u8 / 255.0, seed.change_one_hot_label(y_test))
    assert result.test_accuracy == expected_acc


def test_naive_prepared_data_is_reused_and_checked(mnist_small):
    data = prepare_data(mnist_small, "float32")
    assert data.x_train.dtype == np.float32 and data.t_train.shape == (2000, 10)
    assert prepare_data(data, "float32") is data
    with pytest.raises(ValueError, match="float32"):
        prepare_data(data, "float64")
    times = []
    result = naive_train(3, batch_size=16, hidden_size=8, dtype="float32", data=data,
                         step_times=times)
    assert len(times) == 3 and all(t >= 0 for t in times)
    assert len(result.train_acc) == 1  # i % (2000 / 16) == 0 only at i = 0
    assert all(math.isfinite(v) for v in result.losses)


# -- the PyTorch twin ---------------------------------------------------------------------------

def test_torch_twin_first_loss_matches_reference(mnist_small):
    pytest.importorskip("torch", reason="PyTorch is optional; the twin is skipped without it")
    reference = fastnn.train(backend="numpy", iters=3, batch_size=64, hidden_size=20, seed=2,
                             data=mnist_small)
    result = torch_twin.torch_train(3, batch_size=64, hidden_size=20, seed=2,
                                         data=mnist_small, threads=1)
    # Same weights, same batch, the seed's loss formula: the first loss agrees to rounding.
    assert abs(result.losses[0] - reference.history["train_loss"][0]) <= 1e-12
    # Later ones differ only by autograd's exact gradient of log(p + 1e-7) (a ~1e-7 factor).
    np.testing.assert_allclose(result.losses, reference.history["train_loss"], rtol=1e-6)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(result.params[key], reference.network.params[key],
                                   rtol=1e-6, atol=1e-9, err_msg=key)
    assert result.eval_iter == reference.history["eval_iter"]
    assert result.test_accuracy == pytest.approx(reference.test_accuracy, abs=2 / 500)
    assert result.threads == 1


def test_torch_absent_gives_a_reason(monkeypatch):
    monkeypatch.setattr(torch_twin, "_torch", None)
    monkeypatch.setattr(torch_twin, "_import_error", None)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    why = torch_twin.torch_unavailable()
    assert why is not None and "PyTorch is not importable" in why
    assert torch_twin.torch_version() is None
    with pytest.raises(RuntimeError, match="install torch"):
        torch_twin.torch_train(1)
    assert measure.impl_unavailable("torch") == why
    assert measure.impl_unavailable("torch", use_torch=False) == "disabled with --no-torch"


# -- the report ----------------------------------------------------------------------------------

def test_numpy_wins_lists_only_shapes_where_numpy_is_faster():
    scaling = {("numpy", "float64", 1, 50): 1.0, ("numba", "float64", 1, 50): 2.0,
               ("numpy", "float64", 512, 50): 2.0, ("numba", "float64", 512, 50): 1.0,
               ("torch", "float64", 1, 50): 0.1}
    results = BenchResults(settings=options.BenchSettings(dtypes=("float64",)), scaling=scaling)
    assert results.numpy_wins() == [("float64", 1, 50, 2.0)]


def test_every_flag_has_help(capsys):
    parser = options.add_bench_arguments(argparse.ArgumentParser())
    for action in parser._actions:
        assert action.help, action.dest
    for bad in (["--threads", "0"], ["--dtypes", "float16"], ["--batch-sizes", "0,2"]):
        assert main(["bench", *bad, "--out", "/nonexistent/never-written"]) == 2
        assert bad[0] in capsys.readouterr().err


def test_startup_run_reports_a_finished_first_step():
    result = startup.startup_run("numpy", threads=1, hidden=8, batch_size=16)
    assert result["backend"] == "numpy" and math.isfinite(result["loss"])
    assert 0 < result["import_s"] <= result["backend_s"] <= result["first_step_s"]


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    argv = ["--quick", "--out", str(out), "--iters", "20", "--hidden-sizes", "16,32",
            "--batch-sizes", "1,8", "--dtypes", "float64", "--threads", "1", "--no-startup",
            "--no-paths"]
    assert main(["bench", *argv]) == 0
    return out


def test_quick_report_has_the_tables(quick_report):
    text = (quick_report / "REPORT.md").read_text()
    header = ("| implementation | dtype | train() s | ms/it | x vs fastnn numpy | "
              "x vs naive loop |")
    assert header in text
    assert "GFLOP/s" in text and measure.FLOP_FORMULA in text
    assert "## Machine and libraries" in text and f"| numpy | {np.__version__} |" in text
    rows = [line for line in text.splitlines() if line.startswith("| fastnn numpy | float64 |")]
    assert len(rows) == 1 and "| 1 | " in rows[0]  # the NumPy row is its own reference
    assert "| naive loop (seed as written) | float64 |" in text
    for impl in ("numba", "torch"):
        why = measure.impl_unavailable(impl)
        assert (f"| {LABELS[impl]} | float64 |" in text) == (why is None)
    assert "By hidden size (batch 512)" in text and "By batch size (hidden 50)" in text
    assert "Skipped (--no-startup)." in text
    assert "## Every path a user takes" in text and "(`--no-paths`" in text
    assert "![speed-up over the NumPy backend](speedup.png)" in text


def test_quick_report_writes_pngs_atomically(quick_report):
    for name in ("speedup.png", "time_per_sample.png"):
        assert (quick_report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in quick_report.iterdir() if p.name.endswith(".tmp")]


def test_no_plots_and_a_failing_row(tmp_path, monkeypatch):
    # A row that raises is reported (and makes the exit status 1); the others still run.
    real = measure.run_training

    def flaky(impl, *args, **kwargs):
        if impl == "naive":
            raise FloatingPointError("boom")
        return real(impl, *args, **kwargs)

    monkeypatch.setattr(measure, "run_training", flaky)
    argv = ["--quick", "--out", str(tmp_path), "--iters", "5", "--hidden-sizes", "8",
            "--batch-sizes", "4", "--dtypes", "float32", "--threads", "1", "--no-startup",
            "--no-plots", "--no-torch", "--repeats", "1", "--no-paths"]
    assert main(["bench", *argv]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["REPORT.md"]
    text = (tmp_path / "REPORT.md").read_text()
    assert ".png" not in text and "disabled with --no-torch" in text
    assert "Some measurements failed" in text and "FloatingPointError: boom" in text
    assert "| fastnn numpy | float32 |" in text and "| naive loop" not in text
