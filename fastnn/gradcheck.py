"""The teaching program's gradient check: backpropagation against central differences.

The teaching program checks its backpropagation by comparing ``network.gradient(x, t)`` with
``network.numerical_gradient(x, t)`` on three training images. :func:`run_gradcheck` does the
same for every backend and activation, on a small network (784-``hidden``-10, so that the
``2 x n_params`` loss evaluations of the numerical gradient take seconds instead of the
minutes a 784-50-10 network takes), in float64, on real MNIST images.

The two should agree to about 1e-9: the central difference with ``h = 1e-4`` is exact to
``O(h^2)``, and the ``1e-7`` the teaching program adds inside the log changes the numerical
gradient by at most ``1e-7 / y`` relative (about 2e-7 absolute here) while backpropagation
leaves it out. A difference above :data:`TOLERANCE` means a wrong gradient.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .backends.interface import ACTIVATIONS, PARAM_NAMES

__all__ = ["TOLERANCE", "GradcheckRow", "GradcheckReport", "gradient_check", "run_gradcheck"]

#: The largest absolute difference accepted (float64).
TOLERANCE = 1e-6


class GradcheckRow(namedtuple("GradcheckRow", "backend activation param max_diff max_grad")):
    """One parameter's comparison: ``max_diff = max |numerical - backprop|`` and
    ``max_grad = max |backprop|`` (the scale the difference is measured against)."""

    __slots__ = ()

    @property
    def ok(self):
        return bool(self.max_diff <= TOLERANCE)


class GradcheckReport(namedtuple("GradcheckReport", "rows hidden_size batch_size seed")):
    """What :func:`run_gradcheck` returns: ``rows`` (one :class:`GradcheckRow` per backend,
    activation and parameter) and the settings used."""

    __slots__ = ()

    @property
    def ok(self):
        """True when every difference is at most :data:`TOLERANCE`."""
        return all(row.ok for row in self.rows)

    @property
    def largest(self):
        """The row with the largest difference."""
        return max(self.rows, key=lambda row: row.max_diff)

    def format_table(self) -> str:
        lines = [f"numerical gradient (central differences, h = 1e-4) against backpropagation: "
                 f"784-{self.hidden_size}-10 network, {self.batch_size} MNIST training images, "
                 f"float64, seed {self.seed}", "",
                 f"{'backend':<8} {'activation':<10} {'param':<5} "
                 f"{'max |numerical - backprop|':>26} {'max |backprop|':>14}  verdict"]
        for row in self.rows:
            verdict = "ok" if row.ok else f"WRONG (> {TOLERANCE:g})"
            lines.append(f"{row.backend:<8} {row.activation:<10} {row.param:<5} "
                         f"{row.max_diff:>26.2e} {row.max_grad:>14.2e}  {verdict}")
        worst = self.largest
        lines.append("")
        lines.append(f"largest difference {worst.max_diff:.2e} ({worst.backend}, "
                     f"{worst.activation}, {worst.param}) "
                     + (f"<= {TOLERANCE:g}: backpropagation agrees with the numerical gradient"
                        if self.ok else f"> {TOLERANCE:g}: a backpropagated gradient is wrong"))
        return "\n".join(lines)


def _batch(batch_size, seed):
    """``batch_size`` MNIST training images with non-zero pixels, scaled to [0, 1]."""
    from .datasets.mnist import load_arrays

    x_train, y_train, _, _ = load_arrays()
    rows = np.random.default_rng(seed).choice(x_train.shape[0], batch_size, replace=False)
    return x_train[rows] / 255.0, y_train[rows]


def gradient_check(backend, activation, *, hidden_size=5, batch_size=3, seed=0):
    """Compare the numerical and the backpropagated gradient of one network.

    Parameters
    ----------
    backend : str or Backend
    activation : {"relu", "sigmoid"}
    hidden_size, batch_size : int
        The network is 784-``hidden_size``-10 with the teaching program's initial weights
        (``0.01 * randn``); the batch is ``batch_size`` MNIST training images.
    seed : int
        Picks the weights and the images.

    Returns
    -------
    list of GradcheckRow
        One per parameter, ``W1 b1 W2 b2``.
    """
    from .network import TwoLayerNet

    x, t = _batch(batch_size, seed)
    network = TwoLayerNet(x.shape[1], hidden_size, 10, activation=activation, backend=backend,
                          dtype="float64", seed=seed)
    numeric = network.numerical_gradient(x, t, progress=False)
    backprop = network.gradient(x, t)
    return [GradcheckRow(network.backend.name, activation, key,
                         float(np.max(np.abs(numeric[key] - backprop[key]))),
                         float(np.max(np.abs(backprop[key])))) for key in PARAM_NAMES]


def run_gradcheck(backend_names=None, activations=ACTIVATIONS, *, hidden_size=5, batch_size=3,
                  seed=0) -> GradcheckReport:
    """:func:`gradient_check` for each backend (default: every available one) and activation.

    Returns
    -------
    GradcheckReport
    """
    from . import backends
    from ._threads import limit_threads

    names = list(backend_names) if backend_names is not None else backends.available()
    rows = []
    # One thread: the results are the same bits for any number, and the thousands of tiny
    # loss evaluations would otherwise spend their time waking the thread pool.
    with limit_threads(1):
        for name in names:
            for activation in activations:
                rows += gradient_check(name, activation, hidden_size=hidden_size,
                                       batch_size=batch_size, seed=seed)
    return GradcheckReport(rows, hidden_size, batch_size, seed)
