"""A small, dependency-free terminal progress bar.

>>> with ProgressBar(1000, desc="train") as bar:   # doctest: +SKIP
...     for i in range(1000):
...         bar.update(loss=0.25)
train  42%|#####       | 420/1000 [00:01<00:01, 400.0 it/s] loss 0.2500

The bar is redrawn at most every ``min_interval`` seconds, so calling :meth:`ProgressBar.update`
once per training iteration costs a counter increment and a clock read.
"""

from __future__ import annotations

import shutil
import sys
import time

__all__ = ["ProgressBar"]

# Module-level so tests can substitute a fake clock without touching the time module.
_now = time.perf_counter

_MIN_BAR_WIDTH = 10


def _format_seconds(seconds: float) -> str:
    """``mm:ss``, or ``h:mm:ss`` from one hour on."""
    seconds = int(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours:d}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def _format_value(value) -> str:
    # A fixed number of decimals keeps the line from jittering as the loss changes.
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


class ProgressBar:
    """A one-line progress bar with rate, elapsed time, ETA and a postfix.

    Parameters
    ----------
    total : int
        Number of steps that make 100 %.
    desc : str, default ""
        Label shown before the percentage.
    file : text stream, optional
        Where the bar is drawn; ``sys.stderr`` (looked up at construction) by default.
    enabled : bool or None, default None
        ``None`` draws only if ``file.isatty()``, so redirected output and logs stay clean.
    min_interval : float, default 0.1
        Least number of seconds between two redraws; the last update always redraws.

    Attributes
    ----------
    n : int
        Steps counted so far.
    enabled : bool
        Whether anything is drawn.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with ProgressBar(3, file=out, enabled=True) as bar:
    ...     for _ in range(3):
    ...         bar.update(loss=0.5)
    >>> "100%" in out.getvalue() and "3/3" in out.getvalue() and "loss 0.5000" in out.getvalue()
    True
    """

    def __init__(self, total, desc="", file=None, enabled=None, min_interval=0.1):
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"total={total!r} must be a non-negative integer")
        if min_interval < 0:
            raise ValueError(f"min_interval={min_interval!r} must be >= 0")
        self.total = total
        self.desc = desc
        self.file = sys.stderr if file is None else file
        if enabled is None:
            enabled = _isatty(self.file)
        self.enabled = bool(enabled)
        self.min_interval = float(min_interval)
        self.n = 0
        self.postfix: dict = {}
        self._start = _now()
        self._first = None  # (time, n) at the first update, where the rate is measured from
        self._last_draw = None  # no redraw yet; the first update always draws
        self._drawn_width = 0  # characters currently on the bar's line
        self._closed = False

    # -- public API -------------------------------------------------------------------------

    def update(self, n=1, **postfix):
        """Count ``n`` more steps and remember ``postfix`` (shown as ``key value``).

        Parameters
        ----------
        n : int, default 1
            Steps done since the last call.
        **postfix
            Values shown after the bar, e.g. ``loss=0.1234`` as ``loss 0.1234``; they replace
            earlier values of the same name.
        """
        self.n += n
        if self._first is None:
            self._first = (_now(), self.n)
        if postfix:
            self.postfix.update(postfix)
        if not self.enabled or self._closed:
            return
        now = _now()
        finished = self.total and self.n >= self.total
        if finished or self._last_draw is None or now - self._last_draw >= self.min_interval:
            self._draw(now)

    def set_postfix(self, **postfix):
        """Change the values shown after the bar without counting a step."""
        self.postfix.update(postfix)

    def write(self, message, file=None):
        """Print ``message`` as a line above the bar without garbling it.

        Parameters
        ----------
        message : str
            The line to print (a newline is added).
        file : text stream, optional
            Where to print it; ``sys.stdout`` (looked up at call time) by default.
        """
        target = sys.stdout if file is None else file
        visible = self.enabled and not self._closed and self._drawn_width > 0
        if visible:
            self._clear()
        target.write(f"{message}\n")
        target.flush()
        if visible:
            self._draw(_now())

    def close(self):
        """Draw the final state and end the bar's line; later updates draw nothing."""
        if self._closed:
            return
        if self.enabled:
            self._draw(_now())
            self.file.write("\n")
            self.file.flush()
        self._closed = True

    def format(self, now=None) -> str:
        """The bar's line for the current state, fitted to the terminal width."""
        now = _now() if now is None else now
        elapsed = max(now - self._start, 0.0)
        # Measure the rate from the first update: what precedes it (loading data, compiling,
        # a first evaluation) would otherwise make the early rate and ETA far too pessimistic.
        if self._first is not None and self.n > self._first[1] and now > self._first[0]:
            rate = (self.n - self._first[1]) / (now - self._first[0])
        else:
            rate = self.n / elapsed if elapsed > 0 else 0.0
        if self.total:
            fraction = min(self.n / self.total, 1.0)
        else:
            fraction = 1.0
        remaining = max(self.total - self.n, 0)
        eta = _format_seconds(remaining / rate) if rate > 0 else "?"
        if remaining == 0:
            eta = _format_seconds(0)
        prefix = f"{self.desc} " if self.desc else ""
        prefix += f"{fraction * 100:3.0f}%"
        suffix = (f" {self.n}/{self.total} [{_format_seconds(elapsed)}<{eta}, "
                  f"{rate:.1f} it/s]")
        if self.postfix:
            suffix += " " + "  ".join(f"{key} {_format_value(value)}"
                                      for key, value in self.postfix.items())
        # One column short of the terminal: writing the last column makes some terminals wrap.
        columns = shutil.get_terminal_size(fallback=(80, 24)).columns - 1
        bar_width = columns - len(prefix) - len(suffix) - 2
        if bar_width < _MIN_BAR_WIDTH:
            return (prefix + suffix)[:max(columns, 1)]
        filled = int(fraction * bar_width)
        return f"{prefix}|{'#' * filled}{' ' * (bar_width - filled)}|{suffix}"

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __repr__(self):
        return f"ProgressBar(total={self.total}, n={self.n}, enabled={self.enabled})"

    # -- drawing ----------------------------------------------------------------------------

    def _draw(self, now):
        line = self.format(now)
        # Pad over the previous line instead of an ANSI erase so plain files stay readable.
        padding = " " * max(self._drawn_width - len(line), 0)
        self.file.write(f"\r{line}{padding}")
        self.file.flush()
        self._drawn_width = len(line)
        self._last_draw = now

    def _clear(self):
        self.file.write("\r" + " " * self._drawn_width + "\r")
        self.file.flush()
        self._drawn_width = 0


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
