"""The ``fastnn`` command: ``fastnn train | info | check``.

Each subcommand is a function of the parsed arguments that returns the exit status, so
:func:`main` can be called from tests and scripts as well as from the console script.

Exit status: 0 success; 1 a check failed or an output file could not be written; 2 a usage
error (argparse's own, or an argument ``train()`` rejects); 3 training diverged; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import inspect
import math
import os
import platform
import re
import sys
import warnings
import zipfile

import fastnn
from fastnn import backends
from fastnn.optimizers import OPTIMIZERS

__all__ = ["main", "build_parser"]

PROG = "fastnn"
DEFAULT_PLOT = "fastnn-curves.png"
# The seed's training set size; only used to turn iterations into epochs for display.
_N_TRAIN = 60000

# train() parameter -> the flag that sets it, so train()'s errors can point at the flag.
_FLAGS = {
    "backend": "--backend", "hidden_size": "--hidden", "activation": "--activation",
    "optimizer": "--optimizer", "learning_rate": "--lr", "batch_size": "--batch-size",
    "iters": "--iters", "weight_init_std": "--weight-init-std", "dtype": "--dtype",
    "seed": "--seed", "eval_every": "--eval-every",
}

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


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _train_defaults():
    """train()'s own defaults, so the help text cannot drift from the function."""
    from fastnn import training

    return {name: p.default for name, p in inspect.signature(training.train).parameters.items()
            if p.default is not inspect.Parameter.empty}


def build_parser() -> argparse.ArgumentParser:
    """Return the ``fastnn`` argument parser with its ``train``, ``info`` and ``check`` commands."""
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=_HelpFormatter,
        description="Train and inspect a 784-50-10 MNIST network with a NumPy or Numba backend.",
        epilog="example:\n  fastnn train --iters 10000\n  fastnn info\n  fastnn check\n"
               "  fastnn bench --quick\n\n"
               "Run 'fastnn COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {fastnn.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(commands)
    commands.add_parser(
        "info", formatter_class=_HelpFormatter, help="versions, backends, threads and data",
        description="Show fastnn's version, library versions, which backends work here (and\n"
                    "why not), which one 'auto' picks, thread settings and the bundled data.",
        epilog="example:\n  fastnn info")
    commands.add_parser(
        "check", formatter_class=_HelpFormatter, help="cross-check Numba kernels against NumPy",
        description="Run every kernel of the Numba backend against the NumPy reference on\n"
                    "awkward shapes in both dtypes and print a table; exit 1 on any mismatch.",
        epilog="example:\n  fastnn check")
    # `fastnn bench ARGS` is handed whole to fastnn.bench_report (see main); this entry only
    # lists it in `fastnn --help`.
    commands.add_parser("bench", add_help=False,
                        help="benchmark the backends; writes bench/REPORT.md and plots "
                             "(see 'fastnn bench --help')")
    return parser


def _add_train(commands):
    d = _train_defaults()
    p = commands.add_parser(
        "train", formatter_class=_HelpFormatter, epilog=_TRAIN_EXAMPLE,
        help="train the network and plot its curves",
        description="Train the two-layer network on the bundled MNIST with mini-batch gradient\n"
                    "descent, print train and test accuracy at each evaluation, and write the\n"
                    "loss and accuracy curves to an image.")
    p.add_argument("--backend", choices=("auto",) + backends.NAMES, default=d["backend"],
                   help="kernel implementation; 'auto' uses $FASTNN_BACKEND if set, else the "
                        "fastest that works here")
    p.add_argument("--iters", metavar="N", type=int, default=d["iters"],
                   help="number of training iterations (mini-batches)")
    p.add_argument("--batch-size", metavar="N", type=int, default=d["batch_size"],
                   help="samples per mini-batch")
    p.add_argument("--lr", dest="learning_rate", metavar="LR", type=float,
                   default=d["learning_rate"], help="learning rate of the optimizer")
    p.add_argument("--hidden", dest="hidden_size", metavar="N", type=int,
                   default=d["hidden_size"], help="number of hidden units")
    p.add_argument("--activation", choices=backends.ACTIVATIONS, default=d["activation"],
                   help="activation of the hidden layer")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=d["optimizer"],
                   help="parameter update rule")
    p.add_argument("--weight-init-std", metavar="STD", type=float, default=d["weight_init_std"],
                   help="standard deviation of the initial Gaussian weights")
    p.add_argument("--dtype", choices=backends.DTYPES, default=d["dtype"],
                   help="floating-point type of weights and activations")
    p.add_argument("--seed", metavar="N", type=int, default=d["seed"],
                   help="random seed for the initial weights and the mini-batch sampling")
    p.add_argument("--eval-every", metavar="N", type=int, default=d["eval_every"],
                   help="iterations between evaluations of train and test accuracy "
                        "(default: one epoch, ceil(60000 / batch size)); iteration 0 and the "
                        "last are always evaluated")
    p.add_argument("--shuffle", action="store_true",
                   help="draw each epoch's batches from a shuffled permutation instead of "
                        "sampling with replacement as the teaching program does")
    p.add_argument("--full-train-eval", action="store_true",
                   help="measure train accuracy on all 60000 training images at each "
                        "evaluation instead of the free running accuracy of the mini-batches "
                        "since the previous one")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is only shown when stderr is a terminal anyway)")
    p.add_argument("--plot", metavar="PATH", default=DEFAULT_PLOT,
                   help="image file for the loss and accuracy curves; the extension picks the "
                        "format (.png, .pdf, .svg, ...)")
    p.add_argument("--no-plot", action="store_true", help="do not write the curves")
    p.add_argument("--save", metavar="PATH",
                   help="write the trained weights W1 b1 W2 b2 to this .npz file")
    p.add_argument("--threads", metavar="N", type=_positive_int,
                   help="use N threads: Numba's thread count with the numba backend, and BLAS "
                        "threads via threadpoolctl if it is installed (default: all cores)")
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
    if argv[:1] == ["bench"]:
        from fastnn import bench_report

        try:
            return bench_report.main(argv[1:])
        except SystemExit as exc:  # its own --help and usage errors
            return exc.code if isinstance(exc.code, int) else 0
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: return, don't exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help()
        return 2
    command = {"train": _cmd_train, "info": _cmd_info, "check": _cmd_check}[args.command]
    try:
        return command(args)
    except BrokenPipeError:  # `fastnn info | head`: the reader left, which is not an error
        _silence_stdout()
        return 1


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
    """Append the flags of the train() parameters that ``message`` names."""
    flags = [flag for name, flag in _FLAGS.items() if re.search(rf"\b{name}\b", message)]
    return f"{message} (set by {', '.join(flags)})" if flags else message


# -- train --------------------------------------------------------------------------------------

def _cmd_train(args) -> int:
    from fastnn import training
    from fastnn.progress import ProgressBar

    plot_path = None
    if not args.no_plot:
        from fastnn import plotting

        try:  # an unwritable format should fail now, not after a long run
            plot_path = plotting.check_plot_path(args.plot)
        except ValueError as exc:
            return _error(exc)

    seen = {"history": None}
    iters_width = len(str(max(args.iters, 0)))

    # Bad values of --iters are train()'s to report, so the bar just gets a harmless total.
    with ProgressBar(max(args.iters, 0), desc="train",
                     enabled=False if args.no_progress else None) as bar:

        def on_evaluation(iteration, history):
            seen["history"] = history
            bar.write(_evaluation_line(iteration, history, args.batch_size, iters_width))

        try:
            with _thread_limit(args.threads, args.backend):
                result = training.train(
                    backend=args.backend, hidden_size=args.hidden_size,
                    activation=args.activation, optimizer=args.optimizer,
                    learning_rate=args.learning_rate, batch_size=args.batch_size,
                    iters=args.iters, weight_init_std=args.weight_init_std, dtype=args.dtype,
                    seed=args.seed, eval_every=args.eval_every, shuffle=args.shuffle,
                    full_train_eval=args.full_train_eval,
                    progress=bar if bar.enabled else False, callback=on_evaluation)
        except fastnn.TrainingDivergedError as exc:
            bar.close()
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            _plot_partial(getattr(exc, "history", None), plot_path, args, "diverged")
            return 3
        except KeyboardInterrupt:
            bar.close()
            print(f"{PROG}: interrupted", file=sys.stderr)
            _plot_partial(seen["history"], plot_path, args, "interrupted")
            return 130
        except (ValueError, TypeError, backends.BackendUnavailableError) as exc:
            bar.close()
            return _error(_with_flag_names(str(exc)))

    n_done = len(result.history["train_loss"])
    print(f"test accuracy: {result.test_accuracy * 100:.2f} %  (backend {result.backend}, "
          f"{n_done} iterations in {result.seconds:.1f} s)")
    status = 0
    if plot_path is not None:
        try:
            written = plotting.plot_history(result.history, plot_path,
                                            title=_title(args, result.backend))
            print(f"curves written to {written}")
        except (OSError, ValueError) as exc:
            print(f"{PROG}: error: cannot write the curves to {plot_path}: {exc}",
                  file=sys.stderr)
            status = 1
    if args.save:
        try:
            saved = result.network.save(args.save)
            print(f"weights written to {saved if saved is not None else args.save}")
        except OSError as exc:
            print(f"{PROG}: error: cannot write the weights to {args.save}: {exc}",
                  file=sys.stderr)
            status = 1
    return status


def _evaluation_line(iteration, history, batch_size, width):
    """``iter  1172  epoch  10.0  loss 0.2134  train 0.9412  test 0.9398``.

    The loss is the mean over the iterations since the previous evaluation: one mini-batch's
    loss is too noisy to read a trend from.
    """
    evals = history["eval_iter"]
    previous = evals[-2] if len(evals) > 1 else 0
    recent = history["train_loss"][previous:iteration]
    loss = f"{math.fsum(recent) / len(recent):.4f}" if len(recent) else "   -  "
    epoch = iteration * batch_size / _N_TRAIN if batch_size > 0 else 0.0
    return (f"iter {iteration:>{width}d}  epoch {epoch:5.1f}  loss {loss}  "
            f"train {history['train_acc'][-1]:.4f}  test {history['test_acc'][-1]:.4f}")


def _title(args, backend):
    return (f"784-{args.hidden_size}-10 {args.activation}, {args.optimizer} "
            f"lr {args.learning_rate:g}, batch {args.batch_size}, {args.dtype}, backend {backend}")


def _plot_partial(history, plot_path, args, why):
    """Best effort: the curves up to a divergence or interrupt are what explain it."""
    if plot_path is None or not history:
        return
    from fastnn import plotting

    try:
        written = plotting.plot_history(history, plot_path,
                                        title=f"{_title(args, args.backend)} ({why})")
    except (OSError, ValueError) as exc:
        print(f"{PROG}: could not plot the history so far: {exc}", file=sys.stderr)
    else:
        print(f"curves so far written to {written}")


@contextlib.contextmanager
def _thread_limit(n_threads, backend_name):
    """Limit Numba's and BLAS's thread pools to ``n_threads`` for the block, then restore them."""
    if n_threads is None:
        yield
        return
    with contextlib.ExitStack() as stack:
        if backends.resolve_name(backend_name) == "numba" and "numba" in backends.available():
            import numba

            before = numba.get_num_threads()
            try:
                numba.set_num_threads(n_threads)
            except ValueError as exc:  # above NUMBA_NUM_THREADS, which is fixed at start-up
                raise ValueError(f"--threads {n_threads}: {exc}") from None
            stack.callback(numba.set_num_threads, before)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            if backends.resolve_name(backend_name) == "numpy":
                print(f"{PROG}: note: threadpoolctl is not installed, so BLAS threads are not "
                      "limited; set OPENBLAS_NUM_THREADS/OMP_NUM_THREADS instead",
                      file=sys.stderr)
        else:
            stack.enter_context(threadpool_limits(limits=n_threads))
        yield


# -- info ---------------------------------------------------------------------------------------

def _version_of(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cmd_info(args) -> int:
    print(f"fastnn {fastnn.__version__}")
    print(f"python {platform.python_version()} ({sys.executable})")
    print("numpy {}  numba {}  matplotlib {}".format(
        *(_version_of(dist) for dist in ("numpy", "numba", "matplotlib"))))

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

    print("\nthreads:")
    print(f"  cpu count              {os.cpu_count()}")
    if "numba" in backends.available():
        try:
            from fastnn.backends import numba_backend

            for key, value in numba_backend.runtime_info().items():
                if key != "numba":  # its version is on the versions line already
                    print(f"  numba {key:<16} {value}")
        except Exception as exc:  # information only: never fail `info` over it
            print(f"  numba runtime info unavailable: {type(exc).__name__}: {exc}")
    _print_blas_threads()
    for var in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                "MKL_NUM_THREADS"):
        print(f"  {var:<22} {os.environ.get(var, '(unset)')}")

    print("\ndata:")
    _print_data()
    return 0


def _print_blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("  BLAS threads           unknown (pip install threadpoolctl to show them)")
        return
    pools = threadpool_info()
    if not pools:
        print("  BLAS threads           no thread pool found")
    for pool in pools:
        print(f"  {pool.get('internal_api', '?'):<22} {pool.get('num_threads')} threads "
              f"({pool.get('user_api', '?')}, {pool.get('filepath', '?')})")


def _print_data():
    try:
        from fastnn.datasets import mnist

        path = mnist.BUNDLED_PATH
    except (ImportError, AttributeError) as exc:
        print(f"  bundled MNIST unavailable: {exc}")
        return
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


# -- check --------------------------------------------------------------------------------------

def _cmd_check(args) -> int:
    if "numba" not in backends.available():
        print(f"{PROG}: the numba backend is unavailable, nothing to check: "
              f"{backends.unavailable_reason('numba')}", file=sys.stderr)
        return 1
    from fastnn.crosscheck import run_crosscheck

    report = run_crosscheck()
    print(report.format_table())
    print("all kernels agree with the NumPy reference" if report.ok
          else "MISMATCH: the numba backend disagrees with the NumPy reference")
    return 0 if report.ok else 1
