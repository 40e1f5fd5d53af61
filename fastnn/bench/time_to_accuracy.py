"""Time to accuracy: how long a preset takes to reach 97 % and 98 % test accuracy, on a backend
and, when PyTorch imports, for the same recipe in PyTorch on the CPU.

The clock runs as :func:`fastnn.train`'s does: from the start of the training loop (the data
prepared, the kernels compiled: a warm-up run compiles them first) to the end of the first
evaluation whose test accuracy reaches the target; evaluations are part of the time. The
PyTorch loop is the benchmark's twin (:mod:`fastnn.bench.baselines.torch_twin`) with the
recipe's initial weights (copied from a fastnn network drawn as ``train(seed=s)`` draws them),
its mini-batches and its learning-rate schedule, evaluating at the same iterations and by the
same rule; Adam is ``torch.optim.Adam`` with fastnn's betas and eps.

>>> rows = measure_time_to_accuracy("fast", implementations=("numba",))   # doctest: +SKIP
>>> print(render_time_to_accuracy(rows))                                  # doctest: +SKIP
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np

__all__ = ["measure_time_to_accuracy", "render_time_to_accuracy", "seconds_to", "TARGETS",
           "torch_time_to_accuracy", "time_to_accuracy_table", "bench_time_to_accuracy",
           "render_bench_time_to_accuracy"]

#: The accuracies whose times are reported.
TARGETS = (0.97, 0.98)


def seconds_to(target, test_acc, eval_seconds):
    """The time of the first evaluation with ``test_acc >= target``, or None.

    Parameters
    ----------
    target : float
    test_acc : sequence of float
        The test accuracy of each evaluation.
    eval_seconds : sequence of float
        The time of each evaluation (as ``TrainResult.eval_seconds``).

    Returns
    -------
    float or None
    """
    for acc, seconds in zip(test_acc, eval_seconds):
        if acc >= target:
            return float(seconds)
    return None


def _warm_up(config):
    """Compile (or load) the kernels of ``config``'s backend and dtype before any clock runs."""
    from fastnn import train
    from fastnn.datasets.mnist import load_arrays

    x, y, xt, yt = load_arrays()
    train(backend=config.backend, dtype=config.dtype, optimizer=config.optimizer, iters=2,
          batch_size=2, hidden_size=2, data=(x[:4], y[:4], xt[:4], yt[:4]))


def _fastnn_row(config, targets):
    from fastnn import train

    _warm_up(config)
    result = train(config)
    h = result.history
    return dict(implementation=f"fastnn {result.backend}", seed=config.seed,
                times={t: seconds_to(t, h["test_acc"], result.eval_seconds) for t in targets},
                final=result.test_accuracy, iterations=result.iterations,
                seconds=result.seconds, stop_reason=result.stop_reason)


def torch_time_to_accuracy(config, targets=TARGETS, threads=None):
    """The recipe ``config`` (SGD or Adam on ReLU, any schedule, batches drawn as ``train``
    draws them) in PyTorch: a row as :func:`measure_time_to_accuracy` makes them.

    Parameters
    ----------
    config : TrainConfig
        The recipe (its seed draws the initial weights and the batches).
    targets : sequence of float
        The accuracies whose times are read off the evaluations.
    threads : int, optional
        ``torch.set_num_threads`` (default: ``config.threads``, else PyTorch's own).

    Returns
    -------
    dict
        As a row of :func:`measure_time_to_accuracy`.

    Raises
    ------
    RuntimeError
        Without PyTorch (saying why), or for a recipe whose optimizer the twin does not have.
    """
    from fastnn._batches import batch_sampler
    from fastnn.bench.baselines.torch_twin import TorchTwin, _require_torch
    from fastnn.datasets.mnist import load_arrays
    from fastnn.network import TwoLayerNet
    from fastnn.schedules import learning_rate_at

    _require_torch()
    if (config.optimizer not in ("sgd", "adam") or config.activation != "relu"
            or config.weight_decay or config.validation_split):
        raise RuntimeError("the PyTorch twin runs SGD or Adam on ReLU without weight decay or "
                           f"a validation split; this recipe is not that ({config.optimizer}, "
                           f"{config.activation}, weight_decay={config.weight_decay}, "
                           f"validation_split={config.validation_split})")
    x_train, y_train, x_test, y_test = load_arrays()
    n_train = x_train.shape[0]
    draws = np.random.RandomState(config.seed)
    init = TwoLayerNet(784, config.hidden_size, 10, config.weight_init_std, backend="numpy",
                       dtype=config.dtype, seed=draws)
    twin = TorchTwin(init.params, x_train, y_train, config.learning_rate,
                     threads=threads if threads is not None else config.threads)
    X_test, t_test = twin.prepare(x_test, y_test)
    step = twin.step if config.optimizer == "sgd" else _torch_adam(twin, config.learning_rate)
    draw_batch = batch_sampler(draws, n_train, config.batch_size, config.shuffle)
    n_iters = config.iterations(n_train)
    eval_every = config.eval_every or math.ceil(n_train / config.batch_size)
    test_acc, eval_seconds = [], []
    start = time.perf_counter()

    def evaluate():
        test_acc.append(twin.accuracy(X_test, t_test))
        eval_seconds.append(time.perf_counter() - start)
        return config.target_accuracy is not None and test_acc[-1] >= config.target_accuracy

    twin.accuracy(twin.X_all, twin.y_all)  # train() measures the whole training set at 0
    done, i = evaluate(), 0
    while i < n_iters and not done:
        twin.learning_rate = learning_rate_at(config.schedule, config.learning_rate, i, n_iters)
        step(draw_batch())
        i += 1
        if i % eval_every == 0 or i == n_iters:
            done = evaluate()
    return dict(implementation="PyTorch CPU", seed=config.seed,
                times={t: seconds_to(t, test_acc, eval_seconds) for t in targets},
                final=test_acc[-1], iterations=i, seconds=eval_seconds[-1],
                stop_reason="target_accuracy" if done else "completed")


def _torch_adam(twin, learning_rate):
    """One Adam iteration of ``twin`` with ``torch.optim.Adam`` (fastnn's betas; its eps, 1e-7,
    is added to ``sqrt(v)`` before rather than after the bias correction of ``v``, a
    difference of at most ``1e-7`` in the denominator) at ``twin.learning_rate``; the loss is
    the twin's (:meth:`TorchTwin.step`)."""
    torch = twin.torch
    optimizer = torch.optim.Adam(list(twin.params.values()), lr=learning_rate,
                                 betas=(0.9, 0.999), eps=1e-7)

    def step(idx):
        idx_t = torch.from_numpy(np.asarray(idx, dtype=np.int64))
        X = twin.X_all.index_select(0, idx_t)
        labels = twin.y_all.index_select(0, idx_t)
        Z2 = twin.forward(X)
        picked = torch.softmax(Z2, dim=1).gather(1, labels.unsqueeze(1))
        loss = -torch.log(picked + 1e-7).sum() / X.shape[0]
        loss.backward()
        for group in optimizer.param_groups:
            group["lr"] = twin.learning_rate
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            n_correct = int((Z2.argmax(dim=1) == labels).sum())
        return float(loss.item()), n_correct
    return step


def measure_time_to_accuracy(preset="fast", *, implementations=("numba", "numpy", "torch"),
                             seeds=(0,), targets=TARGETS, threads=None, **overrides):
    """Run preset ``preset`` on each implementation and seed; one row per run.

    Parameters
    ----------
    preset : str
        A preset of :mod:`fastnn.presets`.
    implementations : sequence of {"numba", "numpy", "torch"}
        ``"torch"`` is left out (with a row saying why) when PyTorch is not importable.
    seeds : sequence of int
    targets : sequence of float
        The accuracies whose times are read off each run's evaluations.
    threads : int, optional
        Threads of every implementation (default: the preset's, i.e. all cores).
    **overrides
        TrainConfig values replacing the preset's (e.g. ``target_accuracy=None`` to run the
        whole budget).

    Returns
    -------
    list of dict
        ``implementation``, ``seed``, ``times`` {target: seconds or None}, ``final`` (test
        accuracy at the end), ``iterations``, ``seconds``, ``stop_reason``; or ``error``.
    """
    from fastnn.bench.baselines.torch_twin import torch_unavailable
    from fastnn.presets import preset_config

    known = ("numba", "numpy", "torch")
    for impl in implementations:
        if impl not in known:
            raise ValueError(f"implementations: unknown implementation {impl!r}; "
                             f"accepted: {', '.join(known)}")
    rows = []
    for impl in implementations:
        for s in seeds:
            if impl == "torch":
                reason = torch_unavailable()
                config = preset_config(preset, seed=s, threads=threads, **overrides)
                if reason:
                    rows.append(dict(implementation="PyTorch CPU", seed=s, error=reason))
                    break
                try:
                    rows.append(torch_time_to_accuracy(config, targets, threads))
                except RuntimeError as exc:
                    rows.append(dict(implementation="PyTorch CPU", seed=s, error=str(exc)))
                    break
                continue
            config = preset_config(preset, backend=impl, seed=s, threads=threads, **overrides)
            rows.append(_fastnn_row(config, targets))
    for row in rows:
        row["preset"] = preset
    return rows


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


INTRO = ("Seconds from the start of the training loop (kernels compiled, data prepared) to "
         "the end of the first evaluation reaching the accuracy, evaluations included; median "
         "over the seeds (in brackets: the fastest and slowest seed, and how many seeds reached "
         "it). The runs stop at the preset's `target_accuracy`, so a higher accuracy than "
         "that is not reached by design.\n")


def render_time_to_accuracy(rows, targets=TARGETS, title="Time to accuracy") -> str:
    """A Markdown section: per preset and implementation, the median time to each target
    over its seeds (how many reached it), the final accuracy, and the speed-up of the
    fastest fastnn row over each other row.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`measure_time_to_accuracy` (each with its ``preset``).
    targets : sequence of float
        The columns; the last is the one the comparison with the fastest row is made on.
    title : str
        The section's heading.

    Returns
    -------
    str
    """
    return "\n".join([f"## {title}\n", INTRO, *time_to_accuracy_table(rows, targets)]) + "\n"


def _cell(times):
    reached = [x for x in times if x is not None]
    if not reached:
        return "not reached"
    spread = f"{min(reached):.2f}–{max(reached):.2f}, " if len(reached) > 1 else ""
    return f"{statistics.median(reached):.2f} s ({spread}{len(reached)}/{len(times)})"


def time_to_accuracy_table(rows, targets=TARGETS) -> list:
    """The lines of the Markdown table of :func:`render_time_to_accuracy` (no heading)."""
    head = "| preset | implementation | " + " | ".join(
        f"to {t * 100:g} %" for t in targets) + " | final test acc | iterations | vs fastest |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    groups = {}
    for row in rows:
        groups.setdefault((row["preset"], row["implementation"]), []).append(row)
    last = targets[-1]
    fastest = {}
    for (preset, impl), runs in groups.items():
        t = _median([r.get("times", {}).get(last) for r in runs])
        if impl.startswith("fastnn") and t is not None:
            fastest[preset] = min(t, fastest.get(preset, math.inf))
    for (preset, impl), runs in groups.items():
        errors = [r["error"] for r in runs if "error" in r]
        if errors:
            lines.append(f"| {preset} | {impl} | " + " | ".join("–" for _ in targets)
                         + f" | – | – | not run: {errors[0]} |")
            continue
        cells = [_cell([r["times"].get(t) for r in runs]) for t in targets]
        finals = statistics.median(r["final"] for r in runs)
        iters = statistics.median(r["iterations"] for r in runs)
        m = _median([r["times"].get(last) for r in runs])
        ratio = ("–" if m is None or preset not in fastest else
                 f"{m / fastest[preset]:.1f}x slower" if m > fastest[preset] * 1.005
                 else "fastest")
        lines.append(f"| {preset} | {impl} | " + " | ".join(cells)
                     + f" | {finals * 100:.2f} % | {iters:,.0f} | {ratio} |")
    return lines


# -- fastnn bench -----------------------------------------------------------------------------

#: What the full ``fastnn bench`` measures: (preset, implementations, targets of its table).
BENCH_PLAN = (("fast", ("numba", "numpy", "torch"), TARGETS),
              ("fast-800", ("numba",), (0.97, 0.98, 0.984)))
#: The seeds of each row of the full bench.
BENCH_SEEDS = (0, 1, 2)


def bench_time_to_accuracy(settings, failures):
    """The time-to-accuracy rows of one ``fastnn bench`` run, and a note on what was left out.

    Parameters
    ----------
    settings : fastnn.bench.options.BenchSettings
        ``quick`` measures preset "fast" on numba only, one seed (the preset as it is: at
        most 1,000 iterations, a few seconds); ``use_torch`` False leaves out the PyTorch row.
    failures : dict
        A row that raises is recorded here (label -> message), as the bench's other rows are.

    Returns
    -------
    (list of dict, str)
        The rows (as :func:`measure_time_to_accuracy` makes them) and the note.
    """
    from .measure import attempt, log

    if settings.quick:
        plan = (("fast", ("numba",), TARGETS),)
        seeds = (0,)
        note = ("`--quick`: preset `fast` on numba only, one seed; the full bench runs seeds "
                f"{', '.join(map(str, BENCH_SEEDS))} of `fast` on numba, numpy and PyTorch and "
                "of `fast-800` on numba.")
    else:
        plan, seeds, note = BENCH_PLAN, BENCH_SEEDS, ""
    rows = []
    for preset, impls, targets in plan:
        if "torch" in impls and not settings.use_torch:
            impls = tuple(i for i in impls if i != "torch")
            rows.append(dict(preset=preset, implementation="PyTorch CPU", seed=seeds[0],
                             error="disabled with --no-torch"))
        for impl in impls:
            log(f"time to accuracy: preset {preset} on {impl}, seeds {list(seeds)}")
            got = attempt(failures, f"time to accuracy {preset} {impl}",
                          measure_time_to_accuracy, preset, implementations=(impl,),
                          seeds=seeds, targets=targets)
            rows += got or []
    return rows, note


def render_bench_time_to_accuracy(results) -> str:
    """The "Time to accuracy" section of REPORT.md from ``results.time_to_accuracy`` (one
    table per preset, each with its targets), or the note saying why it is not there."""
    lines = ["## Time to accuracy: the presets (`fastnn train --fast`, `--preset fast-800`)\n"]
    rows = results.time_to_accuracy
    if not rows:
        lines.append((results.time_to_accuracy_note or "Not measured.") + "\n")
        return "\n".join(lines)
    lines.append(INTRO)
    lines.append("The targets of issue 12 on 2 cores: `fast` 97 % in under 1 s and 98 % in "
                 "under 3 s, at least 3x faster than the same recipe in PyTorch; `fast-800` "
                 "(784-800-10) 98.4 % in under 20 s. The presets' own dtype (float32) is used "
                 "whatever `--dtypes` says.\n")
    if results.time_to_accuracy_note:
        lines.append(results.time_to_accuracy_note + "\n")
    plan = {preset: targets for preset, _, targets in BENCH_PLAN}
    for preset in dict.fromkeys(r["preset"] for r in rows):
        lines += time_to_accuracy_table([r for r in rows if r["preset"] == preset],
                                        plan.get(preset, TARGETS))
        lines.append("")
    return "\n".join(lines)
