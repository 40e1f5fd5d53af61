"""Data sets for fastnn: the bundled MNIST and readers for IDX files (e.g. Fashion-MNIST).

Examples
--------
>>> from fastnn.datasets import load_mnist
>>> (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True)
>>> x_train.shape, x_train.dtype, t_train.shape
((60000, 784), dtype('float32'), (60000,))
"""

from fastnn.datasets import idx, mnist
from fastnn.datasets.idx import read_idx, write_idx
from fastnn.datasets.mnist import DataIntegrityError, load_fashion_mnist, load_mnist

__all__ = [
    "DataIntegrityError",
    "idx",
    "load_fashion_mnist",
    "load_mnist",
    "mnist",
    "read_idx",
    "write_idx",
]
