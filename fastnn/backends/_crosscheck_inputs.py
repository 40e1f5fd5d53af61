"""The cross-check table's inputs: functions ``make(rng, dtype) -> dict`` of named arrays for
each kernel, on MNIST images (the bundled test images, or look-alikes without the file) and on
the awkward cases the table lists (all-zero rows, batch 1, odd widths, infinite weights, dense
pixels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .interface import pixel_table

_MNIST = Path(__file__).resolve().parent.parent / "data" / "mnist.npz"
_images_cache = {}


def _images(rng, n=2000):
    """``(x_u8 (n, 784), y (n,))``: the first MNIST test images if bundled, else look-alikes."""
    if "mnist" not in _images_cache:
        try:
            with np.load(_MNIST) as f:
                x, y = f["x_test"][:n].reshape(n, -1), f["y_test"][:n].astype(np.int64)
        except (OSError, KeyError, ValueError):  # keep the check usable without the data file
            x = _sparse_u8(np.random.default_rng(0), n, 784)
            y = np.random.default_rng(1).integers(0, 10, n)
        x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
        x.flags.writeable = y.flags.writeable = False
        _images_cache["mnist"] = (x, y)
    return _images_cache["mnist"]


def _sparse_u8(rng, n, d, zero_fraction=0.8):
    """uint8 pixels, ``zero_fraction`` of them exactly 0 like MNIST's background."""
    x = rng.integers(1, 256, (n, d)).astype(np.uint8)
    x[rng.random((n, d)) < zero_fraction] = 0
    return x


def _X(rng, dt, n, kind):
    """Inputs of the first layer: ``"u8"`` scaled pixels (mostly zeros) or ``"normal"``."""
    if kind == "u8":
        x, _ = _images(rng)
        return pixel_table(dt)[x[rng.integers(0, len(x), n)]]
    return rng.standard_normal((n, 784)).astype(dt)


def _act(Z, activation):
    if activation == "relu":
        return np.maximum(0, Z)
    return 1 / (1 + np.exp(-Z))


def _net(rng, dt, h, c=10, d=784, scale=0.1):
    return {"W1": (scale * rng.standard_normal((d, h))).astype(dt),
            "b1": (scale * rng.standard_normal(h)).astype(dt),
            "W2": (scale * rng.standard_normal((h, c))).astype(dt),
            "b2": (scale * rng.standard_normal(c)).astype(dt)}


def gather_in(n=512, zero_rows=False, d=None):
    def make(rng, dt):
        x, _ = _images(rng)
        if d is not None:
            x = _sparse_u8(rng, 300, d)
        if zero_rows:
            x = x.copy()
            x[:7] = 0
        idx = rng.integers(0, 7 if zero_rows else len(x), n)
        return {"x_u8": x, "idx": idx}
    return make


def dense_in(activation, h, n=64, kind="u8", zero_rows=0):
    def make(rng, dt):
        X = _X(rng, dt, n, kind)
        X[:zero_rows] = 0
        net = _net(rng, dt, h)
        return {"X": X, "W": net["W1"], "b": net["b1"], "activation": activation}
    return make


def softmax_in(n=512, scale=3.0, labels=None, ties=False):
    def make(rng, dt):
        logits = (scale * rng.standard_normal((n, 10))).astype(dt)
        if ties:
            logits[:] = dt(0.5)
        y = rng.integers(0, 10, n) if labels is None else np.full(n, labels)
        return {"logits": logits, "labels": y}
    return make


def backward_in(activation, h, n=64, kind="u8", zero_rows=0):
    def make(rng, dt):
        X = _X(rng, dt, n, kind)
        X[:zero_rows] = 0
        Z1 = rng.standard_normal((n, h)).astype(dt)
        Z1[rng.random((n, h)) < 0.1] = 0  # relu'(0) = 1: the seed's boundary
        W2 = (0.1 * rng.standard_normal((h, 10))).astype(dt)
        dZ2 = (rng.standard_normal((n, 10)) / n).astype(dt)
        return {"X": X, "Z1": Z1, "A1": _act(Z1, activation).astype(dt), "W2": W2, "dZ2": dZ2,
                "activation": activation}
    return make


def predict_in(activation, h, n=1000, kind="u8", zero_rows=0, ties=False):
    def make(rng, dt):
        X = _X(rng, dt, n, kind)
        X[:zero_rows] = 0
        net = _net(rng, dt, h)
        if ties:
            net["W2"][:] = 0
            net["b2"][:] = 1  # every logit equal: the first class wins
        return dict(X=X, activation=activation, **net)
    return make


def float_in(activation, h, n=64, kind="u8", zero_rows=0, inf_weight=False, labels=None,
              narrow=False):
    """Inputs of ``logits`` and ``loss_gradient``: float X (``narrow``: float32 X for a float64
    network, as the book's loader gives), the network, labels."""
    def make(rng, dt):
        X = _X(rng, np.float32 if narrow else dt, n, kind)
        X[:zero_rows] = 0
        net = _net(rng, np.float64 if narrow else dt, h)
        if inf_weight:  # 0 * inf = nan: the zeros of X must not be skipped then
            net["W1"][0, 0] = np.inf
        y = rng.integers(0, 10, n) if labels is None else np.full(n, labels)
        return dict(X=X, labels=y, activation=activation, **net)
    return make


def predict_u8_in(activation, h, zero_images=False, inf_weight=False):
    def make(rng, dt):
        x, _ = _images(rng)
        if zero_images:
            x = x.copy()
            x[:100] = 0
        net = _net(rng, dt, h)
        if inf_weight:  # 0 * inf = nan: the zeros of x must not be skipped then
            net["W1"][0, 0] = np.inf
        return dict(x_u8=x, activation=activation, **net)
    return make


def step_in(activation, h, batch=64, zero_images=False, inf_weight=False, optimizer="sgd",
             steps=1, weight_decay=0.0, dense=False):
    def make(rng, dt):
        x, y = _images(rng)
        if dense:  # no zero pixel: the step's dense route
            x = _sparse_u8(rng, 500, 784, zero_fraction=0.0)
            y = rng.integers(0, 10, 500)
        if zero_images:
            x = x.copy()
            x[:5] = 0
        idx = rng.integers(0, 5 if zero_images else len(x), batch * steps)
        params = _net(rng, dt, h, scale=0.01)
        if inf_weight:  # pixel 0 is 0 in every MNIST image: 0 * inf = nan must count
            params["W1"][0, 0] = np.inf
        lr = {"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05}.get(optimizer,
                                                                                   0.001)
        return {"x_u8": x, "y": y, "params": params, "idx": idx, "activation": activation,
                "lr": lr, "optimizer": optimizer, "steps": steps, "weight_decay": weight_decay}
    return make
