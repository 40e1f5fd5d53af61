"""How good a trained network is, class by class: the confusion matrix, precision and recall.

:func:`evaluate` runs a network over a test set once and returns an :class:`Evaluation`; the
pictures drawn from it (confusion matrix, misclassified images, hidden units) are in
:mod:`fastnn.report`. The definitions are the usual ones, with ``C`` the confusion matrix
(row = true class, column = predicted class):

* ``precision[k] = C[k, k] / C[:, k].sum()``: of the images called ``k``, the share that are;
* ``recall[k] = C[k, k] / C[k, :].sum()``: of the images of class ``k``, the share found;
* ``count[k] = C[k, :].sum()``: the images of class ``k`` in the test set.

A class never predicted has no precision (NaN); one absent from the test set has no recall.

>>> import fastnn
>>> result = fastnn.train(iters=200)                        # doctest: +SKIP
>>> ev = fastnn.evaluate(result.network)                    # doctest: +SKIP
>>> print(ev.table())                                       # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_labels
from .backends.interface import pixel_table

__all__ = ["Evaluation", "evaluate", "confusion_matrix", "per_class_metrics"]

#: Rows predicted at a time: bounds the float copy of the pixels (2,000 x 784 x 8 B = 12.5 MB).
_CHUNK = 2000


def confusion_matrix(labels, predicted, n_classes):
    """Counts of (true, predicted) pairs.

    Parameters
    ----------
    labels, predicted : array_like of int, shape (n_samples,)
        True and predicted classes, in ``0 .. n_classes - 1``.
    n_classes : int

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        ``C[i, j]``: the samples of class ``i`` predicted as ``j``.
    """
    labels = as_labels(labels, n_samples=np.shape(labels)[0], n_classes=n_classes,
                       name="labels")
    predicted = as_labels(predicted, n_samples=labels.shape[0], n_classes=n_classes,
                          name="predicted")
    pairs = labels * n_classes + predicted
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_metrics(confusion):
    """``(precision, recall, count)`` of each class from a confusion matrix.

    Parameters
    ----------
    confusion : array_like of int, shape (n_classes, n_classes)
        Row = true class, column = predicted class.

    Returns
    -------
    precision, recall : ndarray of float64, shape (n_classes,)
        NaN where a class was never predicted (precision) or never present (recall).
    count : ndarray of int64, shape (n_classes,)
    """
    C = np.asarray(confusion, dtype=np.int64)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {C.shape}")
    hits = np.diag(C).astype(np.float64)
    called, count = C.sum(axis=0), C.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(called > 0, hits / called, np.nan)
        recall = np.where(count > 0, hits / count, np.nan)
    return precision, recall, count


@dataclass(frozen=True, eq=False)
class Evaluation:
    """What :func:`evaluate` returns: one pass of a network over a test set.

    Attributes
    ----------
    dataset : str or None
        The data set's name (None for arrays passed as ``data``).
    class_names : list of str
        The name of each label.
    accuracy : float
        Share of images whose predicted class is the true one.
    confusion : ndarray of int64, shape (n_classes, n_classes)
        Row = true class, column = predicted class.
    precision, recall : ndarray of float64, shape (n_classes,)
    count : ndarray of int64, shape (n_classes,)
        Test images of each class.
    labels, predicted : ndarray of int64, shape (n_samples,)
        True and predicted class of each image.
    probabilities : ndarray of shape (n_samples, n_classes)
        The network's softmax output for each image.
    images : ndarray of uint8, shape (n_samples, n_features)
        The pixels evaluated (read-only).
    image_shape : tuple of int
        ``(rows, cols)`` of one image.
    """

    dataset: str | None
    class_names: list
    accuracy: float
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    count: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    probabilities: np.ndarray
    images: np.ndarray
    image_shape: tuple

    @property
    def mistakes(self) -> np.ndarray:
        """Indices of the misclassified images, in test-set order."""
        return np.flatnonzero(self.predicted != self.labels)

    def table(self) -> str:
        """The per-class table: precision, recall and count of each class."""
        width = max(5, *(len(name) for name in self.class_names))
        lines = [f"{'class':<{width}}  precision  recall  count"]
        for name, p, r, n in zip(self.class_names, self.precision, self.recall, self.count):
            lines.append(f"{name:<{width}}  {_fraction(p):>9}  {_fraction(r):>6}  {n:>5}")
        return "\n".join(lines)


def _fraction(value):
    return "-" if np.isnan(value) else f"{value:.4f}"


def evaluate(network, dataset=None, *, data=None, class_names=None) -> Evaluation:
    """Run ``network`` over a test set and measure it class by class.

    Parameters
    ----------
    network : TwoLayerNet
    dataset : {"mnist", "fashion-mnist"}, optional
        Whose test set; default the data set the network was trained on (its
        ``metadata["dataset"]``), else MNIST.
    data : tuple (x_test, y_test), optional
        Arrays instead: ``x_test`` uint8 of shape (n_samples, network.input_size), ``y_test``
        integer labels of shape (n_samples,).
    class_names : sequence of str, optional
        Names of the labels; default the data set's (digits for MNIST, unnamed ``data``).

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        If the network does not fit the data (input size, number of classes), or for an
        unknown data set.
    FileNotFoundError
        If the data set is not installed (the message says how to get it).
    """
    from .datasets import catalog

    if data is None:
        if dataset is None:
            dataset = network.metadata.get("dataset") or "mnist"
        known = catalog.info(dataset)
        _, _, x, y = catalog.load_dataset(dataset)
        names, shape = list(class_names or known.class_names), known.image_shape
    else:
        if dataset is not None:
            raise ValueError("give dataset or data, not both")
        x, y = _test_arrays(data, network.input_size, network.output_size)
        names = list(class_names) if class_names is not None else [
            str(k) for k in range(network.output_size)]
        shape = tuple(network.metadata.get("image_shape") or _square(x.shape[1]))
    if x.shape[1] != network.input_size:
        raise ValueError(f"the network takes {network.input_size} inputs but {dataset}'s "
                         f"images have {x.shape[1]} pixels")
    if len(names) != network.output_size:
        raise ValueError(f"the network has {network.output_size} outputs but "
                         f"{len(names)} class names were given")
    table = pixel_table(network.dtype)
    probabilities = np.empty((x.shape[0], network.output_size), network.dtype)
    predicted = np.empty(x.shape[0], np.int64)
    for start in range(0, x.shape[0], _CHUNK):
        X = table[x[start:start + _CHUNK]]  # the very values train() evaluates on
        probabilities[start:start + _CHUNK] = network.predict(X)
        predicted[start:start + _CHUNK] = network.predict_labels(X)
    confusion = confusion_matrix(y, predicted, network.output_size)
    precision, recall, count = per_class_metrics(confusion)
    return Evaluation(dataset=dataset, class_names=names,
                      accuracy=float(np.count_nonzero(predicted == y) / y.shape[0]),
                      confusion=confusion, precision=precision, recall=recall, count=count,
                      labels=y, predicted=predicted, probabilities=probabilities, images=x,
                      image_shape=tuple(shape))


def _test_arrays(data, n_features, n_classes):
    try:
        x, y = data
    except (TypeError, ValueError):
        raise TypeError("data must be a tuple (x_test, y_test)") from None
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != n_features or x.shape[0] == 0:
        raise ValueError(f"x_test must be uint8 pixels of shape (n_samples, {n_features}), "
                         f"got {x.dtype} of shape {x.shape}")
    x = np.array(x)  # our own copy: the evaluation keeps it
    x.flags.writeable = False
    y = as_labels(y, n_samples=x.shape[0], n_classes=n_classes, name="y_test")
    return x, y


def _square(n):
    side = int(round(n ** 0.5))
    return (side, side) if side * side == n else (1, n)
