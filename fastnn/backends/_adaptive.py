"""How many threads a train step should use, decided from its own timings.

On a quiet machine two threads make the fused step faster; when another program keeps a core
busy (a browser, a second training run), two threads make it several times slower than one,
because each parallel phase waits for the thread the system has parked. Since the step's
results are the same bits for any number of threads, the number can change from one step to
the next: :class:`ThreadChooser` mostly uses the count that was faster lately and now and then
tries the other one, trying more often when the timings change.
"""

from __future__ import annotations

import statistics

__all__ = ["ThreadChooser"]


class ThreadChooser:
    """Chooses between ``max_threads`` and 1 thread from the measured step times.

    Parameters
    ----------
    max_threads : int
        The most threads a step may use.
    probe_steps : int, default 8
        Steps timed with the other count at each probe (the first of them is not counted: it
        pays for waking or parking threads).
    first_probe, max_interval : int
        Steps before the first probe, and the longest interval between probes (it doubles each
        time a probe confirms the choice, and falls back to ``first_probe`` when a probe
        changes it or the step's own time jumps).
    """

    def __init__(self, max_threads, probe_steps=4, first_probe=10, max_interval=2000):
        self.max_threads = int(max_threads)
        self.current = self.max_threads
        self.probe_steps, self.first_probe = probe_steps, first_probe
        self.max_interval = max_interval
        self.interval = first_probe
        self._since_probe = 0
        self._probe_left = 0
        self._times = {self.max_threads: [], 1: []}
        self.switches = 0

    @property
    def active(self):
        return self.max_threads > 1

    def threads(self):
        """The count to use for the next step."""
        if not self.active:
            return self.max_threads
        if self._probe_left:
            return self._other()
        return self.current

    def record(self, threads, seconds):
        """The time the step just taken with ``threads`` threads took."""
        if not self.active:
            return
        times = self._times[threads]
        if self._probe_left:
            self._probe_left -= 1
            if self._probe_left < self.probe_steps - 1:  # the first probe step warms up
                times.append(seconds)
            if self._probe_left == 0:
                self._decide()
            return
        times.append(seconds)
        del times[:-32]
        self._since_probe += 1
        recent = times[-8:]
        jumped = (len(times) >= 24 and statistics.median(recent)
                  > 1.5 * statistics.median(times[:-8]))
        if self._since_probe >= self.interval or jumped:
            if jumped:
                self.interval = self.first_probe
            self._start_probe()

    def _other(self):
        return 1 if self.current == self.max_threads else self.max_threads

    def _start_probe(self):
        self._probe_left = self.probe_steps
        self._times[self._other()].clear()
        del self._times[self.current][:-8]  # compare with what the machine does now

    def _decide(self):
        mine, other = self._times[self.current], self._times[self._other()]
        self._since_probe = 0
        if other and mine and statistics.median(other) < 0.95 * statistics.median(mine):
            self.current = self._other()
            self.switches += 1
            self.interval = self.first_probe
            self._times[self.current] = list(other)
        else:
            self.interval = min(2 * self.interval, self.max_interval)
