"""The ``fastnn`` command: ``train | compare | evaluate | predict | gradcheck | info | check |
bench``.

Each subcommand is a function of the parsed arguments that returns the exit status, so
:func:`main` can be called from tests and scripts as well as from the console script. The
``train`` flags are generated from :class:`fastnn.TrainConfig`, one per field.

Exit status: 0 success; 1 a check failed or an output file could not be written; 2 a usage
error (argparse's own, or an argument ``train()`` rejects); 3 training diverged; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
import zipfile

import fastnn
from fastnn import backends
from fastnn.config import config_fields

__all__ = ["main", "build_parser", "Default", "explicit"]

PROG = "fastnn"


class Default:
    """A flag's default, wrapped so that a command can tell it from the same value given
    explicitly (a preset's values give way to explicit flags only); shown as the value."""

    def __init__(self, value):
        self.value = value

    def __str__(self):
        return str(self.value)

    __repr__ = __str__


def explicit(args, names):
    """``{name: value}`` of the flags among ``names`` that were given on the command line."""
    return {name: getattr(args, name) for name in names
            if not isinstance(getattr(args, name), Default)}


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Show defaults, but not the uninformative ``None``/``False`` of optional flags."""

    def _get_help_string(self, action):
        default = action.default.value if isinstance(action.default, Default) else action.default
        if default is None or isinstance(default, bool):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``fastnn`` argument parser with all its subcommands."""
    from fastnn.bench.options import add_bench_arguments

    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_HelpFormatter,
        description="Train, inspect and use a 784-50-10 MNIST network with a NumPy or Numba "
                    "backend.",
        epilog="examples:\n  fastnn train --iters 10000 --save model.npz\n"
               "  fastnn train --fast\n"
               "  fastnn compare --optimizer sgd,momentum,adagrad,adam --iters 2000\n"
               "  fastnn evaluate model.npz --report report/\n"
               "  fastnn predict model.npz my-digit.png\n  fastnn gradcheck\n  fastnn info\n"
               "  fastnn check\n  fastnn bench --quick\n\n"
               "Run 'fastnn COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {fastnn.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from fastnn import _cmd_compare, _cmd_evaluate, _cmd_gradcheck, _cmd_predict, _cmd_train

    _cmd_train.add_parser(commands, _HelpFormatter)
    _cmd_compare.add_parser(commands, _HelpFormatter)
    _cmd_evaluate.add_parser(commands, _HelpFormatter)
    _cmd_predict.add_parser(commands, _HelpFormatter)
    _cmd_gradcheck.add_parser(commands, _HelpFormatter)
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
        if argv[:1] == ["compare"]:  # its unknown flags get a message naming what it takes
            args, extra = parser.parse_known_args(argv)
            if extra:
                from fastnn._cmd_compare import unknown_flags

                return unknown_flags(extra)
        else:
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: return, don't exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help()
        return 2
    command = {"train": _cmd_train, "compare": _cmd_compare, "info": _cmd_info, "check": _cmd_check,
               "bench": _cmd_bench, "evaluate": _cmd_evaluate,
               "predict": _cmd_predict, "gradcheck": _cmd_gradcheck}[args.command]
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


def _load_model(args):
    """``(network, None)`` for ``args.model`` on ``args.backend``, or ``(None, exit status)``
    once the reason is printed: 1 for a missing or damaged file, 2 for a bad choice."""
    try:
        return fastnn.load_model(args.model, backend=args.backend), None
    except (fastnn.ModelFileError, FileNotFoundError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return None, 1
    except (ValueError, backends.BackendUnavailableError) as exc:
        return None, _error(exc)


def _with_flag_names(message):
    """Append the flags of the training parameters that ``message`` is about (it starts with
    their name, or says ``name=value``)."""
    flags = [f.metadata["flag"] for f in config_fields()
             if re.search(rf"(^|[\s(]){f.name}(=| must\b| is\b)", message)]
    return f"{message} (set by {', '.join(flags)})" if flags else message


# -- the commands in modules of their own --------------------------------------------------------

def _cmd_train(args) -> int:
    from fastnn import _cmd_train

    return _cmd_train.run(args)


def _cmd_compare(args) -> int:
    from fastnn import _cmd_compare

    return _cmd_compare.run(args)


def _cmd_evaluate(args) -> int:
    from fastnn import _cmd_evaluate

    return _cmd_evaluate.run(args)


def _cmd_predict(args) -> int:
    from fastnn import _cmd_predict

    return _cmd_predict.run(args)


def _cmd_gradcheck(args) -> int:
    from fastnn import _cmd_gradcheck

    return _cmd_gradcheck.run(args)


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
