"""Compare training settings side by side: a grid or a random search of :class:`TrainConfig`
values, run in parallel, one row per run, one picture of every configuration's curves.

>>> from fastnn.compare import expand
>>> [(c["optimizer"], c["seed"]) for c in expand({"optimizer": ["sgd", "adam"]}, seeds=[0, 1])]
[('sgd', 0), ('sgd', 1), ('adam', 0), ('adam', 1)]

Each run is an ordinary :func:`fastnn.train` in a worker process (see :mod:`fastnn.engines`),
with a thread count that keeps runs x threads within the usable cores. A run that diverges
is recorded as diverged, with the iteration; it never stops the others. Ctrl-C stops the sweep
and keeps the runs that had finished.
"""

from __future__ import annotations

import difflib
import itertools
import math
import numbers
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ._compare_output import Comparison
from ._threads import usable_cores
from .config import TrainConfig, config_fields

__all__ = ["compare", "expand", "LogUniform", "Comparison", "MAX_RUNS", "run_config",
           "TooManyRunsError"]

#: A sweep of more runs than this asks to be confirmed (``max_runs=`` / ``--yes``).
MAX_RUNS = 50


class TooManyRunsError(ValueError):
    """The sweep has more runs than ``max_runs``; nothing was started."""


@dataclass(frozen=True)
class LogUniform:
    """A range searched log-uniformly by ``search="random"``: ``exp(uniform(log low, log
    high))``, as the book's ``hyperparameter_optimization.py`` draws ``10 ** uniform(-6, -2)``.
    For an integer field the draw is rounded. CLI: ``--lr 1e-4:1``."""

    low: float
    high: float

    def __post_init__(self):
        if not (isinstance(self.low, numbers.Real) and isinstance(self.high, numbers.Real)
                and 0 < self.low < self.high and math.isfinite(self.high)):
            raise ValueError(f"a range needs 0 < low < high, got {self.low!r}:{self.high!r}")

    def draw(self, rng, integer=False):
        value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return int(round(value)) if integer else value


def _field_names():
    return [f.name for f in config_fields()]


def _check_names(grid):
    names = _field_names()
    flags = {f.metadata["flag"].lstrip("-").replace("-", "_"): f.name for f in config_fields()}
    for name in grid:
        if name not in names:
            guess = flags.get(name) or next(iter(difflib.get_close_matches(name, names, 1)), None)
            hint = f" (did you mean {guess!r}?)" if guess else ""
            raise ValueError(f"{name!r} is not a training parameter{hint}; the parameters are "
                             f"{', '.join(names)}")


def _choices(value):
    """A grid entry as a list of its values (a single value is a list of one)."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("an empty list of values: give at least one")
        return list(value)
    return [value]


def expand(grid=None, *, seeds=(0,), search="grid", trials=None, search_seed=0, base=None):
    """The configurations of a sweep, as plain dicts of every :class:`TrainConfig` field.

    Parameters
    ----------
    grid : mapping of str -> value, list of values or LogUniform, optional
        TrainConfig field names; a list is searched, a single value fixed for every run.
    seeds : sequence of int, default (0,)
        Each configuration runs once per seed (``grid["seed"]`` may give them instead).
    search : {"grid", "random"}
        ``"grid"``: the cross product of the lists (ranges are refused); ``"random"``:
        ``trials`` configurations, each value drawn uniformly from its list or log-uniformly
        from its range, with ``numpy.random.default_rng(search_seed)``.
    trials : int, optional
        The number of random configurations (required with ``search="random"``).
    search_seed : int, default 0
    base : mapping, optional
        Values of the fields the grid does not name (a preset's); default TrainConfig's.

    Returns
    -------
    list of dict
        Configuration by configuration, seed by seed within one; each one checked by
        :class:`TrainConfig` (a bad value raises ``ValueError`` / ``TypeError`` naming the
        field) before anything runs.
    """
    grid = dict(grid or {})
    _check_names(grid)
    if "seed" in grid:
        if tuple(seeds) != (0,):
            raise ValueError("give the seeds once: seeds= or grid['seed'], not both")
        seeds = _choices(grid.pop("seed"))
    seeds = [int(s) for s in _choices(list(seeds))]
    base = dict(base or {})
    if search == "grid":
        for name, value in grid.items():
            if isinstance(value, LogUniform):
                raise ValueError(f"{name}: a range ({value.low:g}:{value.high:g}) is for "
                                 "search='random' (--search random); a grid needs a list")
        names = list(grid)
        combos = [dict(zip(names, values))
                  for values in itertools.product(*(_choices(grid[n]) for n in names))]
    elif search == "random":
        if trials is None or isinstance(trials, bool) or not isinstance(
                trials, numbers.Integral) or trials < 1:
            raise ValueError(f"search='random' needs trials=N with N >= 1, got {trials!r}")
        rng = np.random.default_rng(search_seed)
        integer = {f.name: isinstance(f.default, int) or f.metadata["parse"] is int
                   for f in config_fields()}
        combos = []
        for _ in range(int(trials)):
            combo = {}
            for name, value in grid.items():
                if isinstance(value, LogUniform):
                    combo[name] = value.draw(rng, integer[name])
                else:
                    values = _choices(value)
                    combo[name] = values[int(rng.integers(len(values)))]
            combos.append(combo)
    else:
        raise ValueError(f"search={search!r} is not known; expected 'grid' or 'random'")
    configs = []
    for combo in combos:
        for s in seeds:
            config = TrainConfig(**{**base, **combo, "seed": s})  # checked now, not in a worker
            configs.append(config.to_dict())
    return configs


def varied(configs):
    """The fields (other than the seed) whose values differ between ``configs``."""
    names = [n for n in _field_names() if n != "seed"]
    return [n for n in names if len({repr(c[n]) for c in configs}) > 1]


def run_config(payload):
    """One run of a sweep, in a worker: ``train(TrainConfig.from_dict(payload["config"]))``,
    its outcome as a plain dict (nothing raised but Ctrl-C in this very process)."""
    from .training import TrainingDivergedError, TrainingInterrupted, TrainingWarning, train

    config = TrainConfig.from_dict(payload["config"])
    row = dict(index=payload["index"], config=payload["config"], status="failed",
               final_test_acc=math.nan, best_test_acc=math.nan, best_iter=None,
               seconds=math.nan, iterations=0, time_to_target=None, diverged_at=None,
               error=None, history=None, eval_seconds=[], backend=None, model=None,
               at_chance=False)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TrainingWarning)  # at chance: the row says so
            result = train(config)
    except TrainingDivergedError as exc:
        row.update(status="diverged", diverged_at=exc.iteration, history=_plain(exc.history),
                   backend=exc.backend, seconds=time.perf_counter() - start,
                   iterations=exc.iteration)
        _best(row, exc.history)
        return row
    except TrainingInterrupted as stop:
        row.update(status="interrupted", iterations=stop.result.iterations)
        return row
    except Exception as exc:  # a run's failure is its row's, never the sweep's
        row.update(error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
        return row
    row.update(status=result.stop_reason, final_test_acc=result.test_accuracy,
               seconds=result.seconds, iterations=result.iterations,
               time_to_target=result.time_to_target, history=_plain(result.history),
               eval_seconds=list(result.eval_seconds),
               backend=result.backend, at_chance=result.at_chance)
    _best(row, result.history)
    if payload.get("keep"):
        net = result.network
        row["model"] = dict(params={k: np.array(v) for k, v in net.params.items()},
                            metadata=dict(net.metadata), activation=net.activation,
                            dtype=net.dtype.name)
    return row


def _best(row, history):
    accs = history.get("test_acc") or []
    finite = [a for a in accs if math.isfinite(a)]
    if finite:
        best = max(finite)
        row["best_test_acc"] = best
        row["best_iter"] = history["eval_iter"][accs.index(best)]


def _plain(history):
    return {key: [float(v) for v in values] for key, values in history.items()}


def compare(grid=None, *, seeds=(0,), search="grid", trials=None, search_seed=0, preset=None,
            engine="local", address=None, jobs=None, max_runs=MAX_RUNS, keep=None,
            progress=False, on_result=None, rank="accuracy"):
    """Train every configuration of a grid (or a random search) and compare them.

    Parameters
    ----------
    grid : mapping of str -> value, list of values or LogUniform, optional
        :class:`TrainConfig` field names and their values (see :func:`expand`), e.g.
        ``{"optimizer": ["sgd", "adam"], "learning_rate": [0.01, 0.1], "iters": 2000}``.
    seeds, search, trials, search_seed
        See :func:`expand`.
    preset : str, optional
        Start every configuration from a preset's values (:mod:`fastnn.presets`).
    engine : {"local", "dask", "ray"}, default "local"
        joblib processes here, or a cluster (:mod:`fastnn.engines`).
    address : str, optional
        The dask scheduler or the Ray head node.
    jobs : int, optional
        Runs at a time on the local engine; default: usable cores // threads per run.
    max_runs : int, default MAX_RUNS
        Refuse (``TooManyRunsError``) a sweep of more runs; raise it to confirm a large one.
    keep : str or os.PathLike, optional
        A folder for each run's model (``run-007.npz``) and history (``run-007.csv``).
    progress : bool or "lines", default False
        A tqdm bar of the runs done / total (on a terminal) and one line per finished run on
        stdout; ``"lines"``: the lines only.
    on_result : callable, optional
        ``on_result(row)`` after each finished run (a dict; see :class:`Comparison`).
    rank : {"accuracy", "time"}, default "accuracy"
        What makes a configuration best: the mean final test accuracy over its seeds, or the
        mean time to ``target_accuracy`` (runs that miss it rank after those that reach it).

    Returns
    -------
    Comparison
        ``rows`` (one per finished run), ``table()``, ``write_csv(path)``, ``figure()``,
        ``best``; ``interrupted`` when Ctrl-C stopped the sweep.

    Raises
    ------
    ValueError, TypeError
        For an unknown parameter or a bad value (naming it), before anything runs.
    TooManyRunsError
        For a sweep of more than ``max_runs`` runs.
    fastnn.engines.EngineUnavailableError
        When the engine's library is missing or its cluster cannot be reached.
    """
    from .engines import make_engine

    if rank not in ("accuracy", "time"):
        raise ValueError(f"rank={rank!r} is not known; expected 'accuracy' or 'time'")
    base = None
    if preset is not None:
        from .presets import preset_values

        base = preset_values(preset)
    configs = expand(grid, seeds=seeds, search=search, trials=trials, search_seed=search_seed,
                     base=base)
    if len(configs) > max_runs:
        raise TooManyRunsError(f"this sweep has {len(configs)} runs, more than max_runs="
                               f"{max_runs}; nothing was started: confirm it with max_runs="
                               f"{len(configs)} (fastnn compare --yes)")
    if keep is not None:
        from ._compare_output import check_keep_dir

        check_keep_dir(keep)
    per_run = _threads_per_run(configs, engine, jobs)
    for config in configs:
        if config["threads"] is None:
            config["threads"] = per_run
    threads = max(c["threads"] for c in configs)
    runner = make_engine(engine, address=address, jobs=jobs, threads=threads)
    comparison = Comparison(configs, varied(configs), engine=runner.describe(), rank=rank)
    payloads = [dict(config=c, index=k, keep=keep is not None) for k, c in enumerate(configs)]
    if engine == "local":
        _warm_up(configs, progress)
    bar = _bar(progress is True, len(configs))
    try:
        for row in runner.map_unordered(run_config, payloads):
            if row["status"] == "interrupted":  # Ctrl-C reached a run in this process
                raise KeyboardInterrupt
            comparison.add(row, keep)
            if bar is not None:
                bar.update(1)
                bar.write(comparison.row_line(row), file=sys.stdout)
            elif progress:
                print(comparison.row_line(row), flush=True)
            if on_result is not None:
                on_result(row)
    except KeyboardInterrupt:
        comparison.interrupted = True
    finally:
        if bar is not None:
            bar.close()
        try:
            runner.close()
        except KeyboardInterrupt:  # a second Ctrl-C while the workers stop
            comparison.interrupted = True
    return comparison


def _threads_per_run(configs, engine, jobs):
    """Threads of a run that sets none: the usable cores shared among the runs at a time
    (runs x threads <= cores); 1 on a cluster, whose workers each have their own."""
    if engine != "local":
        return 1
    cores = usable_cores()
    at_once = min(len(configs), jobs or cores)
    return max(1, cores // max(1, at_once))


def _warm_up(configs, progress):
    """Compile the Numba kernels here once before the workers start (else each worker would
    compile them at the same time), announcing the pause as train() does."""
    from ._warmup import compile_notice
    from .training import train

    seen = set()
    for c in configs:
        key = (c["backend"], c["dtype"])
        if key in seen:
            continue
        seen.add(key)
        config = TrainConfig.from_dict(c)
        notice = compile_notice(config)
        if notice is None:
            continue
        if progress:
            print(notice, file=sys.stderr, flush=True)
        from .datasets.mnist import load_arrays

        x, y, xt, yt = load_arrays()
        train(backend=c["backend"], dtype=c["dtype"], iters=1, batch_size=1, hidden_size=1,
              data=(x[:2], y[:2], xt[:2], yt[:2]))


def _bar(progress, total):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="compare", unit="run", disable=None, dynamic_ncols=True)
