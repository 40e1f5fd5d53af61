"""The ``fastnn`` command: ``fastnn train | evaluate | info | check | bench``.

Each subcommand is a function of the parsed arguments that returns the exit status, so
:func:`main` can be called from tests and scripts as well as from the console script. The
``train`` flags are generated from :class:`fastnn.TrainConfig`, one per field.

Exit status: 0 success; 1 a check failed or an output file could not be written; 2 a usage
error (argparse's own, or an argument ``train()`` rejects); 3 training diverged; 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import warnings
import zipfile

import fastnn
from fastnn import backends
from fastnn.config import TrainConfig, config_fields

__all__ = ["main", "build_parser"]

PROG = "fastnn"
DEFAULT_PLOT = "fastnn-curves.png"

_TRAIN_EXAMPLE = """\
example:
  fastnn train --backend numba --iters 10000 --batch-size 512 --lr 0.05 --plot curves.png
  fastnn train --optimizer adam --lr 0.001 --dtype float32 --save weights.npz --no-plot
"""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults, but not the uninformative ``None``/``False`` of optional flags."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``fastnn`` argument parser with all its subcommands."""
    from fastnn.bench.options import add_bench_arguments

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_HelpFormatter,
        description="Train and inspect a 784-50-10 MNIST network with a NumPy or Numba backend.",
        epilog="example:\n  fastnn train --iters 10000\n  fastnn info\n  fastnn check\n"
               "  fastnn bench --quick\n\n"
               "Run 'fastnn COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {fastnn.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(commands)
    from fastnn import _cmd_evaluate, _cmd_predict

    _cmd_evaluate.add_parser(commands, _HelpFormatter)
    _cmd_predict.add_parser(commands, _HelpFormatter)
    info = commands.add_parser(
        "info", formatter_class=_HelpFormatter, help="versions, backends, threads and data",
        description="Show fastnn's version, library versions, which backends work here (and\n"
                    "why not), which one 'auto' picks, thread settings and the bundled data;\n"
                    "or, given a model file, what it holds.",
        epilog="examples:\n  fastnn info\n  fastnn info weights.npz")
    info.add_argument("model", nargs="?", metavar="MODEL",
                      help="a model file written by 'fastnn train --save': show its sizes, "
                           "training configuration, data set and test accuracy instead")
    commands.add_parser(
        "check", formatter_class=_HelpFormatter, help="cross-check Numba kernels against NumPy",
        description="Run every kernel of the Numba backend against the NumPy reference on\n"
                    "awkward shapes in both dtypes and print a table; exit 1 on any mismatch.",
        epilog="example:\n  fastnn check")
    bench = commands.add_parser(
        "bench", formatter_class=_HelpFormatter,
        help="benchmark the backends; writes bench/REPORT.md and plots",
        description="Run the benchmark comparison (every backend, the naive loop, PyTorch if\n"
                    "installed) and write REPORT.md plus PNG plots.",
        epilog="examples:\n  fastnn bench\n  fastnn bench --quick --out /tmp/bench\n"
               "  fastnn bench --iters 10000 --repeats 3")
    add_bench_arguments(bench)
    return parser


def _add_train(commands):
    p = commands.add_parser(
        "train", formatter_class=_HelpFormatter, epilog=_TRAIN_EXAMPLE,
        help="train the network and plot its curves",
        description="Train the two-layer network on the bundled MNIST with mini-batch gradient\n"
                    "descent, print train and test accuracy at each evaluation, and write the\n"
                    "loss and accuracy curves to an image.")
    for f in config_fields():
        meta = f.metadata
        if isinstance(f.default, bool):
            p.add_argument(meta["flag"], dest=f.name, action="store_true", help=meta["help"])
            continue
        p.add_argument(meta["flag"], dest=f.name, default=f.default, help=meta["help"],
                       type=meta["parse"] or type(f.default), metavar=meta["metavar"],
                       choices=meta["choices"])
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is only shown when stderr is a terminal anyway)")
    p.add_argument("--plot", metavar="PATH", default=DEFAULT_PLOT,
                   help="image file for the loss and accuracy curves; the extension picks the "
                        "format (.png, .pdf, .svg, ...)")
    p.add_argument("--no-plot", action="store_true", help="do not write the curves")
    p.add_argument("--save", metavar="PATH",
                   help="write the trained network to this model file (.npz; read it with "
                        "'fastnn evaluate', 'fastnn predict' or fastnn.load_model)")
    p.add_argument("--report", metavar="DIR",
                   help="after training, write the confusion matrix, the misclassified test "
                        "images and the hidden units' weights as PNG files into DIR")
    return p


def main(argv=None) -> int:
    """Run the ``fastnn`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Exit status (0 success, 1 failure, 2 usage error, 3 diverged, 130 interrupted).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while starting up or compiling: no traceback
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line for a person at a terminal, not a source location."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _main(argv):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: return, don't exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help()
        return 2
    command = {"train": _cmd_train, "info": _cmd_info, "check": _cmd_check,
               "bench": _cmd_bench, "evaluate": _cmd_evaluate,
               "predict": _cmd_predict}[args.command]
    try:
        return command(args)
    except BrokenPipeError:  # `fastnn info | head`: the reader left, which is not an error
        _silence_stdout()
        return 0


def _silence_stdout():
    # The recipe of Python's signal docs: without it the interpreter's final flush of stdout
    # raises BrokenPipeError again and prints a traceback on the way out.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is no real file (tests, IDEs)
        pass


def _error(message) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _with_flag_names(message):
    """Append the flags of the training parameters that ``message`` is about (it starts with
    their name, or says ``name=value``)."""
    flags = [f.metadata["flag"] for f in config_fields()
             if re.search(rf"(^|[\s(]){f.name}(=| must\b| is\b)", message)]
    return f"{message} (set by {', '.join(flags)})" if flags else message


# -- train --------------------------------------------------------------------------------------

def _cmd_train(args) -> int:
    import warnings

    from fastnn import training
    from fastnn._io import check_output_path

    try:
        config = TrainConfig(**{f.name: getattr(args, f.name) for f in config_fields()})
    except (ValueError, TypeError, backends.BackendUnavailableError) as exc:
        return _error(_with_flag_names(str(exc)))
    plot_path = None
    try:  # an unwritable output must fail now, not after a long run
        if not args.no_plot:
            from fastnn import plotting

            plot_path = plotting.check_plot_path(args.plot)
            check_output_path(plot_path, "--plot")
        if args.save:
            check_output_path(args.save, "--save")
        if args.report:
            from fastnn._cmd_evaluate import check_report_dir

            check_report_dir(args.report)
    except ValueError as exc:
        return _error(exc)
    except OSError as exc:
        return _error(exc.strerror or exc)

    from tqdm.auto import tqdm

    from fastnn.datasets import catalog

    n_train = catalog.info(config.dataset).n_train
    iters_width = len(str(config.iterations(n_train)))

    def on_evaluation(iteration, history):
        tqdm.write(_evaluation_line(iteration, history, config.batch_size, iters_width,
                                    n_train), file=sys.stdout)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastnn.TrainingWarning)  # said below, as an error
            result = training.train(config, progress=not args.no_progress,
                                    callback=on_evaluation)
    except fastnn.TrainingDivergedError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        _plot(exc.history, plot_path, _title(config, config.to_dict()["backend"], "diverged"),
              "curves so far")
        return 3
    except fastnn.TrainingInterrupted as stop:
        result = stop.result
        print(f"{PROG}: interrupted at iteration {result.iterations}; test accuracy so far "
              f"{result.test_accuracy * 100:.2f} %", file=sys.stderr)
        _write_outputs(result, plot_path, args.save, "so far", args.report)
        return 130
    except (ValueError, TypeError, backends.BackendUnavailableError) as exc:
        return _error(_with_flag_names(str(exc)))
    except FileNotFoundError as exc:  # a data set that is not installed: the message says how
        return _error(exc)

    print(f"test accuracy: {result.test_accuracy * 100:.2f} %  (backend {result.backend}, "
          f"{result.iterations} iterations in {result.seconds:.1f} s)")
    status = _write_outputs(result, plot_path, args.save, report_dir=args.report)
    if result.at_chance:
        print(f"{PROG}: error: {training.at_chance_message(result)}", file=sys.stderr)
        return 3
    return status


def _write_outputs(result, plot_path, save_path, what="", report_dir=None):
    """Write the curves, the weights and the report; 0, or 1 if one could not be written. A
    second Ctrl-C while writing leaves the previous file (the writer is atomic) and is
    reported."""
    status = _write_files(result, plot_path, save_path, what)
    if report_dir and status != 130:
        from fastnn import _cmd_evaluate

        try:
            evaluation = fastnn.evaluate(result.network, dataset=result.config.dataset)
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted again: the report was not written", file=sys.stderr)
            return 130
        written = _cmd_evaluate.write_report(evaluation, result.network, report_dir, what)
        status = written if written else status
    return status


def _write_files(result, plot_path, save_path, what):
    status = 0
    outputs = []
    if plot_path is not None:
        outputs.append(("curves", lambda: _plot(result.history, plot_path, _title(
            result.config, result.backend, result.stop_reason, result.iterations))))
    if save_path:
        outputs.append(("weights", lambda: result.network.save(save_path)))
    for name, write in outputs:
        label = f"{name} {what}".strip()
        try:
            written = write()
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted again: the {label} were not written", file=sys.stderr)
            return 130
        except (OSError, ValueError) as exc:
            target = plot_path if name == "curves" else save_path
            print(f"{PROG}: error: cannot write the {label} to {target}: {exc}",
                  file=sys.stderr)
            status = 1
        else:
            print(f"{label} written to {written}")
    return status


def _evaluation_line(iteration, history, batch_size, width, n_train=60000):
    """``iter  1172  epoch  10.0  loss 0.2134  train 0.9412  test 0.9398``.

    The loss is the mean over the iterations since the previous evaluation: one mini-batch's
    loss is too noisy to read a trend from.
    """
    evals = history["eval_iter"]
    previous = evals[-2] if len(evals) > 1 else 0
    recent = history["train_loss"][previous:iteration]
    loss = f"{math.fsum(recent) / len(recent):.4f}" if len(recent) else "   -  "
    epoch = iteration * batch_size / n_train
    return (f"iter {iteration:>{width}d}  epoch {epoch:5.1f}  loss {loss}  "
            f"train {history['train_acc'][-1]:.4f}  test {history['test_acc'][-1]:.4f}")


def _title(config, backend, stop_reason="completed", iterations=None):
    title = (f"784-{config.hidden_size}-10 {config.activation}, {config.optimizer} "
             f"lr {config.learning_rate:g}, batch {config.batch_size}, {config.dtype}, "
             f"backend {backend}")
    if stop_reason == "interrupted":
        title += f" (interrupted at iteration {iterations})"
    elif stop_reason != "completed":
        title += f" ({stop_reason})"
    return title


def _plot(history, plot_path, title, what=None):
    """Draw ``history`` to ``plot_path``; returns the path written. With ``what`` (the curves
    of a run that failed), best effort: a failure is reported, never raised."""
    from fastnn import plotting

    if what is None:
        return plotting.plot_history(history, plot_path, title=title)
    if plot_path is None or not history:
        return None
    try:
        written = plotting.plot_history(history, plot_path, title=title)
    except (OSError, ValueError, KeyboardInterrupt) as exc:
        print(f"{PROG}: could not plot the history so far: {exc}", file=sys.stderr)
    else:
        print(f"{what} written to {written}")
    return None


# -- evaluate -----------------------------------------------------------------------------------

def _cmd_evaluate(args) -> int:
    from fastnn import _cmd_evaluate

    return _cmd_evaluate.run(args)


def _cmd_predict(args) -> int:
    from fastnn import _cmd_predict

    return _cmd_predict.run(args)


# -- info ---------------------------------------------------------------------------------------

def _cmd_info(args) -> int:
    from fastnn._info import format_sections, versions_info

    if args.model is not None:
        return _model_info(args.model)

    print(f"fastnn {fastnn.__version__}  ({os.path.dirname(fastnn.__file__)})\n")
    print(format_sections(versions_info()))

    print("\nbackends:")
    for name in backends.NAMES:
        reason = backends.unavailable_reason(name)
        print(f"  {name:<8}" + ("available" if reason is None else f"unavailable: {reason}"))
    env = os.environ.get(backends.ENV_VAR, "").strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback warning repeats what is printed above
        try:
            auto = backends.resolve_name("auto")
        except (ValueError, backends.BackendUnavailableError) as exc:
            auto = f"(none: {exc})"
    source = f"{backends.ENV_VAR}={env} overrides the choice" if env else (
        f"fastest available; set {backends.ENV_VAR} to override")
    print(f"  auto -> {auto}  ({source})")

    print("\ndata:")
    _print_data()
    return 0


def _model_info(path) -> int:
    from fastnn.model_file import read_meta

    try:
        meta = read_meta(path)
    except (fastnn.ModelFileError, FileNotFoundError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    accuracy = meta.get("test_accuracy")
    rows = [("network", f"{meta['input_size']}-{meta['hidden_size']}-{meta['output_size']} "
                        f"{meta['activation']}, {meta['dtype']}"),
            ("written by", f"fastnn {meta['fastnn_version']}"),
            ("data set", meta.get("dataset") or "unknown"),
            ("classes", ", ".join(meta["class_names"]) if meta.get("class_names")
             else "unknown"),
            ("test accuracy", f"{accuracy * 100:.2f} %" if accuracy is not None else "unknown"),
            ("iterations", meta.get("iterations") or "unknown")]
    print(f"{path}:")
    for key, value in rows:
        print(f"  {key:<14} {value}")
    config = meta.get("config")
    if config:
        print("  training:")
        for key, value in config.items():
            print(f"    {key:<16} {value}")
    return 0


def _print_data():
    from fastnn.datasets import mnist

    path = mnist.BUNDLED_PATH
    if not os.path.exists(path):
        print(f"  path     {path} (missing!)")
        return
    print(f"  path     {path}")
    print(f"  size     {os.path.getsize(path) / 1e6:.1f} MB")
    try:
        shapes = _npz_shapes(path)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"  arrays   unreadable: {exc}")
        return
    print("  arrays   " + ", ".join(f"{key} {'x'.join(map(str, shape))} {dtype}"
                                    for key, (shape, dtype) in shapes.items()))


def _npz_shapes(path):
    """Shapes and dtypes of an npz's arrays, read from the headers without loading the data."""
    import numpy as np

    shapes = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            with archive.open(member) as fh:
                major, _minor = np.lib.format.read_magic(fh)
                read = (np.lib.format.read_array_header_1_0 if major == 1
                        else np.lib.format.read_array_header_2_0)
                shape, _fortran, dtype = read(fh)
            shapes[member.removesuffix(".npy")] = (shape, dtype)
    return shapes


# -- check, bench -------------------------------------------------------------------------------

def _cmd_check(args) -> int:
    if "numba" not in backends.available():
        print(f"{PROG}: the numba backend is unavailable, nothing to check: "
              f"{backends.unavailable_reason('numba')}", file=sys.stderr)
        return 1
    from fastnn.backends.crosscheck import run_crosscheck

    report = run_crosscheck()
    print(report.format_table())
    print("all kernels agree with the NumPy reference" if report.ok
          else "MISMATCH: the numba backend disagrees with the NumPy reference")
    return 0 if report.ok else 1


def _cmd_bench(args) -> int:
    from fastnn.bench import run_bench

    return run_bench(args)
