"""``fastnn compare``: every training flag takes a comma list (generated from
:class:`fastnn.TrainConfig`, as ``fastnn train``'s are), the runs go in parallel, and a table,
a CSV and one overlay picture come out."""

from __future__ import annotations

import difflib
import sys

from fastnn.cli import PROG, _error, _with_flag_names
from fastnn.config import config_fields

__all__ = ["add_parser", "run", "parse_values", "unknown_flags", "DEFAULT_CSV", "DEFAULT_PLOT"]

DEFAULT_CSV = "fastnn-compare.csv"
DEFAULT_PLOT = "fastnn-compare.png"

_EXAMPLE = """\
examples:
  fastnn compare --optimizer sgd,momentum,adagrad,adam --iters 2000
  fastnn compare --activation relu,sigmoid --lr 0.01,0.1 --seeds 0,1,2 --epochs 3
  fastnn compare --search random --trials 20 --lr 1e-4:1 --weight-decay 1e-8:1e-4 --iters 1000
  fastnn compare --fast --hidden 256,512 --batch-size 128,256 --rank time
  fastnn compare --optimizer sgd,adam --engine dask --scheduler tcp://10.0.0.5:8786

Every training flag takes one value or a comma list; with --search random a number may also
be a range LOW:HIGH, drawn log-uniformly. The runs are the cross product of the lists, once
per seed, run at the same time on the machine's cores (runs x threads <= cores) or on a
dask / Ray cluster.
"""

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def add_parser(commands, formatter_class):
    from fastnn.compare import MAX_RUNS
    from fastnn.engines import ENGINES
    from fastnn.presets import PRESETS

    p = commands.add_parser(
        "compare", formatter_class=formatter_class, epilog=_EXAMPLE,
        help="train several settings side by side and compare them",
        description="Train every combination of the values given (or a random search over\n"
                    "them), in parallel, and write a table, a CSV with one row per run and\n"
                    "one picture overlaying every configuration's loss and test accuracy.")
    group = p.add_argument_group("training parameters (each a value or a comma list)")
    for f in config_fields():
        if f.name == "seed":
            continue  # --seeds, below
        meta = f.metadata
        kind = "true,false" if isinstance(f.default, bool) else (meta["metavar"] or "VALUE")
        group.add_argument(meta["flag"], dest=f.name, metavar=f"{kind}[,...]",
                           help=meta["help"] + _default_text(f))
    p.add_argument("--seeds", default="0", metavar="S[,...]",
                   help="run each configuration once per seed (mean and spread are shown)")
    p.add_argument("--search", choices=("grid", "random"), default="grid",
                   help="grid: every combination; random: --trials draws, ranges LOW:HIGH "
                        "log-uniform, lists uniform")
    p.add_argument("--trials", type=int, metavar="N", help="configurations to draw with "
                   "--search random")
    p.add_argument("--search-seed", type=int, default=0, metavar="N",
                   help="seed of the random search's draws")
    p.add_argument("--preset", choices=tuple(PRESETS),
                   help="start every configuration from a preset's values (see fastnn train)")
    p.add_argument("--fast", action="store_true", help="the same as --preset fast")
    p.add_argument("--rank", choices=("accuracy", "time"), default="accuracy",
                   help="what makes a configuration best: mean final test accuracy, or mean "
                        "time to --target-accuracy")
    p.add_argument("--engine", choices=ENGINES, default="local",
                   help="local: joblib processes on this machine; dask or ray: a cluster")
    p.add_argument("--scheduler", metavar="ADDRESS", help="--engine dask: the scheduler, "
                   "e.g. tcp://10.0.0.5:8786 (default: a LocalCluster here)")
    p.add_argument("--address", metavar="ADDRESS", help="--engine ray: the head node, e.g. "
                   "10.0.0.5:6379 or auto (default: a Ray instance started here)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="runs at a time on this machine (default: cores / threads per run)")
    p.add_argument("--yes", action="store_true",
                   help=f"start a sweep of more than {MAX_RUNS} runs")
    p.add_argument("--csv", metavar="PATH", default=DEFAULT_CSV,
                   help="the table, one row per run")
    p.add_argument("--plot", metavar="PATH", default=DEFAULT_PLOT,
                   help="the overlay of every configuration's curves")
    p.add_argument("--no-plot", action="store_true", help="do not draw the overlay")
    p.add_argument("--keep", metavar="DIR",
                   help="also write each run's model (run-NNN.npz) and history (run-NNN.csv)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _default_text(f):
    default = f.default
    if default is None or isinstance(default, bool):
        return ""
    return f" (default: {default})".replace("%", "%%")


def unknown_flags(extra) -> int:
    """Exit status 2 and a message for flags ``fastnn compare`` does not take."""
    from fastnn.cli import build_parser

    parser = build_parser()
    compare_parser = parser._subparsers._group_actions[0].choices["compare"]
    known = sorted(s for a in compare_parser._actions for s in a.option_strings
                   if s.startswith("--"))
    flag = next((e for e in extra if e.startswith("-")), extra[0])
    guess = difflib.get_close_matches(flag.split("=")[0], known, 1)
    hint = f"; did you mean {guess[0]}?" if guess else ""
    return _error(f"compare: unknown argument {flag!r}{hint} The training flags are "
                  f"{', '.join(f.metadata['flag'] for f in config_fields() if f.name != 'seed')}"
                  f"; see 'fastnn compare --help'")


def parse_values(f, text, search):
    """The values of field ``f`` in the flag's ``text``: a list, one value, or a
    :class:`~fastnn.compare.LogUniform` range (``LOW:HIGH``, random search only).
    Raises ValueError naming the flag and what it accepts."""
    from fastnn.compare import LogUniform

    flag, meta = f.metadata["flag"], f.metadata
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ValueError(f"{flag} {text!r}: an empty value in the list; give values separated "
                         "by commas, e.g. " + _example(f))
    numeric = not isinstance(f.default, (bool, str)) and not meta["choices"]
    if len(items) == 1 and ":" in items[0] and numeric:
        if search != "random":
            raise ValueError(f"{flag} {text!r}: a range LOW:HIGH is for --search random; a grid "
                             "needs a comma list, e.g. " + _example(f, ranges=False))
        low, high = (_one(f, part, text) for part in items[0].split(":", 1))
        try:
            return LogUniform(low, high)
        except ValueError as exc:
            raise ValueError(f"{flag} {text!r}: {exc}") from None
    values = [_one(f, item, text) for item in items]
    return values if len(values) > 1 else values[0]


def _one(f, item, text):
    flag, meta = f.metadata["flag"], f.metadata
    if isinstance(f.default, bool):
        if item.lower() in _TRUE + _FALSE:
            return item.lower() in _TRUE
        raise ValueError(f"{flag} {text!r}: {item!r} is not true or false (also yes/no, "
                         "on/off, 1/0)")
    parse = meta["parse"] or type(f.default)
    try:
        return parse(item)
    except ValueError:
        kind = {int: "a whole number", float: "a number"}.get(parse, "a value")
        raise ValueError(f"{flag} {text!r}: cannot read {item!r} as {kind}; give a comma list "
                         f"such as {_example(f)}") from None


def _example(f, ranges=True):
    meta = f.metadata
    if meta["choices"]:
        return ",".join(meta["choices"][:2]) + f" (accepted: {', '.join(meta['choices'])})"
    if isinstance(f.default, bool):
        return "true,false"
    if meta["parse"] is int or isinstance(f.default, int):
        return "128,512"
    return "0.01,0.1" + (" or a range such as 1e-4:1 with --search random" if ranges else "")


def _grid(args):
    grid = {}
    for f in config_fields():
        text = getattr(args, f.name, None)
        if f.name != "seed" and text is not None:
            grid[f.name] = parse_values(f, text, args.search)
    return grid


def _seeds(text):
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise ValueError(f"--seeds {text!r}: give whole numbers separated by commas, e.g. "
                         "0,1,2") from None


def run(args) -> int:
    from fastnn import backends, compare
    from fastnn.engines import EngineUnavailableError

    try:
        grid, seeds = _grid(args), _seeds(args.seeds)
        preset = args.preset
        if args.fast:
            if preset not in (None, "fast"):
                raise ValueError(f"--fast is --preset fast; it cannot go with --preset {preset}")
            preset = "fast"
        if args.engine != "dask" and args.scheduler:
            raise ValueError("--scheduler is for --engine dask (--address for --engine ray)")
        if args.engine != "ray" and args.address:
            raise ValueError("--address is for --engine ray (--scheduler for --engine dask)")
        if args.search == "random" and (args.trials is None or args.trials < 1):
            raise ValueError(f"--search random needs --trials N with N >= 1, got {args.trials}")
        if args.search == "grid" and args.trials is not None:
            raise ValueError("--trials is for --search random (a grid runs every combination)")
        if args.jobs is not None and (args.jobs < 1 or args.engine != "local"):
            raise ValueError(f"--jobs must be >= 1 and is for --engine local, got {args.jobs}")
        outputs = _outputs(args)
    except (ValueError, TypeError) as exc:
        return _error(_with_flag_names(str(exc)))
    except OSError as exc:
        return _error(exc.strerror or exc)
    address = args.scheduler or args.address
    kwargs = dict(seeds=seeds, search=args.search, trials=args.trials,
                  search_seed=args.search_seed, preset=preset, engine=args.engine,
                  address=address, jobs=args.jobs, keep=args.keep,
                  progress="lines" if args.no_progress else True, rank=args.rank)
    if args.yes:
        kwargs["max_runs"] = sys.maxsize
    try:
        result = compare.compare(grid, **kwargs)
    except compare.TooManyRunsError as exc:
        return _error(exc)
    except EngineUnavailableError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, backends.BackendUnavailableError) as exc:
        return _error(_with_flag_names(str(exc)))
    print()
    print(result.table())
    status = _write(result, outputs)
    if result.interrupted:
        print(f"{PROG}: interrupted: {len(result.rows)} of {len(result.configs)} runs had "
              "finished; their rows and curves are written", file=sys.stderr)
        return 130
    return status


def _outputs(args):
    from fastnn._io import check_output_path

    plot = None
    if not args.no_plot:
        from fastnn import plotting

        plot = plotting.check_plot_path(args.plot)
        check_output_path(plot, "--plot")
    csv = check_output_path(args.csv, "--csv")
    return csv, plot


def _write(result, outputs) -> int:
    csv, plot = outputs
    status = 0
    jobs = [("table", csv, lambda: result.write_csv(csv))]
    if plot is not None and any(r["history"] for r in result.rows):
        jobs.append(("curves", plot, lambda: result.plot(plot)))
    for name, target, write in jobs:
        try:
            written = write()
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted again: the {name} was not written", file=sys.stderr)
            return 130
        except (OSError, ValueError) as exc:
            print(f"{PROG}: error: cannot write the {name} to {target}: {exc}", file=sys.stderr)
            status = 1
        else:
            print(f"{name} written to {written}")
    return status
