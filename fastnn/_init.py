"""The initial weights of a TwoLayerNet: their scale per layer and the source of the draws."""

from __future__ import annotations

import numpy as np

from ._validation import check_positive_float

__all__ = ["init_stds", "normal_sampler"]


def init_stds(weight_init_std, input_size, hidden_size):
    """The standard deviations of W1 and W2: one number for both (the teaching program), or
    He's ``sqrt(2 / fan_in)`` / Xavier's ``sqrt(1 / fan_in)`` per layer."""
    from .config import WEIGHT_INITS

    if isinstance(weight_init_std, str):
        name = weight_init_std.lower()
        if name not in WEIGHT_INITS:
            raise ValueError(f"weight_init_std={weight_init_std!r} is not known; expected a "
                             f"number > 0 or one of {', '.join(map(repr, WEIGHT_INITS))}")
        gain = 2.0 if name == "he" else 1.0
        return np.sqrt(gain / input_size), np.sqrt(gain / hidden_size)
    std = check_positive_float(weight_init_std, "weight_init_std")
    return std, std


def normal_sampler(seed):
    """``randn(*shape)`` drawing from the source ``seed`` names (see TwoLayerNet)."""
    if seed is None:
        return np.random.randn
    if isinstance(seed, np.random.RandomState):
        return seed.randn
    if isinstance(seed, np.random.Generator):
        return lambda *shape: seed.standard_normal(shape)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        rng = np.random.default_rng(seed)
        return lambda *shape: rng.standard_normal(shape)
    raise ValueError(f"seed must be None, a non-negative int, a numpy Generator or RandomState, "
                     f"got {seed!r}")
