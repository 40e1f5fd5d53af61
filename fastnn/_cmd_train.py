"""``fastnn train``: the flags generated from :class:`fastnn.TrainConfig`, the run, and what it
writes (curves, model file, history, report)."""

from __future__ import annotations

import math
import sys
import types

import fastnn
from fastnn import backends
from fastnn.cli import PROG, Default, _error, _with_flag_names, explicit
from fastnn.config import TrainConfig, config_fields
from fastnn.history import write_history

__all__ = ["add_parser", "run", "DEFAULT_PLOT"]

DEFAULT_PLOT = "fastnn-curves.png"

_TRAIN_EXAMPLE = """\
examples:
  fastnn train --backend numba --iters 10000 --batch-size 512 --lr 0.05 --plot curves.png
  fastnn train --optimizer adam --lr 0.001 --dtype float32 --save model.npz --no-plot
  fastnn train --dataset fashion-mnist --epochs 20 --history run.csv --report report/
  fastnn train --fast                     # the fastest recipe to 98 % (README)
  fastnn train --preset fast-800 --seed 3 # a preset's values, a flag overriding one
"""


def add_parser(commands, formatter_class):
    p = commands.add_parser(
        "train", formatter_class=formatter_class, epilog=_TRAIN_EXAMPLE,
        help="train the network and plot its curves",
        description="Train the two-layer network on the bundled MNIST (or Fashion-MNIST) with\n"
                    "mini-batch gradient descent, print train and test accuracy at each\n"
                    "evaluation, and write the loss and accuracy curves to an image; optionally\n"
                    "the model file, the history and a report of what it learned.")
    from fastnn.presets import PRESETS

    for f in config_fields():
        meta = f.metadata
        if isinstance(f.default, bool):
            p.add_argument(meta["flag"], dest=f.name, action="store_true", help=meta["help"],
                           default=Default(False))
            continue
        p.add_argument(meta["flag"], dest=f.name, default=Default(f.default), help=meta["help"],
                       type=meta["parse"] or type(f.default), metavar=meta["metavar"],
                       choices=meta["choices"])
    p.add_argument("--preset", choices=tuple(PRESETS),
                   help="start from a named set of the values above, found with 'fastnn "
                        "compare' (flags given as well override them): " + "; ".join(
                            f"{name}: {text}" for name, (text, _) in PRESETS.items()
                        ).replace("%", "%%"))
    p.add_argument("--fast", action="store_true", help="the same as --preset fast")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is only shown when stderr is a terminal anyway)")
    p.add_argument("--plot", metavar="PATH", default=DEFAULT_PLOT,
                   help="image file for the loss and accuracy curves; the extension picks the "
                        "format (.png, .pdf, .svg, ...)")
    p.add_argument("--no-plot", action="store_true", help="do not write the curves")
    p.add_argument("--save", metavar="PATH",
                   help="write the trained network to this model file (.npz; read it with "
                        "'fastnn evaluate', 'fastnn predict' or fastnn.load_model)")
    p.add_argument("--history", metavar="PATH",
                   help="write every iteration's loss and every evaluation to this .csv or "
                        ".json file (the names of TrainResult.history)")
    p.add_argument("--report", metavar="DIR",
                   help="after training, write the confusion matrix, the misclassified test "
                        "images and the hidden units' weights as PNG files into DIR")
    return p


def run(args) -> int:
    import warnings

    from fastnn import training

    try:
        config = config_from_args(args)
    except (ValueError, TypeError, backends.BackendUnavailableError) as exc:
        return _error(_with_flag_names(str(exc)))
    try:  # an unwritable output must fail now, not after a long run
        out = _outputs(args)
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
            result = training.train(config, progress=_NoticesOnly() if args.no_progress else True,
                                    callback=on_evaluation)
    except fastnn.TrainingDivergedError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        backend, history = exc.backend or config.to_dict()["backend"], exc.history
        _plot(history, out.plot, _title(config, backend, "diverged"), "curves so far",
              exc.chance_accuracy)
        if out.history:
            _best_effort("history so far", lambda: write_history(history, out.history))
        return 3
    except fastnn.TrainingInterrupted as stop:
        result = stop.result
        print(f"{PROG}: interrupted at iteration {result.iterations}; test accuracy so far "
              f"{result.test_accuracy * 100:.2f} %", file=sys.stderr)
        _write_outputs(result, out, "so far")
        return 130
    except (ValueError, TypeError, backends.BackendUnavailableError) as exc:
        return _error(_with_flag_names(str(exc)))
    except FileNotFoundError as exc:  # a data set that is not installed: the message says how
        return _error(exc)

    print(f"test accuracy: {result.test_accuracy * 100:.2f} %  (backend {result.backend}, "
          f"{result.iterations} iterations in {result.seconds:.1f} s)")
    if result.stop_reason == "target_accuracy":
        print(f"reached the target accuracy {config.target_accuracy * 100:g} % at iteration "
              f"{result.iterations}, {result.time_to_target:.2f} s after the training loop "
              "started")
    elif result.stop_reason == "early_stopping":
        print(f"stopped early at iteration {result.iterations}: {config.patience} evaluations "
              "without a better validation accuracy")
    if result.best_iteration is not None:
        best = result.history["eval_iter"].index(result.best_iteration)
        print(f"kept the weights of iteration {result.best_iteration}, the best on the "
              f"validation set ({result.history['val_acc'][best] * 100:.2f} %)")
    status = _write_outputs(result, out)
    if result.at_chance:
        print(f"{PROG}: error: {training.at_chance_message(result)}", file=sys.stderr)
        return 3
    return status


def config_from_args(args):
    """The TrainConfig the flags ask for: a preset's values (``--preset``, ``--fast``) with
    the flags given explicitly on top, or the flags and the defaults."""
    from fastnn.presets import preset_config

    values = explicit(args, [f.name for f in config_fields()])
    preset = args.preset
    if args.fast:
        if preset not in (None, "fast"):
            raise ValueError(f"--fast is --preset fast; it cannot go with --preset {preset}")
        preset = "fast"
    return preset_config(preset, **values) if preset else TrainConfig(**values)


def _outputs(args):
    """The output files of a run, each checked now (an unwritable one must fail before a long
    run, not after): ``plot``, ``save``, ``history`` paths and the ``report`` folder, or None.
    Raises ValueError (a format that cannot be written) or OSError (a path that cannot)."""
    from fastnn._io import check_output_path

    plot = None
    if not args.no_plot:
        from fastnn import plotting

        plot = plotting.check_plot_path(args.plot)
        check_output_path(plot, "--plot")
    if args.save:
        check_output_path(args.save, "--save")
    history = None
    if args.history:
        from fastnn.history import check_history_path

        history = check_history_path(args.history)
        check_output_path(history, "--history")
    if args.report:
        from fastnn._cmd_evaluate import check_report_dir

        check_report_dir(args.report)
    return types.SimpleNamespace(plot=plot, save=args.save, history=history,
                                 report=args.report)


def _write_outputs(result, out, what=""):
    """Write the curves, the history, the weights and the report; 0, or 1 if one could not be
    written. A second Ctrl-C while writing leaves the previous file (the writer is atomic) and
    is reported (130)."""
    files = []
    if out.plot is not None:
        files.append(("curves", out.plot, lambda: _plot(result.history, out.plot, _title(
            result.config, result.backend, result.stop_reason, result.iterations),
            chance=result.chance_accuracy)))
    if out.history is not None:
        files.append(("history", out.history, lambda: write_history(result.history,
                                                                    out.history)))
    if out.save:
        files.append(("weights", out.save, lambda: result.network.save(out.save)))
    status = 0
    for name, target, write in files:
        label = f"{name} {what}".strip()
        try:
            written = write()
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted again: the {label} were not written", file=sys.stderr)
            return 130
        except (OSError, ValueError) as exc:
            print(f"{PROG}: error: cannot write the {label} to {target}: {exc}",
                  file=sys.stderr)
            status = 1
        else:
            print(f"{label} written to {written}")
    if out.report:
        from fastnn import _cmd_evaluate

        try:
            evaluation = fastnn.evaluate(result.network, dataset=result.config.dataset)
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted again: the report was not written", file=sys.stderr)
            return 130
        status = _cmd_evaluate.write_report(evaluation, result.network, out.report,
                                            what) or status
    return status


def _best_effort(label, write):
    """Write what a failed run leaves (``write() -> path``); a failure is reported, not raised."""
    try:
        written = write()
    except (OSError, ValueError, KeyboardInterrupt) as exc:
        print(f"{PROG}: could not write the {label}: {exc}", file=sys.stderr)
    else:
        print(f"{label} written to {written}")


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
    val = f"  val {history['val_acc'][-1]:.4f}" if "val_acc" in history else ""
    return (f"iter {iteration:>{width}d}  epoch {epoch:5.1f}  loss {loss}  "
            f"train {history['train_acc'][-1]:.4f}{val}  test {history['test_acc'][-1]:.4f}")


def _title(config, backend, stop_reason="completed", iterations=None):
    from fastnn.plotting import run_title

    return run_title(config, backend, stop_reason, iterations)


def _plot(history, plot_path, title, what=None, chance=None):
    """Draw ``history`` to ``plot_path``; returns the path written. With ``what`` (the curves
    of a run that failed), best effort: a failure is reported, never raised."""
    from fastnn import plotting

    if what is None:
        return plotting.plot_history(history, plot_path, title=title, chance=chance)
    if plot_path is None or not history:
        return None
    _best_effort(what, lambda: plotting.plot_history(history, plot_path, title=title,
                                                     chance=chance))
    return None


class _NoticesOnly:
    """train()'s progress for ``--no-progress``: no bar, but its one-line notices (the first
    compile) still reach stderr, once the data set has been found."""

    def update(self, n=1):
        pass

    def close(self):
        pass

    def write(self, message):
        print(message, file=sys.stderr, flush=True)
