"""The data sets ``train()``, ``evaluate()`` and the command line know by name.

=================  ===================================================================
``"mnist"``        the bundled MNIST digits (classes ``"0"`` .. ``"9"``)
``"fashion-mnist"``  Zalando's Fashion-MNIST (10 kinds of clothing), read from
                   ``$FASTNN_DATA_DIR`` or Debian's ``dataset-fashion-mnist`` package
=================  ===================================================================

Both hold 60,000 training and 10,000 test images of 28x28 uint8 pixels. :func:`load_dataset`
returns them flattened for training, read-only and cached for the process.
"""

from __future__ import annotations

import threading
from collections import namedtuple

import numpy as np

__all__ = ["DATASETS", "DatasetInfo", "info", "class_names", "load_dataset", "clear_cache"]


class DatasetInfo(namedtuple("DatasetInfo", "name title class_names image_shape n_train n_test")):
    """What is known about a data set before reading it.

    Attributes
    ----------
    name : str
        The name ``train(dataset=...)`` takes.
    title : str
        For titles and messages.
    class_names : tuple of str
        The name of each label, in label order.
    image_shape : tuple of int
        ``(rows, cols)`` of one image.
    n_train, n_test : int
        Images in the training and test sets.
    """

    __slots__ = ()


_INFO = {
    "mnist": DatasetInfo("mnist", "MNIST", tuple(str(d) for d in range(10)), (28, 28),
                         60_000, 10_000),
    # The labels' names as Zalando publishes them (github.com/zalandoresearch/fashion-mnist).
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", "Fashion-MNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"), (28, 28), 60_000, 10_000),
}

#: The names :func:`load_dataset` accepts.
DATASETS = tuple(_INFO)

_lock = threading.Lock()
_cache: dict[tuple, tuple] = {}


def _check_name(name):
    if not isinstance(name, str) or name not in _INFO:
        raise ValueError(f"dataset={name!r} is not known; expected one of "
                         f"{', '.join(repr(n) for n in DATASETS)}")
    return name


def info(name) -> DatasetInfo:
    """The :class:`DatasetInfo` of data set ``name`` (``ValueError`` for an unknown one)."""
    return _INFO[_check_name(name)]


def class_names(name) -> list:
    """The class names of data set ``name``, in label order."""
    return list(info(name).class_names)


def load_dataset(name="mnist"):
    """A data set as :func:`fastnn.train` takes it.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}, default "mnist"
        Fashion-MNIST is looked for in ``$FASTNN_DATA_DIR/fashion-mnist``, then in
        ``$FASTNN_DATA_DIR`` itself, then in ``/usr/share/datasets/fashion-mnist`` (where
        ``apt-get install dataset-fashion-mnist`` puts it).

    Returns
    -------
    x_train : ndarray of uint8, shape (60000, 784)
    y_train : ndarray of int64, shape (60000,)
    x_test : ndarray of uint8, shape (10000, 784)
    y_test : ndarray of int64, shape (10000,)
        Read-only and C-contiguous; the same objects on every call with the same source.

    Raises
    ------
    ValueError
        For an unknown name, or files that are not the data set's.
    FileNotFoundError
        When Fashion-MNIST is not found; the message says where it looked and how to get it.
    """
    _check_name(name)
    if name == "mnist":
        from .mnist import load_arrays

        return load_arrays()
    from .mnist import find_fashion_mnist, load_idx_dir

    directory = find_fashion_mnist()
    key = (name, str(directory.resolve()))
    with _lock:
        if key not in _cache:
            (x_train, y_train), (x_test, y_test) = load_idx_dir(directory)
            _cache[key] = tuple(_flat(a) for a in (x_train, y_train, x_test, y_test))
        return _cache[key]


def _flat(a):
    """An image stack as read-only (N, rows * cols) uint8 rows, labels as read-only int64."""
    out = (np.ascontiguousarray(a.reshape(a.shape[0], -1)) if a.ndim == 3
           else a.astype(np.int64))
    out.flags.writeable = False
    return out


def clear_cache() -> None:
    """Forget the data sets read from files (the bundled MNIST has its own cache)."""
    with _lock:
        _cache.clear()

