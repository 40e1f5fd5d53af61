"""ProgressBar: what it draws, when it draws, and that write() keeps lines intact."""

import io
import os
import re

import pytest

from fastnn import progress
from fastnn.progress import ProgressBar


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress, "_now", fake)
    return fake


@pytest.fixture
def columns(monkeypatch):
    def set_columns(n):
        monkeypatch.setattr(progress.shutil, "get_terminal_size",
                            lambda fallback=(80, 24): os.terminal_size((n, 24)))
    set_columns(100)
    return set_columns


def frames(text):
    """The successive states of the bar: what follows each carriage return."""
    return [f.rstrip("\n ") for f in text.split("\r") if f.strip()]


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_final_frame_shows_percentage_count_rate_and_postfix(clock, columns):
    out = io.StringIO()
    with ProgressBar(50, desc="train", file=out, enabled=True) as bar:
        for _ in range(50):
            clock.t += 0.01
            bar.update(loss=0.1234)
    last = frames(out.getvalue())[-1]
    assert last.startswith("train 100%|")
    assert "50/50" in last
    assert "loss 0.1234" in last
    assert "100.0 it/s" in last  # 50 steps in 0.5 s of fake time
    assert out.getvalue().endswith("\n")  # close() ends the bar's line


def test_elapsed_eta_and_rate(clock, columns):
    bar = ProgressBar(20, file=io.StringIO(), enabled=True)
    clock.t += 1.5  # set-up before the first step: in the elapsed time, not in the rate
    bar.update(1)
    clock.t += 4.5
    bar.update(9)
    line = bar.format()
    assert " 50%" in line
    assert "10/20 [00:06<00:05, 2.0 it/s]" in line  # 9 steps in 4.5 s; 10 left at 2 it/s


def test_rate_before_a_second_update_uses_the_elapsed_time(clock, columns):
    bar = ProgressBar(20, file=io.StringIO(), enabled=True)
    bar.update(4)
    clock.t += 2.0
    assert "4/20 [00:02<00:08, 2.0 it/s]" in bar.format()


def test_long_runs_format_hours(clock, columns):
    bar = ProgressBar(10, file=io.StringIO(), enabled=True)
    bar.update(1)
    clock.t += 3725.0
    bar.update(4)
    assert "[1:02:05<1:17:36," in bar.format()  # 5 left at 4 per 3725 s: 4656 s


def test_disabled_writes_nothing(clock):
    out = io.StringIO()
    with ProgressBar(10, file=out, enabled=False) as bar:
        for _ in range(10):
            bar.update(loss=1.0)
    assert out.getvalue() == ""
    assert bar.n == 10  # still counts, so callers can read it


def test_enabled_none_follows_isatty(capsys):
    assert ProgressBar(5, file=io.StringIO()).enabled is False
    assert ProgressBar(5, file=TTY()).enabled is True
    assert ProgressBar(5).enabled is False  # pytest's captured stderr is not a terminal


def test_redraws_are_throttled_but_the_last_update_always_draws(clock, columns):
    out = io.StringIO()
    bar = ProgressBar(1000, file=out, enabled=True, min_interval=0.1)
    for _ in range(1000):
        bar.update()  # the clock never moves: only the first and the last update may draw
    drawn = frames(out.getvalue())
    assert len(drawn) == 2
    assert "1000/1000" in drawn[-1]


def test_redraw_rate_follows_min_interval(clock, columns):
    out = io.StringIO()
    bar = ProgressBar(100, file=out, enabled=True, min_interval=0.1)
    for _ in range(100):
        clock.t += 0.0625  # exact in binary: two steps pass min_interval, one does not
        bar.update()
    # drawn at updates 1, 3, ..., 99 (every second one) and at the last, 100
    assert len(frames(out.getvalue())) == 51


def test_width_adapts_to_the_terminal(clock, columns):
    for width in (40, 120):
        columns(width)
        bar = ProgressBar(10, desc="train", file=io.StringIO(), enabled=True)
        bar.update(3, loss=0.5)
        line = bar.format()
        assert len(line) <= width - 1
        if width == 120:
            assert len(line) == width - 1  # the bar stretches to fill the line
            assert "|###" in line


def test_shorter_frame_erases_the_longer_one(clock, columns):
    out = io.StringIO()
    bar = ProgressBar(10, file=out, enabled=True, min_interval=0)
    bar.update(1, note="a long postfix value")
    bar.postfix.clear()
    columns(30)  # the next frame is much shorter
    bar.update(1)
    first, second = out.getvalue().split("\r")[1:]
    assert len(second) >= len(first)  # padded with spaces over the old text


def test_write_to_another_stream_is_intact_and_bar_is_redrawn(clock, columns):
    err, out = io.StringIO(), io.StringIO()
    bar = ProgressBar(10, file=err, enabled=True)
    bar.update(4, loss=2.5)
    bar.write("iter 4  loss 2.5000", file=out)
    assert out.getvalue() == "iter 4  loss 2.5000\n"
    text = err.getvalue()
    # cleared (carriage return, blanks, carriage return), then the same state redrawn
    assert re.search(r"\r +\r", text)
    assert frames(text)[-1].endswith("loss 2.5000")
    assert "4/10" in frames(text)[-1]


def test_write_on_the_bar_stream_gives_whole_lines(clock, columns):
    err = io.StringIO()
    bar = ProgressBar(10, file=err, enabled=True)
    bar.update(2)
    bar.write("first line", file=err)
    bar.update(2)
    bar.write("second line", file=err)
    lines = err.getvalue().split("\n")
    assert lines[0].endswith("\rfirst line")
    assert lines[1].endswith("\rsecond line")
    assert lines[0].split("\r")[-2].strip() == ""  # the bar was blanked out before printing


def test_write_defaults_to_stdout(capsys):
    bar = ProgressBar(3, enabled=False)
    bar.write("hello")
    assert capsys.readouterr().out == "hello\n"


def test_close_is_idempotent_and_stops_drawing(clock, columns):
    out = io.StringIO()
    bar = ProgressBar(10, file=out, enabled=True)
    bar.update(5)
    bar.close()
    bar.close()
    text = out.getvalue()
    assert text.count("\n") == 1
    bar.update(5)
    assert out.getvalue() == text


@pytest.mark.parametrize("total", [-1, 2.5, True, None])
def test_invalid_total(total):
    with pytest.raises(ValueError, match="total"):
        ProgressBar(total)
