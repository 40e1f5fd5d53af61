"""The rows fastnn is compared with: the teaching program itself and a PyTorch twin.

:mod:`~fastnn.bench.baselines.seed` is the teaching program's code (also the tests' oracle),
:mod:`~fastnn.bench.baselines.naive` its training loop as written, and
:mod:`~fastnn.bench.baselines.torch_twin` the same network and loop in PyTorch (optional).
"""
