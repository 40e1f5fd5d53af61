"""Presets: named sets of :class:`~fastnn.TrainConfig` values, found with ``fastnn compare``.

``train(preset="fast")`` and ``fastnn train --fast`` start from a preset's values; any field
given explicitly (a keyword, a flag) overrides it. README.md ("A recipe that reaches 98 % in
seconds") tells how each was found and what it measures on 2 cores.

>>> from fastnn.presets import preset_values
>>> preset_values("fast")["dtype"]
'float32'
"""

from __future__ import annotations

from types import MappingProxyType

from ._validation import check_choice

__all__ = ["PRESETS", "preset_values", "preset_config"]

#: name -> (one-line description, the TrainConfig values).
PRESETS = MappingProxyType({
    "fast": ("the fastest recipe found to 98 % test accuracy on 2 cores (784-192-10, Adam)",
             dict(hidden_size=192, batch_size=256, optimizer="adam", learning_rate=0.008,
                  schedule="cosine", iters=1000, shuffle=True, weight_init_std="he",
                  dtype="float32", eval_every=100, target_accuracy=0.98)),
    "fast-800": ("784-800-10, LeCun's table's network shape: 98.4 % or more in seconds",
                 dict(hidden_size=800, batch_size=256, optimizer="adam", learning_rate=0.004,
                      schedule="cosine", iters=1600, shuffle=True, weight_init_std="he",
                      dtype="float32", eval_every=100, target_accuracy=0.984)),
})


def preset_values(name) -> dict:
    """The TrainConfig values of preset ``name`` (a new dict).

    Raises
    ------
    ValueError
        For an unknown name, listing the presets.
    """
    check_choice(name, tuple(PRESETS), "preset")
    return dict(PRESETS[name][1])


def preset_config(name, **overrides):
    """The :class:`~fastnn.TrainConfig` of preset ``name`` with ``overrides`` applied."""
    from .config import TrainConfig

    return TrainConfig(**{**preset_values(name), **overrides})
