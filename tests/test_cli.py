"""The ``fastnn`` command line, called through ``main(argv)`` (and once as ``python -m``)."""

import contextlib
import functools
import inspect
import io
import math
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import fastnn
from fastnn import TrainConfig, _cmd_train, backends, cli, training
from fastnn.backends.interface import Backend
from fastnn.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVAL_LINE = re.compile(r"^iter +(\d+)  epoch +[\d.]+  loss +(\S+) +train (\S+)  test (\S+)$",
                       re.MULTILINE)
FINAL_LINE = re.compile(r"^test accuracy: (\d+\.\d\d) %  \(backend (\w+), (\d+) iterations "
                        r"in [\d.]+ s\)$", re.MULTILINE)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One real 30-iteration training run through the CLI, shared by the tests that read it."""
    tmp = tmp_path_factory.mktemp("tiny")
    plot, save = tmp / "plots" / "x.png", tmp / "w.npz"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["train", "--iters", "30", "--batch-size", "64", "--eval-every", "10",
                     "--hidden", "20", "--backend", "numpy", "--no-progress",
                     "--plot", str(plot), "--save", str(save)])
    return types.SimpleNamespace(code=code, out=out.getvalue(), err=err.getvalue(),
                                 plot=plot, save=save)


def test_train_prints_one_line_per_evaluation(tiny_run):
    assert tiny_run.code == 0, tiny_run.err
    evals = EVAL_LINE.findall(tiny_run.out)
    assert [int(e[0]) for e in evals] == [0, 10, 20, 30]
    assert evals[0][1] == "-"  # no training loss before the first iteration
    for _, loss, train_acc, test_acc in evals[1:]:
        assert 0 < float(loss) < 10
        assert 0 <= float(train_acc) <= 1 and 0 <= float(test_acc) <= 1


def test_train_prints_final_accuracy_consistent_with_last_evaluation(tiny_run):
    final = FINAL_LINE.search(tiny_run.out)
    assert final, tiny_run.out
    percent, backend, n_iters = final.groups()
    assert backend == "numpy" and n_iters == "30"
    last_test = float(EVAL_LINE.findall(tiny_run.out)[-1][3])
    assert float(percent) == pytest.approx(last_test * 100, abs=0.01)


def test_train_writes_a_png(tiny_run):
    assert f"curves written to {tiny_run.plot}" in tiny_run.out
    assert tiny_run.plot.read_bytes()[:8] == PNG_SIGNATURE
    import matplotlib.image

    image = matplotlib.image.imread(tiny_run.plot)
    assert image.shape[0] >= 200 and image.shape[1] >= 400
    assert image[..., :3].std() > 0.05


def test_epochs_run_whole_passes_over_the_training_set(capsys):
    code = main(["train", "--epochs", "2", "--batch-size", "4096", "--hidden", "8",
                 "--backend", "numpy", "--no-progress", "--no-plot"])
    out, err = capsys.readouterr()
    assert code == 0, err
    _, _, n_iters = FINAL_LINE.search(out).groups()
    assert int(n_iters) == 2 * math.ceil(60000 / 4096) == 30
    assert [int(e[0]) for e in EVAL_LINE.findall(out)] == [0, 15, 30]  # every epoch


def test_a_missing_data_set_says_how_to_get_it(monkeypatch, tmp_path, capsys):
    from fastnn.datasets import mnist

    monkeypatch.delenv("FASTNN_DATA_DIR", raising=False)
    monkeypatch.setattr(mnist, "FASHION_MNIST_DIR", str(tmp_path / "none"))
    assert main(["train", "--dataset", "fashion-mnist", "--no-plot", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastnn: error: Fashion-MNIST not found")
    assert "apt-get install dataset-fashion-mnist" in err and "Traceback" not in err


def test_train_saves_the_weights(tiny_run):
    assert f"weights written to {tiny_run.save}" in tiny_run.out
    with np.load(tiny_run.save) as saved:
        shapes = {key: saved[key].shape for key in ("W1", "b1", "W2", "b2")}
    assert shapes == {"W1": (784, 20), "b1": (20,), "W2": (20, 10), "b2": (10,)}


def test_evaluation_line_format():
    history = {"train_loss": [1.0] * 1000 + [0.25, 0.75] * 86, "eval_iter": [0, 1000, 1172],
               "train_acc": [0.1, 0.9, 0.9412], "test_acc": [0.1, 0.9, 0.9398]}
    line = _cmd_train._evaluation_line(1172, history, batch_size=512, width=5)
    # epoch = 1172 * 512 / 60000; the loss averages the 172 iterations since iteration 1000
    assert line == "iter  1172  epoch  10.0  loss 0.5000  train 0.9412  test 0.9398"


# -- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, flag", [
    (["--lr", "-1"], "--lr"),
    (["--batch-size", "0"], "--batch-size"),
    (["--backend", "foo"], "--backend"),
    (["--iters", "0"], "--iters"),
    (["--iters", "ten"], "--iters"),
    (["--eval-every", "0"], "--eval-every"),
    (["--hidden", "-5"], "--hidden"),
    (["--threads", "0"], "--threads"),
    (["--plot", "curves.pgn"], ".pgn"),
    (["--epochs", "0"], "--epochs"),
    (["--iters", "5", "--epochs", "2"], "--iters, --epochs"),
    (["--dataset", "cifar"], "--dataset"),
])
def test_bad_values_exit_2_naming_the_argument(argv, flag, capsys):
    code = main(["train", "--no-plot" if flag != ".pgn" else "--no-progress", *argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert flag in err
    assert "Traceback" not in err
    assert not EVAL_LINE.search(out)  # rejected before any training


@pytest.fixture
def fake_train(monkeypatch):
    """Replace train() by a recorder; ``fake.behaviour(kwargs)`` decides what it does."""
    history = {"train_loss": [2.3, 2.0, 1.5, 1.2], "eval_iter": [0, 2, 4],
               "train_acc": [0.1, 0.5, 0.7], "test_acc": [0.1, 0.45, 0.68]}

    def behaviour(kwargs):
        for iteration in history["eval_iter"]:
            kwargs["callback"](iteration, history)
        return training.TrainResult(network=None, history=history, test_accuracy=0.68,
                                    seconds=0.01, backend="numpy", config=kwargs["config"],
                                    iterations=4, chance_accuracy=0.1135)

    fake = types.SimpleNamespace(calls=[], history=history, behaviour=behaviour)

    @functools.wraps(training.train)  # keeps train()'s signature
    def train(config=None, **kwargs):
        kwargs["config"] = config
        fake.calls.append(kwargs)
        return fake.behaviour(kwargs)

    monkeypatch.setattr(training, "train", train)
    return fake


def test_every_flag_reaches_train(fake_train, tmp_path, capsys):
    code = main(["train", "--backend", "numpy", "--iters", "4", "--batch-size", "7",
                 "--lr", "0.3", "--hidden", "11", "--activation", "sigmoid",
                 "--optimizer", "adam", "--weight-init-std", "0.2", "--dtype", "float32",
                 "--seed", "9", "--eval-every", "2", "--shuffle", "--full-train-eval",
                 "--weight-decay", "0.01", "--schedule", "onecycle", "--target-accuracy",
                 "0.9", "--validation-split", "0.1", "--patience", "4",
                 "--no-progress", "--plot", str(tmp_path / "c.png")])
    assert code == 0, capsys.readouterr().err
    (kwargs,) = fake_train.calls
    assert kwargs["config"].to_dict() == dict(
        backend="numpy", iters=4, batch_size=7, learning_rate=0.3, hidden_size=11,
        activation="sigmoid", optimizer="adam", weight_init_std=0.2, dtype="float32", seed=9,
        eval_every=2, shuffle=True, full_train_eval=True, threads=None, epochs=None,
        dataset="mnist", weight_decay=0.01, schedule="onecycle", target_accuracy=0.9,
        validation_split=0.1, patience=4)
    assert main(["train", "--epochs", "3", "--dataset", "fashion-mnist", "--no-plot"]) == 0
    config = fake_train.calls[-1]["config"]
    assert (config.epochs, config.iters, config.dataset) == (3, None, "fashion-mnist")
    assert type(kwargs["progress"]).__name__ == "_NoticesOnly"  # notices only, no bar


def test_defaults_are_train_defaults(fake_train, capsys):
    assert main(["train", "--no-plot"]) == 0
    (kwargs,) = fake_train.calls
    defaults = {name: p.default for name, p in inspect.signature(training.train).parameters.items()}
    config = kwargs["config"]
    for name in ("backend", "hidden_size", "activation", "optimizer", "learning_rate",
                 "batch_size", "iters", "epochs", "weight_init_std", "dtype", "seed",
                 "eval_every", "shuffle", "full_train_eval", "threads", "dataset"):
        assert getattr(config, name) == defaults[name], name
    assert config == TrainConfig()


def test_progress_bar_unless_no_progress(fake_train, capsys):
    # train() shows it only where stderr is a terminal (tests/test_training.py checks that)
    main(["train", "--no-plot"])
    assert fake_train.calls[-1]["progress"] is True
    main(["train", "--no-plot", "--no-progress"])
    assert type(fake_train.calls[-1]["progress"]).__name__ == "_NoticesOnly"


def test_errors_from_train_exit_2_without_traceback(fake_train, capsys):
    for error in (ValueError("learning_rate must be > 0"), TypeError("seed must be an int"),
                  backends.BackendUnavailableError("backend 'numba' is unavailable here")):
        def behaviour(kwargs, error=error):
            raise error
        fake_train.behaviour = behaviour
        assert main(["train", "--no-plot"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"fastnn: error: {error}")
        assert "Traceback" not in err
    assert "(set by --lr)" in cli._with_flag_names("learning_rate must be > 0")


def test_divergence_exits_3_and_plots_the_history_so_far(fake_train, tmp_path, capsys):
    def behaviour(kwargs):
        history = dict(fake_train.history, train_loss=[2.3, 40.0, float("nan")])
        raise fastnn.TrainingDivergedError("training diverged at iteration 3: the loss is nan",
                                           iteration=3, history=history)
    fake_train.behaviour = behaviour
    plot = tmp_path / "d.png"
    assert main(["train", "--plot", str(plot)]) == 3
    out, err = capsys.readouterr()
    assert "training diverged at iteration 3" in err and "Traceback" not in err
    assert plot.read_bytes()[:8] == PNG_SIGNATURE
    assert str(plot) in out


def test_interrupt_exits_130_and_keeps_the_curves_and_the_weights(fake_train, tmp_path,
                                                                   capsys):
    net = fastnn.TwoLayerNet(784, 5, 10, backend="numpy", seed=0)

    def behaviour(kwargs):
        kwargs["callback"](0, fake_train.history)
        result = training.TrainResult(network=net, history=fake_train.history,
                                      test_accuracy=0.45, seconds=0.01, backend="numpy",
                                      config=kwargs["config"], iterations=2,
                                      stop_reason="interrupted")
        raise fastnn.TrainingInterrupted(result)
    fake_train.behaviour = behaviour
    plot, save = tmp_path / "i.png", tmp_path / "w.npz"
    assert main(["train", "--plot", str(plot), "--save", str(save)]) == 130
    out, err = capsys.readouterr()
    assert "interrupted at iteration 2" in err and "Traceback" not in err
    assert plot.read_bytes()[:8] == PNG_SIGNATURE
    assert f"weights so far written to {save}" in out
    back = fastnn.TwoLayerNet.load(save, backend="numpy")
    np.testing.assert_array_equal(back.params["W1"], net.params["W1"])


def test_the_curves_of_an_interrupted_run_say_so_and_name_the_backend(fake_train, tmp_path,
                                                                       monkeypatch, capsys):
    from fastnn import plotting

    drawn = {}
    monkeypatch.setattr(plotting, "plot_history",
                        lambda history, path, title, chance: drawn.update(
                            title=title, chance=chance) or path)

    def behaviour(kwargs):
        raise fastnn.TrainingInterrupted(training.TrainResult(
            network=None, history=fake_train.history, test_accuracy=0.45, seconds=0.01,
            backend="numba", config=kwargs["config"], iterations=437,
            stop_reason="interrupted", chance_accuracy=0.1135))
    fake_train.behaviour = behaviour
    assert main(["train", "--backend", "auto", "--plot", str(tmp_path / "i.png")]) == 130
    assert drawn["title"].endswith("backend numba (interrupted at iteration 437)")
    assert drawn["chance"] == 0.1135


def test_a_second_interrupt_is_no_traceback_and_leaves_no_temporary_file(fake_train, tmp_path,
                                                                         capsys, monkeypatch):
    def behaviour(kwargs):
        result = training.TrainResult(network=None, history=fake_train.history,
                                      test_accuracy=0.45, seconds=0.01, backend="numpy",
                                      config=kwargs["config"], iterations=2,
                                      stop_reason="interrupted")
        raise fastnn.TrainingInterrupted(result)
    fake_train.behaviour = behaviour

    def ctrl_c_while_writing(self, *args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr("matplotlib.figure.Figure.savefig", ctrl_c_while_writing)
    plot = tmp_path / "i.png"
    plot.write_bytes(b"the previous picture")
    assert main(["train", "--plot", str(plot)]) == 130
    err = capsys.readouterr().err
    assert "interrupted again" in err and "Traceback" not in err
    assert plot.read_bytes() == b"the previous picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.png"]

    def plain_ctrl_c(kwargs):  # as while starting up, before any training
        raise KeyboardInterrupt
    fake_train.behaviour = plain_ctrl_c
    assert main(["train", "--no-plot"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_outputs_are_checked_before_training(fake_train, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for flag, path in (("--plot", blocker / "c.png"), ("--save", blocker / "w.npz"),
                       ("--save", tmp_path)):
        argv = ["train", flag, str(path)] + (["--no-plot"] if flag == "--save" else [])
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert flag in err and str(path) in err and ".tmp" not in err
    assert fake_train.calls == []  # nothing was trained


def test_unwritable_plot_after_training_exits_1(fake_train, tmp_path, capsys, monkeypatch):
    from fastnn import plotting

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(plotting, "plot_history", disk_full)
    assert main(["train", "--plot", str(tmp_path / "c.png")]) == 1
    out, err = capsys.readouterr()
    assert FINAL_LINE.search(out)  # the result is still reported
    assert "cannot write the curves" in err


def test_a_run_at_chance_level_exits_3_saying_what_to_change(fake_train, capsys):
    default = fake_train.behaviour

    def at_chance(kwargs):
        result = default(kwargs)
        result.test_accuracy, result.iterations, result.at_chance = 0.101, 1000, True
        return result
    fake_train.behaviour = at_chance
    assert main(["train", "--no-plot", "--optimizer", "momentum", "--lr", "10"]) == 3
    out, err = capsys.readouterr()
    assert FINAL_LINE.search(out)
    assert "chance level" in err and "learning_rate=10 is large for momentum" in err


def test_threads_limits_numba_and_restores_it(monkeypatch, capsys):
    if "numba" not in backends.available():
        pytest.fail(f"numba backend unavailable: {backends.unavailable_reason('numba')}")
    import numba

    before = numba.get_num_threads()
    seen = []
    real = training.train

    def train(config, **kwargs):
        kwargs["callback"] = lambda i, h: seen.append(numba.get_num_threads())
        return real(config, **kwargs)
    monkeypatch.setattr(training, "train", train)
    args = ["train", "--backend", "numba", "--iters", "2", "--eval-every", "1", "--no-plot"]
    assert main([*args, "--threads", "1"]) == 0
    assert seen == [1, 1, 1]
    assert numba.get_num_threads() == before
    # more threads than cores: capped, and said
    assert main([*args, "--threads", "64"]) == 0
    err = capsys.readouterr().err
    assert "threads=64 is more than the" in err and "Traceback" not in err
    cores = min(os.cpu_count(), numba.config.NUMBA_NUM_THREADS)
    assert seen == [1, 1, 1] + [cores] * 3


def test_threads_with_numpy_backend(fake_train, capsys):
    assert main(["train", "--backend", "numpy", "--threads", "1", "--no-plot"]) == 0
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        assert "threadpoolctl" in capsys.readouterr().err  # says why BLAS is not limited


# -- help, version, no command -------------------------------------------------------------------

TRAIN_FLAGS = ("--backend", "--iters", "--batch-size", "--lr", "--hidden", "--activation",
               "--optimizer", "--weight-init-std", "--dtype", "--seed", "--eval-every",
               "--shuffle", "--full-train-eval", "--no-progress", "--plot", "--no-plot",
               "--save", "--threads", "--epochs", "--dataset", "--history", "--report")


def test_train_help_mentions_every_flag_with_defaults(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in TRAIN_FLAGS:
        assert flag in out, flag
    assert "(default: 512)" in out and "(default: 0.05)" in out
    assert "(default: fastnn-curves.png)" in out
    assert "examples:" in out


def test_every_train_argument_has_a_flag_with_help():
    parser = cli.build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    dests = {action.dest for action in train_parser._actions}
    wanted = set(inspect.signature(training.train).parameters) - {"config", "progress",
                                                                   "callback", "data"}
    assert wanted <= dests, wanted - dests
    for action in train_parser._actions:
        assert action.help, action.dest


@pytest.mark.parametrize("command, words", [
    ("info", ("backends", "thread")),
    ("check", ("Numba", "NumPy")),
])
def test_other_commands_have_help(command, words, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"fastnn {command}" in out
    for word in words:
        assert word in out


def test_top_level_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("train", "info", "check", "--version"):
        assert command in out


def test_no_command_prints_help_and_returns_2(capsys):
    assert main([]) == 2
    assert "usage: fastnn" in capsys.readouterr().out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"fastnn {fastnn.__version__}"


def test_argv_defaults_to_sys_argv(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["fastnn", "--version"])
    assert main() == 0
    assert fastnn.__version__ in capsys.readouterr().out


def test_python_dash_m_fastnn_version():
    done = subprocess.run([sys.executable, "-m", "fastnn", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"fastnn {fastnn.__version__}"


# -- info, check ---------------------------------------------------------------------------------

def test_info_names_backends_data_and_threads(capsys, monkeypatch):
    monkeypatch.delenv("FASTNN_BACKEND", raising=False)
    from fastnn.datasets import mnist

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"fastnn {fastnn.__version__}")
    for name in backends.NAMES:
        assert re.search(rf"^  {name} +(available|unavailable: .+)$", out, re.MULTILINE), name
    assert f"auto -> {backends.resolve_name('auto')}" in out
    assert str(mnist.BUNDLED_PATH) in out
    assert "x_train 60000x28x28 uint8" in out
    assert f"cpu count              {os.cpu_count()}" in out
    assert "OMP_NUM_THREADS" in out


def test_info_reports_the_environment_override(capsys, monkeypatch):
    monkeypatch.setenv("FASTNN_BACKEND", "numpy")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "auto -> numpy" in out and "FASTNN_BACKEND=numpy overrides" in out


def test_check_passes_and_names_every_kernel(capsys, monkeypatch, crosscheck_report):
    from fastnn.backends import crosscheck

    monkeypatch.setattr(crosscheck, "run_crosscheck", lambda: crosscheck_report)  # run once
    code = main(["check"])
    out = capsys.readouterr().out
    assert code == 0, out
    for kernel in Backend.__abstractmethods__:
        assert kernel in out, kernel


def test_check_without_numba_says_why(monkeypatch, capsys):
    monkeypatch.setattr(backends, "available", lambda: ["numpy"])
    monkeypatch.setattr(backends, "unavailable_reason", lambda name: "numba is broken here")
    assert main(["check"]) == 1
    assert "numba is broken here" in capsys.readouterr().err


def test_check_fails_on_a_mismatch(monkeypatch, capsys):
    report = types.SimpleNamespace(ok=False, format_table=lambda: "dense_forward  MISMATCH")
    module = types.ModuleType("fastnn.backends.crosscheck")
    module.run_crosscheck = lambda: report
    monkeypatch.setitem(sys.modules, "fastnn.backends.crosscheck", module)
    monkeypatch.setattr(backends, "available", lambda: ["numpy", "numba"])
    assert main(["check"]) == 1
    assert "dense_forward  MISMATCH" in capsys.readouterr().out


def test_a_closed_pipe_is_not_a_traceback(monkeypatch, capsys):
    def info(args):
        raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(cli, "_cmd_info", info)
    assert main(["info"]) == 0  # the reader left: not an error


def test_bench_is_an_ordinary_subcommand(capsys, monkeypatch):
    import fastnn.bench

    seen = []
    monkeypatch.setattr(fastnn.bench, "run_bench", lambda args: seen.append(args) or 0)
    assert main(["bench", "--quick", "--out", "x"]) == 0
    (args,) = seen
    assert args.quick and args.out == "x" and args.threads == 2
    monkeypatch.undo()
    assert main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--quick" in out and "--threads" in out
    assert main(["--help"]) == 0
    assert "bench" in capsys.readouterr().out


def test_ctrl_c_in_a_real_run_saves_the_weights_trained_so_far(tmp_path):
    import signal

    save = tmp_path / "w.npz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastnn", "train", "--backend", "numpy", "--iters", "1000000",
         "--batch-size", "64", "--eval-every", "20", "--no-plot", "--save", str(save)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        lines = []
        while len(lines) < 3:  # iterations 0, 20 and 40 are done
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted at iteration" in err and "Traceback" not in err
    assert f"weights so far written to {save}" in out
    net = fastnn.TwoLayerNet.load(save, backend="numpy")
    assert net.params["W1"].shape == (784, 50) and np.isfinite(net.params["W1"]).all()
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


def test_fast_is_the_preset_and_explicit_flags_override_it(fake_train, capsys):
    from fastnn.presets import preset_config

    assert main(["train", "--fast", "--no-plot", "--no-progress"]) == 0
    assert fake_train.calls[-1]["config"] == preset_config("fast")
    # a flag given explicitly wins, even when it names the default value (512)
    assert main(["train", "--preset", "fast-800", "--seed", "3", "--batch-size", "512",
                 "--no-plot", "--no-progress"]) == 0
    assert fake_train.calls[-1]["config"] == preset_config("fast-800", seed=3, batch_size=512)
    assert main(["train", "--weight-init-std", "he", "--no-plot", "--no-progress"]) == 0
    assert fake_train.calls[-1]["config"].weight_init_std == "he"
    assert main(["train", "--fast", "--preset", "fast-800", "--no-plot"]) == 2
    assert "--fast is --preset fast" in capsys.readouterr().err


def test_bad_option_values_name_their_flags(capsys):
    for argv, flag in ((["--weight-init-std", "kaiming"], "--weight-init-std"),
                       (["--target-accuracy", "97"], "--target-accuracy"),
                       (["--patience", "3"], "--patience"),
                       (["--schedule", "linear"], "--schedule")):
        assert main(["train", "--no-plot", *argv]) == 2
        err = capsys.readouterr().err
        assert flag in err and "Traceback" not in err, err
