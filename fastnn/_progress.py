"""What a person sees of a long computation: progress bars, the compile notice, Ctrl-C.

Shared by :func:`fastnn.train` and :meth:`fastnn.TwoLayerNet.numerical_gradient`; tqdm is
imported only when a bar is shown.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

__all__ = ["StopOnInterrupt", "announce_compile", "progress_bar", "estimated_bar", "timed"]


class StopOnInterrupt:
    """Turns the first Ctrl-C during the loop into a flag checked between iterations, so that
    the network is never left half-updated; the handler in place before comes back at once, so
    a second Ctrl-C interrupts as usual. Only the main thread receives signals; elsewhere, and
    where SIGINT is not handled by Python, nothing changes."""

    def __init__(self):
        self.hit = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGINT)
            if callable(current):
                self._previous = current
                signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def _on_interrupt(self, signum, frame):
        self.hit = True
        signal.signal(signal.SIGINT, self._previous)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def announce_compile(config, bar, own_bar):
    """Before a run that compiles the Numba kernels first, one line saying so (where the
    progress goes: above our tqdm bar, or to a progress object's ``write``)."""
    from ._warmup import compile_notice

    notice = compile_notice(config)
    if notice is None:
        return
    if own_bar:
        from tqdm.auto import tqdm

        tqdm.write(notice, file=sys.stderr)
    elif callable(getattr(bar, "write", None)):
        bar.write(notice)


def progress_bar(progress, total):
    """train()'s progress: None, our tqdm bar (``progress=True``) or the caller's object."""
    if progress is False or progress is None:
        return None
    if progress is True:
        from tqdm.auto import tqdm

        # disable=None: no bar when stderr is not a terminal (logs stay clean); in a notebook
        # tqdm.auto's widget ignores that test and shows.
        return tqdm(total=total, desc="train", unit="it", disable=None, dynamic_ncols=True)
    if hasattr(progress, "update") and hasattr(progress, "close"):
        return progress
    raise TypeError(f"progress must be True, False or an object with update() and close() "
                    f"(e.g. a tqdm bar), got {progress!r}")


def estimated_bar(total, seconds_per_call, threshold, *, progress=None, desc, unit):
    """A tqdm bar over ``total`` calls when ``progress`` is True, or when it is None and the
    estimate ``total * seconds_per_call()`` exceeds ``threshold`` seconds; else None.
    ``seconds_per_call`` is only called when the estimate is needed."""
    if progress is False:
        return None
    if progress is None and total * seconds_per_call() <= threshold:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None, dynamic_ncols=True)


def timed(call):
    """``() -> seconds`` that one ``call()`` takes."""
    def seconds():
        start = time.perf_counter()
        call()
        return time.perf_counter() - start
    return seconds
