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


def trailing_average(values, window):
    """What the loss plot drew before: the mean of the last ``window`` values."""
    return np.array([np.mean(values[max(0, i + 1 - window):i + 1]) for i in range(len(values))])


def test_the_smoothed_loss_does_not_lag_a_trend():
    ramp = np.linspace(2.0, 0.5, 1000)
    np.testing.assert_allclose(plotting.smoothed(ramp), ramp, rtol=1e-12)  # centred: no shift
    assert np.max(trailing_average(ramp, 50) - ramp) > 0.03  # a trailing window lags


def test_the_smoothed_loss_follows_a_fast_start_without_a_cliff():
    # A 1,000-iteration Adam run: the loss falls from 2.3 to 0.3 in the first few dozen steps.
    i = np.arange(1000)
    clean = 0.3 + 2.0 * np.exp(-i / 8)
    noisy = clean + np.random.default_rng(0).uniform(-0.05, 0.05, 1000)
    smooth = plotting.smoothed(noisy)
    assert np.max(np.abs(smooth - clean)) < 0.08
    # the trailing window held the first losses until they dropped out together at 50
    old = trailing_average(noisy, 50)
    assert old[48] - clean[48] > 0.25 and old[48] - old[51] > 0.02
    steps = np.abs(np.diff(smooth))
    assert np.max(steps[20:]) < 0.02  # after the start, no step bigger than the noise allows


def test_smoothed_skips_non_finite_values_and_keeps_its_length():
    values = np.array([1.0, 3.0, 5.0, np.nan, 7.0, 9.0, np.inf, 11.0, 13.0])
    out = plotting.smoothed(values, max_half=1)
    # half-widths min(1, i // 4, 8 - i): 0 0 0 0 1 1 1 1 0
    np.testing.assert_allclose(out, [1.0, 3.0, 5.0, np.nan, 8.0, 8.0, 10.0, 12.0, 13.0])


def test_accuracies_differ_in_colour_and_style_with_a_dashed_chance_line(history):
    fig = plotting.history_figure(history, chance=0.1135, title="t")
    ax = fig.axes[1]
    lines = {line.get_label().split(" ")[0]: line for line in ax.get_lines()}
    train, test, chance = lines["train"], lines["test"], lines["chance"]
    assert train.get_color() != test.get_color()
    assert train.get_linestyle() != test.get_linestyle()
    assert train.get_marker() != test.get_marker()
    assert chance.get_linestyle() == "--" and list(chance.get_ydata()) == [0.1135, 0.1135]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["train (last 85.00 %)", "test (last 84.00 %)", "chance (11.35 %)"]
    assert not any("final" in label for label in labels)
    assert ax.get_ylim()[0] <= 0.1135


def test_run_titles_name_the_backend_that_ran_and_how_the_run_ended():
    from fastnn import TrainConfig

    config = TrainConfig(backend="auto", optimizer="adam", learning_rate=0.001)
    title = plotting.run_title(config, "numba", "interrupted", 437)
    assert title.endswith("backend numba (interrupted at iteration 437)")
    assert "auto" not in title and "adam lr 0.001" in title
    assert plotting.run_title(config, "numpy", "diverged").endswith("backend numpy (diverged)")
    fashion = TrainConfig(dataset="fashion-mnist")
    assert plotting.run_title(fashion, "numpy").startswith("fashion-mnist: 784-50-10 relu")


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


def test_train_result_plot_returns_a_figure_a_notebook_shows(mnist_small, tmp_path,
                                                              monkeypatch):
    from matplotlib.figure import Figure

    import fastnn

    monkeypatch.chdir(tmp_path)
    result = fastnn.train(backend="numpy", iters=20, batch_size=32, data=mnist_small)
    fig = result.plot()
    assert isinstance(fig, Figure) and os.listdir(tmp_path) == []  # no file unless asked
    assert fig._repr_png_()[:8] == PNG_SIGNATURE  # what IPython displays
    assert fig.get_suptitle().endswith("backend numpy")
    chance = [line for line in fig.axes[1].get_lines() if line.get_label().startswith("chance")]
    assert chance[0].get_ydata()[0] == result.chance_accuracy
    result.plot(tmp_path / "c.svg")
    assert b"<svg" in (tmp_path / "c.svg").read_bytes()[:1000]
