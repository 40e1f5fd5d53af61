"""``fastnn bench``: the whole benchmark comparison in one process, written to ``REPORT.md``.

What it measures, with every library pinned to the same thread count (``threadpoolctl`` for BLAS,
``numba.set_num_threads``, ``torch.set_num_threads``; the subprocesses get the matching
``*_NUM_THREADS`` variables):

1. ``train()`` at the teaching program's settings (784-50-10, SGD 0.05, batch 512) for every
   backend, the naive loop (:mod:`fastnn.naive`) and, when PyTorch is importable, the PyTorch twin
   (:mod:`fastnn.torch_reference`), in both dtypes: runs interleaved round-robin so that a noisy
   neighbour hurts every row alike; medians of the whole-run times and of the per-iteration times;
   ratios against the NumPy backend, the naive loop and PyTorch; effective GFLOP/s.
2. Start-up: a new Python process to the first finished train step, with an empty Numba cache
   (cold) and with the cache this process has just filled (warm).
3. Scaling: the median time of one train step, per training sample, over hidden sizes at batch
   512 and over batch sizes at hidden 50, for each backend (and PyTorch); where NumPy wins.

Everything is a median of repeats; JIT compilation is kept out of every timing by a warm-up.
The report and the plots are written atomically (temporary file, then ``os.replace``). A row
that fails is named at the top of the report and makes the exit status 1. The share of CPU time
other processes used during the run is reported too: on a small machine a neighbour taking a
core slows multi-threaded code far more than single-threaded code.

(One module, longer than the usual ~400 lines, because it is one command end to end: measure,
then render the Markdown and the plots from the same dictionaries.)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

IMPLS = ("numba", "numpy", "torch", "naive")
LABELS = {"numba": "fastnn numba", "numpy": "fastnn numpy", "torch": "PyTorch CPU (twin)",
          "naive": "naive loop (seed as written)"}
DTYPES = ("float64", "float32")
N_FEATURES, N_CLASSES, BATCH, HIDDEN, LR = 784, 10, 512, 50, 0.05
FLOP_FORMULA = "3 * (2*n*784*h + 2*n*h*10)"
SETTINGS = {  # the defaults of each mode; every flag overrides its entry
    "default": dict(iters=1000, repeats=3, hidden_sizes=(16, 32, 64, 128, 256, 512, 1024),
                    batch_sizes=(1, 4, 16, 64, 256, 512, 1024, 2048, 4096, 8192),
                    point_seconds=0.1, min_reps=5, cold_runs=1, warm_runs=3),
    "quick": dict(iters=150, repeats=1, hidden_sizes=(16, 64, 256, 1024),
                  batch_sizes=(1, 16, 256, 4096), point_seconds=0.03, min_reps=3, cold_runs=0,
                  warm_runs=1),
}


def train_step_flops(n_samples, n_hidden, n_features=N_FEATURES, n_classes=N_CLASSES):
    """FLOPs of the dense math of one train step: forward ``2nd h + 2n h c``, backward ~2x."""
    return 3 * (2 * n_samples * n_features * n_hidden + 2 * n_samples * n_hidden * n_classes)


_T0 = time.perf_counter()


def _log(message):
    print(f"[fastnn bench {time.perf_counter() - _T0:5.1f}s] {message}", file=sys.stderr,
          flush=True)


def _cpu_seconds():
    """``(busy CPU seconds of the whole machine, CPU seconds of this process and children)``.

    The first is NaN where ``/proc/stat`` is unavailable (not Linux).
    """
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return float("nan"), own
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), own


def _median(values):
    return statistics.median(values) if values else float("nan")


class _StepClock:
    """A ``progress=`` object for ``train()`` that records the wall time of each iteration."""

    def __init__(self):
        self.times = []
        self._last = time.perf_counter()

    def update(self, n=1, **postfix):
        now = time.perf_counter()
        self.times.append(now - self._last)
        self._last = now

    def close(self):
        pass


# -- what can run here ------------------------------------------------------------------------

def impl_unavailable(name, use_torch=True):
    """Why implementation ``name`` cannot run here, or None."""
    if name == "naive":
        return None
    if name == "torch":
        if not use_torch:
            return "disabled with --no-torch"
        from .torch_reference import torch_unavailable
        return torch_unavailable()
    from . import backends
    return backends.unavailable_reason(name)


@contextlib.contextmanager
def pinned_threads(threads, use_torch=False):
    """Limit BLAS/OpenMP pools, Numba (and PyTorch) to ``threads`` inside the block."""
    from threadpoolctl import threadpool_limits
    if use_torch:
        import torch
        torch.set_num_threads(threads)
    previous = None
    try:
        import numba
        previous = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        numba = None
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        if numba is not None:
            numba.set_num_threads(previous)


def thread_env(threads, env=None):
    """A copy of ``env`` (default ``os.environ``) pinning every pool to ``threads``."""
    env = dict(os.environ if env is None else env)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        env[var] = str(threads)
    return env


# -- 1. the whole training run --------------------------------------------------------------------

def run_training(impl, dtype, iters, data, naive_data, threads):
    """One run of ``iters`` iterations; returns a dict (seconds, step_times, accuracy, loss)."""
    step_times = []
    if impl == "naive":
        from .naive import naive_train
        r = naive_train(iters, dtype=dtype, data=naive_data[dtype], step_times=step_times)
        return dict(seconds=r.seconds, step_times=step_times, accuracy=r.test_accuracy,
                    loss=r.losses[-1])
    if impl == "torch":
        from .torch_reference import torch_train
        r = torch_train(iters, dtype=dtype, data=data, threads=threads, step_times=step_times)
        return dict(seconds=r.seconds, step_times=step_times, accuracy=r.test_accuracy,
                    loss=r.losses[-1])
    from .training import train
    clock = _StepClock()
    r = train(backend=impl, iters=iters, dtype=dtype, data=data, seed=0, progress=clock)
    return dict(seconds=r.seconds, step_times=clock.times, accuracy=r.test_accuracy,
                loss=r.history["train_loss"][-1])


def _attempt(failures, label, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or None with the error recorded under ``label``: one broken row
    must not cost the rest of the report (``main`` then exits with status 1)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        message = (f"{type(exc).__name__}: {exc}".strip().splitlines() or ["?"])[0][:300]
        failures.setdefault(label, message)
        _log(f"FAILED {label}: {message}")
        return None


def measure_training(impls, dtypes, iters, repeats, data, threads, failures):
    """Warm every (impl, dtype) up, then ``repeats`` round-robin rounds; returns a result dict."""
    from .naive import prepare_data
    naive_data = {dt: prepare_data(data, dt) for dt in dtypes} if "naive" in impls else {}
    runs = {}
    for impl in impls:
        for dt in dtypes:  # JIT compilation and first-touch costs stay out of the timings
            _log(f"warm-up: {impl} {dt}")
            if _attempt(failures, f"train {impl} {dt}", run_training, impl, dt, 3, data,
                        naive_data, threads) is not None:
                runs[(impl, dt)] = []
    for r in range(repeats):
        for (impl, dt), out in list(runs.items()):
            run = _attempt(failures, f"train {impl} {dt}", run_training, impl, dt, iters, data,
                           naive_data, threads)
            if run is None:
                del runs[(impl, dt)]
                continue
            out.append(run)
            _log(f"train() {iters} it: {impl} {dt} (round {r + 1}/{repeats}): "
                 f"{run['seconds']:.2f} s, median {_median(run['step_times']) * 1e3:.3f} ms/it")
    results = {}
    for key, out in runs.items():
        step = _median([t for run in out for t in run["step_times"]])
        results[key] = dict(seconds=_median([run["seconds"] for run in out]),
                            all_seconds=[run["seconds"] for run in out], step=step,
                            gflops=train_step_flops(BATCH, HIDDEN) / step / 1e9,
                            accuracy=out[-1]["accuracy"], loss=out[-1]["loss"])
    return results


# -- 2. start-up in a new process -----------------------------------------------------------------

_CHILD = r"""
import json, sys, time
t0 = float(sys.argv[1]); cfg = json.loads(sys.argv[2])
import numpy as np
import fastnn
from fastnn import backends
from fastnn.datasets.mnist import load_arrays
from fastnn.optimizers import make_optimizer
t_import = time.time() - t0
x, y, _, _ = load_arrays()
be = backends.get(cfg["backend"])
t_backend = time.time() - t0
rs = np.random.RandomState(0)
net = fastnn.TwoLayerNet(784, cfg["hidden"], 10, backend=be, dtype=cfg["dtype"], seed=rs)
step = be.make_train_step(x, y, net.params, "relu", make_optimizer("sgd", 0.05), cfg["batch"])
loss, _ = step(rs.choice(x.shape[0], cfg["batch"]))
t_first = time.time() - t0
steady = []
for _ in range(5):
    t = time.perf_counter(); step(rs.choice(x.shape[0], cfg["batch"]))
    steady.append(time.perf_counter() - t)
print(json.dumps(dict(import_s=t_import, backend_s=t_backend, first_step_s=t_first,
                      steady_step_s=min(steady), loss=loss, backend=be.name)))
"""


def startup_run(backend, dtype="float64", threads=2, cache_dir=None, batch_size=BATCH,
                hidden=HIDDEN, timeout=600):
    """Start a new Python process and time it up to its first finished train step.

    Parameters
    ----------
    backend : str
    cache_dir : str or path, optional
        ``NUMBA_CACHE_DIR`` for the child (an empty directory: a cold start); default the
        usual cache, which this process's own runs have filled (a warm start).

    Returns
    -------
    dict with ``first_step_s`` (seconds from spawn to the end of the first train step),
    ``import_s``, ``backend_s``, ``steady_step_s`` (the fastest of the next five steps) and the
    first ``loss``.
    """
    env = thread_env(threads)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    cfg = json.dumps(dict(backend=backend, dtype=dtype, batch=batch_size, hidden=hidden))
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", _CHILD, repr(t0), cfg], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"start-up child for {backend!r} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_startup(backend_names, threads, cold_runs, warm_runs, failures, dtype="float64"):
    """Cold (empty ``NUMBA_CACHE_DIR``) and warm (the usual cache) starts; medians."""
    results = {}
    for name in backend_names:
        kinds = [("warm", warm_runs)] + ([("cold", cold_runs)] if name == "numba" else [])
        if name == "numba":  # makes sure the usual cache holds this variant
            _attempt(failures, f"start-up {name} warm", startup_run, name, dtype, threads)
        for kind, runs in kinds:
            out = []
            for i in range(runs if f"start-up {name} {kind}" not in failures else 0):
                _log(f"start-up: {name} {kind} ({i + 1}/{runs})")
                with tempfile.TemporaryDirectory(prefix="fastnn-numba-cache-") as cache:
                    result = _attempt(failures, f"start-up {name} {kind}", startup_run, name,
                                      dtype, threads, cache_dir=cache if kind == "cold" else None)
                if result is None:
                    out = []
                    break
                out.append(result)
            if out:
                results[(name, kind)] = {key: _median([o[key] for o in out])
                                         for key in ("import_s", "backend_s", "first_step_s",
                                                     "steady_step_s")}
                results[(name, kind)]["runs"] = runs
    return results


# -- 3. scaling -----------------------------------------------------------------------------------

def time_calls(fn, args_list, min_reps, min_seconds, warmup=2, max_reps=1000):
    """Median seconds of ``fn(args)`` cycling over ``args_list``, after ``warmup`` calls."""
    for i in range(warmup):
        fn(args_list[i % len(args_list)])
    times, start = [], time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps
                                     or time.perf_counter() - start < min_seconds):
        a = args_list[len(times) % len(args_list)]
        t = time.perf_counter()
        fn(a)
        times.append(time.perf_counter() - t)
    return _median(times)


def make_step(impl, dtype, n, h, data, torch_data):
    """``step(idx)`` for one training iteration of ``impl`` at batch ``n``, hidden ``h``."""
    from .network import TwoLayerNet
    x_train, y_train = data[0], data[1]
    backend = impl if impl in ("numpy", "numba") else "numpy"
    net = TwoLayerNet(N_FEATURES, h, N_CLASSES, backend=backend, dtype=dtype,
                      seed=np.random.RandomState(0))
    if impl == "torch":
        from .torch_reference import TorchTwin
        twin = TorchTwin(net.params, x_train, y_train, LR, prepared=torch_data.get(dtype))
        torch_data[dtype] = (twin.X_all, twin.y_all)
        return twin.step
    from .optimizers import make_optimizer
    return net.backend.make_train_step(x_train, y_train, net.params, "relu",
                                       make_optimizer("sgd", LR), n)


def measure_scaling(impls, dtypes, hidden_sizes, batch_sizes, data, min_reps, point_seconds,
                    failures):
    """Median seconds per train step at each (batch, hidden) point of both sweeps."""
    points = [(BATCH, h) for h in hidden_sizes] + [(n, HIDDEN) for n in batch_sizes]
    points = list(dict.fromkeys(points))
    results, torch_data = {}, {}
    rs = np.random.RandomState(1)
    for dt in dtypes:
        for n, h in points:
            _log(f"scaling: {dt} batch {n} hidden {h}")
            batches = [rs.choice(data[0].shape[0], n) for _ in range(4)]
            for impl in impls:  # interleaved at each point, so load changes hit all alike
                label = f"scaling {impl} {dt}"
                if label in failures:
                    continue
                step = _attempt(failures, label, make_step, impl, dt, n, h, data, torch_data)
                t = step and _attempt(failures, label, time_calls, step, batches, min_reps,
                                      point_seconds)
                if t is not None:
                    results[(impl, dt, n, h)] = t
    return results


def numpy_wins(scaling, dtypes):
    """``[(dtype, n, h, numba_s / numpy_s)]`` where the NumPy backend beats Numba."""
    wins = []
    for (impl, dt, n, h), t_numpy in sorted(scaling.items()):
        t_numba = scaling.get(("numba", dt, n, h))
        if impl == "numpy" and dt in dtypes and t_numba is not None and t_numpy < t_numba:
            wins.append((dt, n, h, t_numba / t_numpy))
    return wins


# -- the report ----------------------------------------------------------------------------------

def environment(threads):
    """Machine and library versions, as ``[(name, value)]``."""
    from threadpoolctl import threadpool_info

    import fastnn
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    rows = [("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
            ("CPU", f"{cpu}; {os.cpu_count()} logical cores"
                    + (f", {len(os.sched_getaffinity(0))} usable"
                       if hasattr(os, "sched_getaffinity") else "")),
            ("threads (BLAS, Numba, PyTorch)", str(threads)),
            ("OS", platform.platform()),
            ("Python", platform.python_version()),
            ("fastnn", fastnn.__version__), ("NumPy", np.__version__)]
    for mod in ("numba", "llvmlite", "threadpoolctl", "matplotlib"):
        try:
            rows.append((mod, __import__(mod).__version__))
        except ImportError:
            rows.append((mod, "not installed"))
    from .torch_reference import torch_version
    rows.append(("torch", torch_version() or "not installed"))
    for pool in threadpool_info():
        details = [str(pool[k]) for k in ("threading_layer", "architecture") if pool.get(k)]
        parts = [pool["internal_api"], pool.get("version"),
                 f"({', '.join(details)})" if details else None,
                 Path(pool.get("filepath", "")).name]
        rows.append((f"{pool['user_api']} pool", " ".join(p for p in parts if p)))
    return rows


def _fmt(x, digits=3):
    if x is None or x != x:
        return "–"
    return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def render_report(ctx):
    """The Markdown text of REPORT.md from the measurement context ``ctx``."""
    s, lines = ctx["settings"], []
    add = lines.append
    add("# fastnn benchmark report\n")
    other = ctx["other_cpu"]
    add(f"Written by `{ctx['command']}` in {ctx['elapsed']:.0f} s"
        + (f"; other processes kept {other:.0%} of the machine's CPU time busy meanwhile. "
           if other == other else ". ") +
        "Every number is a median; ratios are speed-ups (>1: faster than the column's "
        "reference). Reproduce with `fastnn bench` (or `python scripts/bench_report.py`); "
        "`--quick` for a 30-second check, `--iters 10000 --repeats 3` for the teaching program's "
        "full run (about 10 minutes).\n")
    if ctx["failures"]:
        add("**Some measurements failed** and are missing below:\n")
        lines += [f"- {label}: `{message}`" for label, message in ctx["failures"].items()]
        add("")
    if other > 0.1:
        add("**The machine was busy with other work during this run**: multi-threaded timings "
            "suffer most when another process takes a core, so treat these numbers with care.\n")
    add("## Machine and libraries\n")
    add("| | |\n|---|---|")
    lines += [f"| {k} | {v} |" for k, v in ctx["environment"]]
    add("")
    train = ctx["training"]
    add(f"## Training at the teaching program's settings\n\n784-50-10 ReLU, SGD lr 0.05, batch "
        f"512, {s['iters']:,} iterations per run, {s['repeats']} run(s) per row, interleaved; "
        f"`train(seed=0)` with its default evaluation every epoch. *train() s*: median wall time "
        f"of a whole run (fastest and slowest run in brackets: a wide range means a noisy "
        f"machine); *ms/it*: median over all iterations of all runs; ratios use the whole-run "
        f"medians.\n")
    refs = [r for r in ("numpy", "naive", "torch") if any(k[0] == r for k in train)]
    head = ("| implementation | dtype | train() s | ms/it | " +
            " | ".join(f"x vs {LABELS[r].split(' (')[0]}" for r in refs) +
            " | GFLOP/s | test acc |")
    add(head)
    add("|" + "---|" * (head.count("|") - 1))
    for dt in s["dtypes"]:
        for impl in IMPLS:
            r = train.get((impl, dt))
            if r is None:
                continue
            ratios = [_fmt(train[(ref, dt)]["seconds"] / r["seconds"]) if (ref, dt) in train
                      else "–" for ref in refs]
            spread = (f" ({_fmt(min(r['all_seconds']))}–{_fmt(max(r['all_seconds']))})"
                      if len(r["all_seconds"]) > 1 else "")
            add(f"| {LABELS[impl]} | {dt} | {_fmt(r['seconds'])}{spread} | "
                f"{_fmt(r['step'] * 1e3)} | "
                + " | ".join(ratios) + f" | {_fmt(r['gflops'])} | {r['accuracy']:.4f} |")
    add(f"\nGFLOP/s = FLOPs of the dense math of one train step / median time of one iteration "
        f"(sampling and bookkeeping included; the rare evaluations do not move the median), "
        f"with FLOPs = `{FLOP_FORMULA}` (forward "
        f"`2*n*784*h + 2*n*h*10`, backward about twice that) = "
        f"{train_step_flops(BATCH, HIDDEN) / 1e6:.1f} MFLOP at n=512, h=50. The Numba backend "
        "skips the ~81 % zero pixels, so its figure is *effective*, not the arithmetic it does.\n")
    add("The naive loop is the teaching program's loop as written (`fastnn/naive.py`: fresh "
        "`np.random.choice` batches of pre-scaled float pixels, one-hot float targets, a second "
        "forward pass for the logged loss, full train and test accuracy when `i % 117.1875 == "
        "0`). The PyTorch twin (`fastnn/torch_reference.py`) runs the same network, weights, "
        "batches, evaluation schedule, dtype and thread count with autograd on the seed's loss "
        "`mean(-log(softmax + 1e-7))` and a manual `p -= lr * g`.\n")
    for impl, why in ctx["skipped"].items():
        add(f"- {LABELS[impl]}: not measured ({why}).")
    if ctx["skipped"]:
        add("")
    add("## Start-up: a new process to the first finished train step\n")
    if ctx["startup"]:
        add("float64, batch 512, hidden 50. *cold*: empty `NUMBA_CACHE_DIR` (first compile); "
            "*warm*: the cache this run filled. Columns are seconds since the process was "
            "spawned (import of fastnn, then data and backend ready, then first step done); "
            "the compile time is the cold first step minus the warm one; *steady step*: the "
            "fastest of the next five steps.\n")
        add("| backend | cache | runs | import | backend ready | first step done | "
            "steady step (ms) |\n|---|---|---|---|---|---|---|")
        for (name, kind), r in ctx["startup"].items():
            add(f"| {name} | {kind} | {r['runs']} | {r['import_s']:.2f} | {r['backend_s']:.2f} "
                f"| {r['first_step_s']:.2f} | {r['steady_step_s'] * 1e3:.2f} |")
        cold, warm = ctx["startup"].get(("numba", "cold")), ctx["startup"].get(("numba", "warm"))
        if cold and warm:
            add(f"\nNumba compile time in a clean cache: about "
                f"{cold['first_step_s'] - warm['first_step_s']:.1f} s.")
    else:
        add(ctx.get("startup_note", "Not measured."))
    add("")
    _render_scaling(ctx, add)
    return "\n".join(lines) + "\n"


def _render_scaling(ctx, add):
    s, scaling = ctx["settings"], ctx["scaling"]
    add("## Scaling: time per training sample (µs) of one train step\n")
    if not scaling:
        add("Not measured.\n")
        return
    impls = [i for i in IMPLS if any(k[0] == i for k in scaling)]
    cols = [(i, dt) for dt in s["dtypes"] for i in impls]
    for title, axis, fixed in (("hidden size (batch 512)", "h", BATCH),
                               ("batch size (hidden 50)", "n", HIDDEN)):
        values = s["hidden_sizes"] if axis == "h" else s["batch_sizes"]
        add(f"By {title}; fastest per dtype in bold.\n")
        add(f"| {axis} | " + " | ".join(f"{i} {dt}" for i, dt in cols) + " |")
        add("|---" * (len(cols) + 1) + "|")
        for v in values:
            n, h = (fixed, v) if axis == "h" else (v, fixed)
            cells = []
            for i, dt in cols:
                t = scaling.get((i, dt, n, h))
                best = min(scaling.get((j, dt, n, h), float("inf")) for j in impls)
                text = _fmt(t / n * 1e6) if t is not None else "–"
                cells.append(f"**{text}**" if t is not None and t == best else text)
            add(f"| {v} | " + " | ".join(cells) + " |")
        add("")
    wins = ctx["numpy_wins"]
    if "numba" not in impls:
        add("The Numba backend was not measured, so there is no NumPy-versus-Numba verdict.\n")
    elif wins:
        add("The NumPy backend is faster than the Numba backend at: " + ", ".join(
            f"{dt} n={n} h={h} ({ratio:.2f}x)" for dt, n, h, ratio in wins) + ".\n")
    else:
        add("The Numba backend is faster than the NumPy backend at every measured shape.\n")
    if ctx["plots"]:
        add("![speed-up over the NumPy backend](speedup.png)\n")
        add("![time per training sample](time_per_sample.png)\n")


def write_atomic(path, data: bytes):
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plots(ctx, out_dir):
    """``speedup.png`` and ``time_per_sample.png`` (matplotlib Agg, no pyplot)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    s, scaling = ctx["settings"], ctx["scaling"]
    impls = [i for i in IMPLS if any(k[0] == i for k in scaling)]
    styles = {"float64": "-", "float32": "--"}
    colors = {"numba": "C0", "numpy": "C2", "torch": "C3", "naive": "C7"}
    sweeps = (("batch size (hidden 50)", "n", s["batch_sizes"], HIDDEN),
              ("hidden size (batch 512)", "h", s["hidden_sizes"], BATCH))
    paths = []
    for name, speedup in (("speedup.png", True), ("time_per_sample.png", False)):
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        for k, (title, axis, values, fixed) in enumerate(sweeps):
            ax = fig.add_subplot(1, 2, k + 1)
            for impl in impls:
                if speedup and impl == "numpy":
                    continue
                for dt in s["dtypes"]:
                    xs, ys = [], []
                    for v in values:
                        n, h = (v, fixed) if axis == "n" else (fixed, v)
                        t, t_ref = scaling.get((impl, dt, n, h)), scaling.get(("numpy", dt, n, h))
                        if t is not None and (not speedup or t_ref is not None):
                            xs.append(v)
                            ys.append(t_ref / t if speedup else t / n * 1e6)
                    ax.plot(xs, ys, styles[dt], color=colors[impl], marker="o", ms=3,
                            label=f"{impl} {dt}")
            ax.set_xscale("log", base=2)
            ax.set_xticks(values, [str(v) for v in values], fontsize=8)
            ax.minorticks_off()
            if speedup:
                ax.axhline(1.0, color="grey", lw=0.8)
                ax.set_ylabel("speed-up over the NumPy backend (x)")
            else:
                ax.set_yscale("log")
                ax.set_ylabel("µs per training sample (one train step)")
            ax.set_xlabel(title)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(("Train-step speed-up over the NumPy backend" if speedup else
                      "Train-step time per training sample") + f", {ctx['threads']} threads")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        write_atomic(Path(out_dir) / name, buf.getvalue())
        paths.append(Path(out_dir) / name)
    return paths


# -- command line ----------------------------------------------------------------------------------

def _int_list(text):
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def build_parser():
    p = argparse.ArgumentParser(
        prog="fastnn bench", description="Run the benchmark comparison (every backend, the "
        "naive loop, PyTorch if installed) and write REPORT.md plus PNG plots.",
        epilog="examples:\n  fastnn bench\n  fastnn bench --quick --out /tmp/bench\n"
               "  fastnn bench --iters 10000 --repeats 3",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="fewer iterations, repeats and sizes, no cold start (under ~30 s)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for BLAS, Numba and PyTorch (default 2)")
    p.add_argument("--out", default="bench", help="directory for REPORT.md and the plots "
                   "(default bench/)")
    p.add_argument("--iters", type=int, help="iterations per training run (default 1000; "
                   "150 with --quick)")
    p.add_argument("--repeats", type=int, help="runs per training row (default 3; 1 with "
                   "--quick)")
    p.add_argument("--dtypes", type=lambda t: tuple(t.split(",")), default=DTYPES,
                   help="comma-separated dtypes (default float64,float32)")
    p.add_argument("--hidden-sizes", type=_int_list, help="hidden sizes of the scaling sweep "
                   "at batch 512 (default 16,32,...,1024)")
    p.add_argument("--batch-sizes", type=_int_list, help="batch sizes of the scaling sweep at "
                   "hidden 50 (default 1,4,...,8192)")
    p.add_argument("--no-torch", action="store_true", help="leave out the PyTorch row even if "
                   "torch is installed")
    p.add_argument("--no-plots", action="store_true", help="do not write the PNG plots")
    p.add_argument("--no-startup", action="store_true", help="skip the cold/warm start-up "
                   "measurement (subprocesses)")
    return p


def main(argv=None) -> int:
    """Run the comparison and write ``REPORT.md`` (and plots) to ``--out``.

    Returns 0, or 1 when a measurement failed (the report says which), 2 for bad arguments.
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    s = dict(SETTINGS["quick" if args.quick else "default"])
    for key in ("iters", "repeats", "hidden_sizes", "batch_sizes"):
        if getattr(args, key) is not None:
            s[key] = getattr(args, key)
    s["dtypes"] = args.dtypes
    bad = [d for d in s["dtypes"] if d not in DTYPES]
    if bad or args.threads < 1 or s["iters"] < 1 or s["repeats"] < 1:
        parser.error(f"need dtypes in {DTYPES}, --threads/--iters/--repeats >= 1")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    impls, skipped = [], {}
    for impl in IMPLS:
        why = impl_unavailable(impl, use_torch=not args.no_torch)
        if why is None:
            impls.append(impl)
        else:
            skipped[impl] = why
            _log(f"{LABELS[impl]} is skipped: {why}")
    from .datasets.mnist import load_arrays
    data = load_arrays()
    start, cpu0 = time.perf_counter(), _cpu_seconds()
    failures = {}
    ctx = dict(settings=s, threads=args.threads, skipped=skipped, failures=failures,
               environment=None,
               command=" ".join(["fastnn bench"] + argv))
    with pinned_threads(args.threads, use_torch="torch" in impls):
        ctx["environment"] = environment(args.threads)
        ctx["training"] = measure_training(impls, s["dtypes"], s["iters"], s["repeats"], data,
                                           args.threads, failures)
        backend_names = [i for i in impls if i in ("numba", "numpy")]
        if args.no_startup:
            ctx["startup"], ctx["startup_note"] = {}, "Skipped (--no-startup)."
        else:
            ctx["startup"] = measure_startup(backend_names, args.threads, s["cold_runs"],
                                             s["warm_runs"], failures)
            if not s["cold_runs"]:
                ctx["startup_note"] = "Cold start skipped (--quick)."
        scaling_impls = [i for i in impls if i != "naive"]
        ctx["scaling"] = measure_scaling(scaling_impls, s["dtypes"], s["hidden_sizes"],
                                         s["batch_sizes"], data, s["min_reps"],
                                         s["point_seconds"], failures)
    ctx["numpy_wins"] = numpy_wins(ctx["scaling"], s["dtypes"])
    ctx["plots"] = not args.no_plots
    if ctx["plots"]:
        write_plots(ctx, out_dir)
    ctx["elapsed"], cpu1 = time.perf_counter() - start, _cpu_seconds()
    ctx["other_cpu"] = max(0.0, (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])) / (
        ctx["elapsed"] * (os.cpu_count() or 1))
    report = out_dir / "REPORT.md"
    write_atomic(report, render_report(ctx).encode())
    _log(f"wrote {report} in {ctx['elapsed']:.0f} s")
    if failures:
        _log(f"{len(failures)} measurement(s) failed; see the top of {report}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
