"""First-run honesty: a run that will compile the Numba kernels says so, once, beforehand."""

import os
import re
import subprocess
import sys

import pytest

from fastnn import TrainConfig, _warmup, training
from fastnn.cli import main

NOTICE = "compiling the Numba kernels once, about"


def test_the_kernels_a_run_needs_exist():
    from fastnn.backends import numba_backend

    for optimizer in ("sgd", "adam"):
        for name in _warmup.kernels_of_run(TrainConfig(optimizer=optimizer)):
            assert hasattr(getattr(numba_backend.step_kernels, name), "stats"), name


def test_nothing_to_say_for_numpy_or_a_warm_cache():
    assert _warmup.cold_kernels(TrainConfig(backend="numpy")) is None
    # in fresh processes, as a user meets it: this one's dispatchers may hold kernels that an
    # earlier test compiled under another cache folder, which say nothing of the disk's cache
    run = ("import fastnn; from fastnn.datasets.mnist import load_arrays; "
           "x, y, xt, yt = load_arrays(); "
           "fastnn.train(backend='numba', iters=2, batch_size=16, "
           "data=(x[:500], y[:500], xt[:100], yt[:100]))")
    subprocess.run([sys.executable, "-c", run], check=True, capture_output=True, timeout=600)
    ask = ("from fastnn import TrainConfig, _warmup; c = TrainConfig(backend='numba'); "
           "print(_warmup.cold_kernels(c), _warmup.compile_notice(c))")
    out = subprocess.run([sys.executable, "-c", ask], check=True, capture_output=True,
                         text=True, timeout=600).stdout
    assert out.split() == ["[]", "None"]


class Bar:
    """A progress object with write(): records what train() does to it, in order."""

    def __init__(self, **kwargs):
        self.events = []

    def update(self, n):
        self.events.append(("update", n))

    def write(self, text, **kwargs):
        self.events.append(("write", text))

    def reset(self, total=None):
        self.events.append(("reset", total))

    def close(self):
        self.events.append(("close",))

    def set_postfix_str(self, *args, **kwargs):
        pass


@pytest.fixture
def cold(monkeypatch):
    monkeypatch.setattr(_warmup, "cold_kernels", lambda config: ["fused_step"])


def test_the_line_comes_before_the_first_step(cold, mnist_small):
    bar = Bar()
    training.train(backend="numba", iters=3, batch_size=16, data=mnist_small, progress=bar)
    kind, text = bar.events[0]
    assert kind == "write" and re.fullmatch(rf"{NOTICE} \d+ s; later runs start at once", text)
    assert bar.events[1:] == [("update", 1)] * 3 + [("close",)]  # not our bar: not reset


def test_our_bar_starts_its_clock_after_the_first_step(cold, mnist_small, monkeypatch, capsys):
    import tqdm.auto

    bars = []

    class FakeTqdm(Bar):
        def __init__(self, **kwargs):
            super().__init__()
            self.total = kwargs["total"]
            bars.append(self)

        @staticmethod
        def write(text, file=None):
            print(text, file=file)

    monkeypatch.setattr(tqdm.auto, "tqdm", FakeTqdm)
    training.train(backend="numba", iters=3, batch_size=16, data=mnist_small, progress=True)
    (bar,) = bars
    assert bar.events == [("reset", 3), ("update", 1), ("update", 1), ("update", 1),
                          ("close",)]
    assert capsys.readouterr().err.startswith(NOTICE)


def test_the_command_says_it_without_a_progress_bar(cold, capsys):
    assert main(["train", "--iters", "2", "--batch-size", "16", "--backend", "numba",
                 "--no-progress", "--no-plot"]) == 0
    out, err = capsys.readouterr()
    assert err.count(NOTICE) == 1 and NOTICE not in out


def test_the_estimate_grows_with_the_load(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert _warmup.estimated_seconds() == _warmup.COMPILE_SECONDS
    monkeypatch.setattr(os, "getloadavg", lambda: (8.0, 8.0, 8.0))  # 4 per core
    assert _warmup.estimated_seconds() == 5 * round(4 * _warmup.COMPILE_SECONDS / 5)


@pytest.mark.slow
def test_a_cold_cache_is_announced_once_and_then_never(tmp_path):
    """Two real processes on an empty Numba cache: the first compiles and says so, the second
    loads the cache and says nothing."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "fastnn", "train", "--iters", "3", "--batch-size", "64",
               "--backend", "numba", "--no-progress", "--no-plot"]
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count(NOTICE) == 1
    assert first.stderr.index(NOTICE) < len(first.stderr) and "iter" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert second.returncode == 0, second.stderr
    assert NOTICE not in second.stderr
