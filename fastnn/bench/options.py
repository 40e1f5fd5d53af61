"""The settings of ``fastnn bench``: its flags and the :class:`BenchSettings` they make."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

__all__ = ["BenchSettings", "add_bench_arguments", "MODES", "DTYPES"]

DTYPES = ("float64", "float32")
#: The defaults of each mode; every flag overrides its entry.
MODES = {
    "default": dict(iters=1000, repeats=3, hidden_sizes=(16, 32, 64, 128, 256, 512, 1024),
                    batch_sizes=(1, 4, 16, 64, 256, 512, 1024, 2048, 4096, 8192),
                    point_seconds=0.1, min_reps=5, cold_runs=1, warm_runs=3),
    "quick": dict(iters=150, repeats=1, hidden_sizes=(16, 64, 256, 1024),
                  batch_sizes=(1, 16, 256, 4096), point_seconds=0.03, min_reps=3, cold_runs=0,
                  warm_runs=1),
}


@dataclass(frozen=True)
class BenchSettings:
    """What one ``fastnn bench`` run measures, and where it writes."""

    quick: bool = False
    threads: int = 2
    out: str = "bench"
    iters: int = MODES["default"]["iters"]
    repeats: int = MODES["default"]["repeats"]
    dtypes: tuple = DTYPES
    hidden_sizes: tuple = MODES["default"]["hidden_sizes"]
    batch_sizes: tuple = MODES["default"]["batch_sizes"]
    point_seconds: float = MODES["default"]["point_seconds"]
    min_reps: int = MODES["default"]["min_reps"]
    cold_runs: int = MODES["default"]["cold_runs"]
    warm_runs: int = MODES["default"]["warm_runs"]
    use_torch: bool = True
    plots: bool = True
    startup: bool = True
    paths: bool = True
    time_to_accuracy: bool = True

    @classmethod
    def from_args(cls, args) -> BenchSettings:
        """The settings of parsed ``fastnn bench`` arguments (a mode's values, then flags)."""
        values = dict(MODES["quick" if args.quick else "default"])
        for key in ("iters", "repeats", "hidden_sizes", "batch_sizes"):
            if getattr(args, key) is not None:
                values[key] = getattr(args, key)
        return cls(quick=args.quick, threads=args.threads, out=args.out, dtypes=args.dtypes,
                   use_torch=not args.no_torch, plots=not args.no_plots,
                   startup=not args.no_startup, paths=not args.no_paths,
                   time_to_accuracy=not args.no_time_to_accuracy, **values)

    def command(self) -> str:
        """A ``fastnn bench`` command line that reproduces these settings."""
        base = BenchSettings(**MODES["quick"], quick=True) if self.quick else BenchSettings()
        words = ["fastnn bench"] + (["--quick"] if self.quick else [])
        flags = {"threads": "--threads", "out": "--out", "iters": "--iters",
                 "repeats": "--repeats", "dtypes": "--dtypes", "hidden_sizes": "--hidden-sizes",
                 "batch_sizes": "--batch-sizes"}
        for name, flag in flags.items():
            value = getattr(self, name)
            if value != getattr(base, name):
                words += [flag, ",".join(map(str, value)) if isinstance(value, tuple)
                          else str(value)]
        for name, flag in (("use_torch", "--no-torch"), ("plots", "--no-plots"),
                           ("startup", "--no-startup"), ("paths", "--no-paths")):
            if not getattr(self, name):
                words.append(flag)
        if not self.time_to_accuracy:
            words.append("--no-time-to-accuracy")
        return " ".join(words)

    def replace(self, **changes) -> BenchSettings:
        return dataclasses.replace(self, **changes)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _int_list(text):
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _dtype_list(text):
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in DTYPES]
    if not values or bad:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of "
                                         f"{', '.join(DTYPES)}, got {text!r}")
    return values


def add_bench_arguments(parser):
    """Add ``fastnn bench``'s flags to ``parser`` (the ``bench`` subcommand's parser)."""
    default = MODES["default"]
    parser.add_argument("--quick", action="store_true",
                        help="fewer iterations, repeats and sizes, no cold start (about a minute)")
    parser.add_argument("--threads", type=_positive_int, default=2, metavar="N",
                        help="threads for BLAS, Numba and PyTorch")
    parser.add_argument("--out", default="bench", metavar="DIR",
                        help="directory for REPORT.md and the plots")
    parser.add_argument("--iters", type=_positive_int, metavar="N",
                        help=f"iterations per training run (default {default['iters']}; "
                             f"{MODES['quick']['iters']} with --quick)")
    parser.add_argument("--repeats", type=_positive_int, metavar="N",
                        help=f"runs per training row (default {default['repeats']}; "
                             f"{MODES['quick']['repeats']} with --quick)")
    parser.add_argument("--dtypes", type=_dtype_list, default=DTYPES, metavar="LIST",
                        help="comma-separated dtypes")
    parser.add_argument("--hidden-sizes", type=_int_list, metavar="LIST",
                        help="hidden sizes of the scaling sweep at batch 512 (default "
                             f"{','.join(map(str, default['hidden_sizes']))})")
    parser.add_argument("--batch-sizes", type=_int_list, metavar="LIST",
                        help="batch sizes of the scaling sweep at hidden 50 (default "
                             f"{','.join(map(str, default['batch_sizes']))})")
    parser.add_argument("--no-torch", action="store_true",
                        help="leave out the PyTorch row even if torch is installed")
    parser.add_argument("--no-plots", action="store_true", help="do not write the PNG plots")
    parser.add_argument("--no-startup", action="store_true",
                        help="skip the cold/warm start-up measurement (subprocesses)")
    parser.add_argument("--no-paths", action="store_true",
                        help="skip the other paths: the drop-in loops, each optimizer, wide "
                             "layers, a busy machine (starts a spinning process), denser data")
    parser.add_argument("--no-time-to-accuracy", action="store_true",
                        help="skip the time-to-accuracy rows: the presets fast and fast-800 "
                             "trained to 97 %%, 98 %% and 98.4 %% test accuracy, 3 seeds "
                             "(about a minute in the full bench; a few seconds with --quick)")
    return parser
