"""plot_history: a real image, written atomically, and clear errors for bad histories."""

import os
import subprocess
import sys

import numpy as np
import pytest

from fastnn import plotting
from fastnn.plotting import plot_history

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def history():
    rng = np.random.default_rng(0)
    loss = 2.3 * np.exp(-np.arange(100) / 30) + 0.1 * rng.random(100)
    return {"train_loss": loss.tolist(), "eval_iter": [0, 100],
            "train_acc": [0.1, 0.85], "test_acc": [0.09, 0.84]}


def read_image(path):
    import matplotlib.image

    return matplotlib.image.imread(path)


def test_writes_a_non_blank_png(history, tmp_path):
    target = tmp_path / "curves.png"
    written = plot_history(history, target, title="tiny run")
    assert written == target and written.is_absolute()
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    image = read_image(target)
    height, width = image.shape[:2]
    assert 300 <= height <= 2000 and 600 <= width <= 3000
    assert width > height  # two panels side by side
    assert image[..., :3].std() > 0.05  # curves, text and axes, not a blank canvas


def test_returns_an_absolute_path_for_a_relative_one(history, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = plot_history(history, "c.png")
    assert written == tmp_path / "c.png"
    assert written.exists()


def test_creates_parent_directories(history, tmp_path):
    target = tmp_path / "a" / "b" / "curves.png"
    plot_history(history, target)
    assert target.read_bytes()[:8] == PNG_SIGNATURE


def test_other_formats_follow_the_extension(history, tmp_path):
    target = plot_history(history, tmp_path / "curves.svg")
    assert b"<svg" in target.read_bytes()[:1000]


def test_failed_write_leaves_the_target_untouched(history, tmp_path, monkeypatch):
    target = tmp_path / "curves.png"
    target.write_bytes(b"previous image")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(plotting.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        plot_history(history, target)
    assert target.read_bytes() == b"previous image"
    assert os.listdir(tmp_path) == ["curves.png"]  # the temporary file was removed


def test_overwrites_an_existing_file(history, tmp_path):
    target = tmp_path / "curves.png"
    target.write_bytes(b"previous image")
    plot_history(history, target)
    assert target.read_bytes()[:8] == PNG_SIGNATURE
    assert os.listdir(tmp_path) == ["curves.png"]


def test_diverged_history_with_non_finite_losses_still_plots(history, tmp_path):
    history["train_loss"][-3:] = [1e3, float("inf"), float("nan")]
    target = plot_history(history, tmp_path / "diverged.png")
    assert read_image(target)[..., :3].std() > 0.05


def test_history_without_losses_plots_the_evaluations(tmp_path):
    history = {"train_loss": [], "eval_iter": [0], "train_acc": [0.1], "test_acc": [0.1]}
    assert plot_history(history, tmp_path / "c.png").exists()


@pytest.mark.parametrize("key", plotting.HISTORY_KEYS)
def test_missing_key_is_named(history, key, tmp_path):
    del history[key]
    with pytest.raises(ValueError, match=f"missing the key '{key}'"):
        plot_history(history, tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_empty_history(tmp_path):
    empty = {key: [] for key in plotting.HISTORY_KEYS}
    with pytest.raises(ValueError, match="empty"):
        plot_history(empty, tmp_path / "c.png")


def test_evaluation_lists_of_different_lengths(history, tmp_path):
    history["test_acc"] = [0.5]
    with pytest.raises(ValueError, match="equal lengths; got 2, 2 and 1"):
        plot_history(history, tmp_path / "c.png")


@pytest.mark.parametrize("bad", [[[1.0, 2.0]], ["a", "b"]])
def test_malformed_values(history, bad, tmp_path):
    history["train_loss"] = bad
    with pytest.raises(ValueError, match="train_loss"):
        plot_history(history, tmp_path / "c.png")


def test_history_must_be_a_mapping(tmp_path):
    with pytest.raises(ValueError, match="mapping"):
        plot_history([1, 2, 3], tmp_path / "c.png")


@pytest.mark.parametrize("name", ["curves.pgn", "curves"])
def test_unknown_or_missing_extension(history, tmp_path, name):
    with pytest.raises(ValueError, match=r"\.png"):
        plot_history(history, tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_moving_average_is_trailing_and_skips_non_finite_values():
    average = plotting._moving_average(np.array([1.0, 3.0, 5.0, np.nan, 7.0]), 2)
    np.testing.assert_allclose(average, [1.0, 2.0, 4.0, 5.0, 7.0])


def test_no_pyplot_and_no_eager_matplotlib(tmp_path):
    code = (
        "import sys, fastnn\n"
        "assert 'matplotlib' not in sys.modules, 'import fastnn imported matplotlib'\n"
        "from fastnn.plotting import plot_history\n"
        "h = {'train_loss': [2.0, 1.0], 'eval_iter': [0, 2], 'train_acc': [.1, .5],"
        " 'test_acc': [.1, .4]}\n"
        f"plot_history(h, {str(tmp_path / 'c.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "c.png").exists()
