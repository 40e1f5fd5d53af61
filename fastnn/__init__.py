"""fastnn: the teaching program's two-layer MNIST network, exact and fast.

The public API, re-exported here:

* :func:`train` trains the network (its parameters are the fields of :class:`TrainConfig`) and
  returns a :class:`TrainResult`;
* :class:`TwoLayerNet` and the teaching program's functions (``sigmoid``, ``softmax``,
  ``cross_entropy_error``, ``numerical_gradient``...) are drop-in replacements for its own
  definitions;
* :func:`load_model` reads a saved network, :func:`evaluate` measures one class by class;
* :func:`load_mnist` is the book-style loader of the bundled MNIST;
* :mod:`fastnn.backends` chooses where the math runs (``"numpy"`` reference or ``"numba"``);
* :func:`show_versions` describes the machine, the libraries and the thread pools.

``import fastnn`` imports neither numba nor matplotlib; they load when first needed.
"""

from . import backends, datasets
from ._info import show_versions
from .config import TrainConfig
from .datasets import load_mnist
from .evaluation import Evaluation, evaluate
from .functions import (
    cross_entropy_error,
    identity_function,
    mean_squared_error,
    numerical_gradient,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_loss,
    step_function,
    sum_squared_error,
)
from .model_file import ModelFileError
from .network import TwoLayerNet
from .training import (
    TrainingDivergedError,
    TrainingInterrupted,
    TrainingWarning,
    TrainResult,
    train,
)

__version__ = "0.1.0"


def load_model(path, *, backend="auto"):
    """Read a network saved by :meth:`TwoLayerNet.save` (or ``fastnn train --save``).

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    backend : {"auto", "numpy", "numba"} or Backend, default "auto"

    Returns
    -------
    TwoLayerNet
        With its ``metadata`` (training configuration, data set, class names, test accuracy).

    Raises
    ------
    ModelFileError
        If the file is damaged, was changed after saving, or is not a fastnn model.
    """
    return TwoLayerNet.load(path, backend=backend)

__all__ = [
    "train", "TrainConfig", "TrainResult", "TrainingDivergedError", "TrainingInterrupted",
    "TrainingWarning", "TwoLayerNet", "load_model", "ModelFileError", "load_mnist",
    "evaluate", "Evaluation",
    "show_versions", "backends",
    "datasets", "identity_function", "step_function", "sigmoid", "sigmoid_grad", "relu",
    "relu_grad", "softmax", "mean_squared_error", "sum_squared_error", "cross_entropy_error",
    "softmax_loss", "numerical_gradient", "__version__",
]
