"""A data set's non-zero pixels as CSR lists, made with NumPy (no compile) once per run.

The fused step and the evaluations read only the ~19 % of MNIST's pixels that are not zero. The
lists are a snapshot of the pixels they were made from, so they can never go stale: a run makes
its own, and nothing keeps them after it.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

__all__ = ["PixelData", "prepare_pixels", "chunk_starts", "gradient_tasks", "density"]


class PixelData(namedtuple("PixelData", "offsets pixels values n_features")):
    """Read-only CSR lists: sample ``i``'s pixel indices (ascending) are
    ``pixels[offsets[i]:offsets[i + 1]]`` and their uint8 values ``values[...]``."""

    __slots__ = ()

    @property
    def n_samples(self):
        return self.offsets.shape[0] - 1


def prepare_pixels(x_u8):
    """:class:`PixelData` of ``x_u8`` (uint8, shape (n_samples, n_features), C-ordered)."""
    n, d = x_u8.shape
    flat = np.flatnonzero(x_u8)  # row-major: each sample's pixels in ascending order
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.count_nonzero(x_u8, axis=1), out=offsets[1:])
    pixels = (flat % d).astype(np.int16 if d <= np.iinfo(np.int16).max else np.int32)
    values = x_u8.reshape(-1)[flat]
    for a in (offsets, pixels, values):
        a.flags.writeable = False
    return PixelData(offsets, pixels, values, d)


def density(data):
    """Share of the pixels that are not zero."""
    return data.offsets[-1] / max(data.n_samples * data.n_features, 1)


def chunk_starts(data, chunk):
    """``starts[s, c]``: where chunk ``c`` (pixel rows ``c * chunk ...``) begins in sample s's
    list, for ``c`` in ``0 .. n_chunks`` (the last is the list's length)."""
    n, n_chunks = data.n_samples, -(-data.n_features // chunk)
    owner = np.repeat(np.arange(n), np.diff(data.offsets))
    counts = np.bincount(owner * n_chunks + data.pixels // chunk, minlength=n * n_chunks)
    starts = np.zeros((n, n_chunks + 1), data.pixels.dtype)
    np.cumsum(counts.reshape(n, n_chunks), axis=1, out=starts[:, 1:])
    return starts


def gradient_tasks(starts, n_classes):
    """The fused step's gradient work items, the costliest first: chunk ``c`` costs its data
    set's non-zero pixels, a half of the layer-2 gradients about as much as ``n_classes / 2 + 1``
    pixels per sample (a ``dW2`` row each, and a bias); the halves are ``-1`` and ``-2``."""
    n_samples, n_chunks = starts.shape[0], starts.shape[1] - 1
    cost = np.empty(n_chunks + 2)
    cost[:n_chunks] = np.diff(starts.astype(np.int64), axis=1).sum(axis=0)
    cost[n_chunks:] = n_samples * (n_classes // 2 + 1)
    order = np.argsort(-cost, kind="stable")  # equal costs keep chunk order
    return np.where(order < n_chunks, order, n_chunks - 1 - order).astype(np.int64)
