"""``fastnn evaluate MODEL``: a saved network's accuracy, class by class, and its report."""

from __future__ import annotations

import sys

from fastnn import backends
from fastnn.datasets.catalog import DATASETS

__all__ = ["add_parser", "run", "check_report_dir", "write_report"]


def add_parser(commands, formatter_class):
    p = commands.add_parser(
        "evaluate", formatter_class=formatter_class,
        help="accuracy of a saved model on a test set, class by class",
        description="Measure a model file written by 'fastnn train --save' on a test set: its\n"
                    "accuracy, and each class's precision, recall and count; with --report,\n"
                    "also draw its confusion matrix, its misclassified images and its hidden\n"
                    "units as PNG files.",
        epilog="examples:\n  fastnn evaluate weights.npz\n"
               "  fastnn evaluate weights.npz --report report/\n"
               "  fastnn evaluate fashion.npz --dataset fashion-mnist")
    p.add_argument("model", metavar="MODEL", help="a model file written by 'fastnn train --save'")
    p.add_argument("--dataset", choices=DATASETS,
                   help="whose test set (default: the one the model was trained on, else mnist)")
    p.add_argument("--report", metavar="DIR",
                   help="write confusion.png, mistakes.png and hidden-units.png into DIR")
    p.add_argument("--backend", default="auto", choices=("auto",) + backends.NAMES,
                   help="kernel implementation")
    return p


def check_report_dir(directory, flag="--report"):
    """Check before any long work that the report's files can be written; raises OSError."""
    from fastnn._io import check_output_path
    from fastnn.report import report_paths

    for path in report_paths(directory).values():
        check_output_path(path, flag)


def write_report(evaluation, network, directory, what=""):
    """Write the report's pictures and say where; returns 0, or 1 if they could not be written
    (a second Ctrl-C leaves the files as they were and returns 130)."""
    from fastnn.cli import PROG
    from fastnn.report import write_report as write

    label = f"report {what}".strip()
    try:
        written = write(evaluation, network, directory)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted again: the {label} was not written", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"{PROG}: error: cannot write the {label} to {directory}: {exc}", file=sys.stderr)
        return 1
    print(f"{label} written to {written[0].parent}: " + ", ".join(p.name for p in written))
    return 0


def run(args) -> int:
    import fastnn
    from fastnn.cli import PROG, _error, _load_model

    if args.report is not None:
        try:
            check_report_dir(args.report)
        except OSError as exc:
            return _error(exc.strerror or exc)
    network, status = _load_model(args)
    if network is None:
        return status
    trained_on = network.metadata.get("dataset")
    dataset = args.dataset or trained_on or "mnist"
    if trained_on is None and args.dataset is None:
        print(f"{PROG}: warning: {args.model} does not say which data set it was trained on; "
              "evaluating it on mnist (choose with --dataset)", file=sys.stderr)
    elif trained_on is not None and dataset != trained_on:
        print(f"{PROG}: warning: {args.model} was trained on {trained_on}; evaluating it on "
              f"{dataset} anyway", file=sys.stderr)
    try:
        evaluation = fastnn.evaluate(network, dataset=dataset)
    except FileNotFoundError as exc:  # a data set that is not installed: the message says how
        return _error(exc)
    except ValueError as exc:  # a network that does not fit the data set
        return _error(f"{args.model}: {exc}")
    print(f"{args.model}: {network.input_size}-{network.hidden_size}-{network.output_size} "
          f"{network.activation}, {network.dtype.name}, backend {network.backend.name}")
    n = len(evaluation.labels)
    print(f"{dataset} test set: {n:,} images, accuracy {evaluation.accuracy * 100:.2f} % "
          f"({len(evaluation.mistakes):,} misclassified)\n")
    print(evaluation.table())
    if args.report is None:
        return 0
    print()
    return write_report(evaluation, network, args.report)
