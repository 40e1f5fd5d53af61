"""show_versions(): the machine, the libraries and the thread pools, described once."""

import importlib.metadata
import os
import platform

import numpy as np

import fastnn
from fastnn._info import format_sections, versions_info


def test_sections_hold_the_facts():
    sections = {s.title: dict(s.rows) for s in versions_info()}
    assert list(sections) == ["system", "libraries", "threads"]
    system, libraries, threads = sections["system"], sections["libraries"], sections["threads"]
    assert system["fastnn"] == fastnn.__version__
    assert system["python"].startswith(platform.python_version())
    assert system["cpu count"] == os.cpu_count() and system["usable cores"] >= 1
    assert libraries["numpy"] == np.__version__
    assert libraries["numba"] == importlib.metadata.version("numba")
    assert libraries["tqdm"] == importlib.metadata.version("tqdm")
    assert threads["OMP_NUM_THREADS"] == os.environ.get("OMP_NUM_THREADS", "(unset)")
    assert threads["numba threads"] >= 1 and threads["numba cache_dir"]


def test_show_versions_prints_every_row(capsys):
    fastnn.show_versions()
    out = capsys.readouterr().out
    assert out == format_sections(versions_info()) + "\n"
    assert "libraries:" in out and f"  numpy{' ' * 18}{np.__version__}" in out
