"""TwoLayerNet: the teaching program's network, with its attributes and methods, on a backend."""

from __future__ import annotations

import numpy as np

from . import backends
from ._init import init_stds, normal_sampler
from ._memory import check_fits
from ._validation import (
    as_features,
    as_labels,
    check_activation,
    check_dtype,
    check_positive_int,
    frozen,
)
from .backends.interface import PARAM_NAMES, NonFiniteInputError
from .functions import numerical_gradient, softmax
from .model_file import TRAINING_KEYS, read_model, write_model

__all__ = ["TwoLayerNet", "NUMERICAL_GRADIENT_BAR_SECONDS"]

#: :meth:`TwoLayerNet.numerical_gradient` shows a progress bar when it expects to take longer.
NUMERICAL_GRADIENT_BAR_SECONDS = 3.0


class TwoLayerNet:
    """A fully connected ``input -> hidden (ReLU or sigmoid) -> output (softmax)`` network.

    A drop-in replacement for the teaching program's class of the same name: same constructor
    arguments, same ``params`` dict, same methods, same values; the math runs on a backend.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Layer widths, e.g. 784, 50, 10.
    weight_init_std : float or {"he", "xavier"}, default 0.01
        Standard deviation of the initial weights; the biases start at zero. ``"he"`` draws
        each layer's weights with ``sqrt(2 / fan_in)``, ``"xavier"`` with ``sqrt(1 / fan_in)``,
        ``fan_in`` being its number of inputs (``input_size`` for W1, ``hidden_size`` for W2),
        as the book's ``MultiLayerNet`` does.
    activation : {"relu", "sigmoid"}, default "relu"
        Hidden-layer activation.
    backend : {"auto", "numpy", "numba"} or Backend, default "auto"
        Where the math runs; see :func:`fastnn.backends.get`.
    dtype : {"float64", "float32"}, default "float64"
        Working precision of parameters and computations.
    seed : None, int, numpy.random.Generator or numpy.random.RandomState, default None
        ``None`` draws the weights exactly as the teaching program does,
        ``weight_init_std * np.random.randn(...)`` from NumPy's global state, so calling
        ``np.random.seed(0)`` first gives its weights. An int seeds a private
        ``numpy.random.Generator``; a Generator or RandomState is used as given.

    Attributes
    ----------
    params : dict of str -> ndarray
        ``W1`` (input_size, hidden_size), ``b1`` (hidden_size,), ``W2`` (hidden_size,
        output_size), ``b2`` (output_size,). Plain arrays: update them in place or replace them.
    backend : Backend
        The backend in use.
    metadata : dict
        How the network was trained (``config``, ``dataset``, ``class_names``,
        ``image_shape``, ``test_accuracy``, ``iterations``; all None for a new network):
        filled by :func:`fastnn.train`, written by :meth:`save`.

    Examples
    --------
    >>> net = TwoLayerNet(784, 50, 10, seed=0, backend="numpy")
    >>> net.params["W1"].shape
    (784, 50)
    """

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, *,
                 activation="relu", backend="auto", dtype="float64", seed=None):
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.output_size = check_positive_int(output_size, "output_size")
        std1, std2 = init_stds(weight_init_std, input_size, hidden_size)
        self.activation = check_activation(activation)
        self.dtype = check_dtype(dtype)
        n_weights = (input_size + 1) * hidden_size + (hidden_size + 1) * output_size
        check_fits(2 * 8 * n_weights, f"a {input_size}-{hidden_size}-{output_size} network "
                   f"(hidden_size={hidden_size})")  # drawn in float64, then cast
        self.backend = backends.get(backend)
        self.metadata = dict.fromkeys(TRAINING_KEYS)
        randn = normal_sampler(seed)
        self.params = {
            "W1": (std1 * randn(input_size, hidden_size)).astype(self.dtype),
            "b1": np.zeros(hidden_size, dtype=self.dtype),
            "W2": (std2 * randn(hidden_size, output_size)).astype(self.dtype),
            "b2": np.zeros(output_size, dtype=self.dtype),
        }

    def __repr__(self):
        return (f"TwoLayerNet({self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"activation={self.activation!r}, backend={self.backend.name!r}, "
                f"dtype={self.dtype.name!r})")

    # -- the teaching program's methods -----------------------------------------------------

    def predict(self, x):
        """Class probabilities ``softmax(relu(x @ W1 + b1) @ W2 + b2)``.

        Parameters
        ----------
        x : array_like of shape (n_samples, input_size) or (input_size,)

        Returns
        -------
        ndarray of shape (n_samples, output_size) (or (output_size,) for a 1-D ``x``)
        """
        X, was_1d = self._features(x)
        y = softmax(self._logits(X))
        return y[0] if was_1d else y

    def loss(self, x, t):
        """Mean cross-entropy of :meth:`predict` against ``t``.

        Parameters
        ----------
        x : array_like of shape (n_samples, input_size)
        t : array_like of shape (n_samples, output_size) one-hot, or (n_samples,) labels

        Returns
        -------
        float
        """
        X, _ = self._features(x)
        return self._loss(X, self._labels(t, X.shape[0]))

    def _loss(self, X, labels):
        """:meth:`loss` of inputs already checked (``_features``, ``_labels``)."""
        Z2 = self._logits(X)
        return self.backend.softmax_cross_entropy(Z2, labels, np.empty_like(Z2))

    def accuracy(self, x, t):
        """Fraction of samples whose most probable class equals the target.

        Parameters
        ----------
        x : array_like of shape (n_samples, input_size)
        t : array_like of shape (n_samples, output_size) one-hot, or (n_samples,) labels

        Returns
        -------
        float in [0, 1]
        """
        X, _ = self._features(x)
        labels = self._labels(t, X.shape[0])
        predicted = self._predict_labels(X)
        return np.count_nonzero(predicted == labels) / float(X.shape[0])

    def predict_labels(self, x):
        """Most probable class of each sample (argmax of the logits).

        Parameters
        ----------
        x : array_like of shape (n_samples, input_size) or (input_size,)

        Returns
        -------
        ndarray of int64, shape (n_samples,) (a 0-d array for a 1-D ``x``)
        """
        X, was_1d = self._features(x)
        predicted = self._predict_labels(X)
        return predicted[0] if was_1d else predicted

    def predict_images(self, images, class_names=None):
        """Predict the class of your own images: PNG or JPEG files, Pillow images or arrays.

        Each image is first made MNIST-like, as MNIST itself was made: grey, inverted when
        the ink is dark on light paper, cropped to the ink, scaled to fit 20x20 keeping its
        aspect ratio, and centred by its centre of mass in 28x28 (see :mod:`fastnn.images`).

        Parameters
        ----------
        images : path, PIL.Image, array, or a sequence of them
            Arrays of shape (rows, cols), (rows, cols, 3) or (rows, cols, 4), any range.
        class_names : sequence of str, optional
            Default :attr:`metadata`'s (a network from :func:`fastnn.train` has them), else
            ``"0" .. "9"``.

        Returns
        -------
        fastnn.images.ImagePredictions
            ``labels``, ``names``, ``probabilities`` (n_images, output_size), the ``inputs``
            as seen (n_images, 28, 28) uint8, and ``top(k)``.

        Raises
        ------
        ValueError
            If the network does not take 28x28 = 784 inputs (before any image is read).
        fastnn.images.ImageError
            Naming the image: not an image, empty, damaged, too small or blank.
        """
        from .images import predict_images

        return predict_images(self, images, class_names)

    def numerical_gradient(self, x, t, *, progress=None):
        """Central-difference gradient of :meth:`loss` for each parameter (slow; for checks).

        It costs two evaluations of :meth:`loss` on the whole of ``x`` per parameter: a
        784-50-10 network has 39,760 parameters, hence 79,520 forward passes, which take a
        minute or two even for 3 samples (96 s were measured on a busy 2-core machine); a
        784-10-10 network takes a tenth of that. ``fastnn gradcheck`` runs this check on a
        small network in seconds.

        Parameters
        ----------
        x : array_like of shape (n_samples, input_size)
        t : array_like of shape (n_samples, output_size) one-hot, or (n_samples,) labels
        progress : bool, optional
            Show a tqdm progress bar; by default one is shown when the estimate (from timing
            one loss evaluation) exceeds :data:`NUMERICAL_GRADIENT_BAR_SECONDS` and stderr is
            a terminal (or in a notebook).

        Returns
        -------
        dict with keys ``W1 b1 W2 b2``, arrays shaped like ``params``
        """
        X, _ = self._features(x)
        labels = self._labels(t, X.shape[0])
        bar = self._numerical_gradient_bar(X, labels, progress)
        calls = [0]

        def loss_W(_):
            calls[0] += 1
            if bar is not None and calls[0] % 64 == 0:
                bar.update(64)
            return self._loss(X, labels)  # X and labels were checked once, above

        try:
            return {key: numerical_gradient(loss_W, self.params[key]) for key in PARAM_NAMES}
        finally:
            if bar is not None:
                bar.close()

    def _numerical_gradient_bar(self, X, labels, progress):
        """A tqdm bar over the ``2 * n_params`` loss evaluations, or None."""
        from ._progress import estimated_bar, timed

        total = 2 * sum(int(np.size(self.params[key])) for key in PARAM_NAMES)
        return estimated_bar(total, timed(lambda: self._loss(X, labels)),
                             NUMERICAL_GRADIENT_BAR_SECONDS, progress=progress,
                             desc="numerical gradient", unit="loss")

    def gradient(self, x, t):
        """Gradient of :meth:`loss` by backpropagation.

        Parameters
        ----------
        x : array_like of shape (n_samples, input_size)
        t : array_like of shape (n_samples, output_size) one-hot, or (n_samples,) labels

        Returns
        -------
        dict with keys ``W1 b1 W2 b2``, arrays shaped like ``params``
        """
        X, _ = self._features(x)
        labels = self._labels(t, X.shape[0])
        W1, b1, W2, b2 = self._checked_params()
        grads = {key: np.empty_like(p) for key, p in zip(PARAM_NAMES, (W1, b1, W2, b2))}
        self._kernel(self.backend.loss_gradient, X, labels, W1, b1, W2, b2, self.activation,
                     grads["W1"], grads["b1"], grads["W2"], grads["b2"])
        return grads

    # -- saving -------------------------------------------------------------------------------

    def save(self, path):
        """Write the network to a model file (see :mod:`fastnn.model_file`), atomically.

        The file holds the parameters, the sizes, activation and dtype, the fastnn version and
        :attr:`metadata` (how the network was trained); read it back with :meth:`load` or
        :func:`fastnn.load_model`, or with ``np.load(path, allow_pickle=False)``. It is written
        under a temporary name and renamed into place, so an interrupted save never leaves a
        half-written file; it gets the permissions any new file of the user's gets.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        ValueError
            If :attr:`params` do not fit the network's sizes or are not finite.
        OSError
            If the file cannot be written (the message names ``path``).
        """
        W1, b1, W2, b2 = self._checked_params()
        for key, p in zip(PARAM_NAMES, (W1, b1, W2, b2)):
            if not np.isfinite(p).all():
                raise ValueError(f"params[{key!r}] holds NaN or infinite values: nothing "
                                 "worth saving (the training diverged?)")
        meta = dict(input_size=self.input_size, hidden_size=self.hidden_size,
                    output_size=self.output_size, activation=self.activation,
                    dtype=self.dtype.name,
                    **{key: self.metadata.get(key) for key in TRAINING_KEYS})
        return write_model(path, dict(W1=W1, b1=b1, W2=W2, b2=b2), meta)

    @classmethod
    def load(cls, path, *, backend="auto"):
        """Read a network written by :meth:`save` (also :func:`fastnn.load_model`).

        Parameters
        ----------
        path : str or os.PathLike
        backend : {"auto", "numpy", "numba"} or Backend, default "auto"

        Returns
        -------
        TwoLayerNet
            With :attr:`metadata` as saved.

        Raises
        ------
        fastnn.ModelFileError
            If the file is damaged, was changed after saving, or is not a fastnn model (the
            message names the file and what is wrong).
        FileNotFoundError
        """
        params, meta = read_model(path)
        net = cls(meta["input_size"], meta["hidden_size"], meta["output_size"],
                  activation=meta["activation"], backend=backend, dtype=meta["dtype"], seed=0)
        net.params = params
        net.metadata = {key: meta.get(key) for key in TRAINING_KEYS}
        return net

    # -- what train() needs -------------------------------------------------------------------

    def train_step(self, x_u8, y, optimizer, batch_size, adaptive_threads=False):
        """Return ``step(idx) -> (loss, n_correct)``: one training iteration on this network.

        Parameters
        ----------
        x_u8 : ndarray of uint8, shape (n_samples, input_size)
            The training pixels, scaled by 1/255 inside the step.
        y : ndarray of int, shape (n_samples,)
            Their labels.
        optimizer : optimizer from :mod:`fastnn.optimizers`
        batch_size : int
            Length of the ``idx`` (row numbers of ``x_u8``) that each call takes.

        adaptive_threads : bool, default False
            Let the step choose one thread or all of them, whichever its timings show faster
            (the results are the same bits either way).

        The step updates :attr:`params` in place; ``loss`` and ``n_correct`` come from the
        forward pass that gave the gradient.
        """
        self._checked_params()
        return self.backend.make_train_step(x_u8, y, self.params, self.activation, optimizer,
                                            batch_size, adaptive_threads=adaptive_threads)

    def accuracy_u8(self, x_u8, labels):
        """Accuracy on uint8 pixels, scaled by 1/255 as training scales them.

        Parameters
        ----------
        x_u8 : ndarray of uint8, shape (n_samples, input_size)
        labels : array_like of int, shape (n_samples,)

        Returns
        -------
        float in [0, 1]
        """
        return self.evaluator(x_u8, labels, snapshot=False)()

    def evaluator(self, x_u8, labels, name="x_u8", *, snapshot=True):
        """``evaluate() -> accuracy`` of the current parameters on a fixed data set.

        For evaluating one data set many times (``train()`` does, each epoch). The evaluator
        works on a snapshot taken now (a read-only ``x_u8`` is used as it is), so that the
        backend may prepare the pixels once: edit ``x_u8`` after this call and the evaluator
        still sees the pixels it was given.

        Parameters
        ----------
        x_u8 : ndarray of uint8, shape (n_samples, input_size)
        labels : array_like of int, shape (n_samples,), in ``0 .. output_size - 1``
        name : str
            What ``x_u8`` is called in error messages.
        snapshot : bool, default True
            Copy a writable ``x_u8`` (skip it for one call, as :meth:`accuracy_u8` does).
        """
        x_u8 = np.asarray(x_u8)
        if x_u8.dtype != np.uint8 or x_u8.ndim != 2 or x_u8.shape[1] != self.input_size:
            raise ValueError(f"{name} must be uint8 pixels of shape (n_samples, "
                             f"{self.input_size}), got {x_u8.dtype} of shape {x_u8.shape}")
        if x_u8.shape[0] == 0:
            raise ValueError(f"{name} has no samples (shape {x_u8.shape})")
        labels = frozen(as_labels(labels, n_samples=x_u8.shape[0], n_classes=self.output_size,
                                  name=f"labels of {name}"), np.int64)
        predictor = self.backend.pixel_predictor(frozen(x_u8, np.uint8) if snapshot else x_u8)
        predicted = np.empty(x_u8.shape[0], np.int64)

        def evaluate():
            W1, b1, W2, b2 = self._checked_params()
            predictor.predict_labels(W1, b1, W2, b2, self.activation, predicted)
            return float(np.count_nonzero(predicted == labels) / predicted.shape[0])
        return evaluate

    def params_finite(self):
        """True when every parameter is finite (no NaN or infinity)."""
        return all(np.isfinite(p).all() for p in self.params.values())

    # -- internals ----------------------------------------------------------------------------

    def _features(self, x):
        return as_features(x, self.input_size, self.dtype,
                           kernels_check=self.backend.checks_inputs)

    def _labels(self, t, n_samples):
        return as_labels(t, n_samples=n_samples, n_classes=self.output_size)

    def _checked_params(self):
        """The parameters as C-contiguous arrays of the working dtype (no copy when they are)."""
        shapes = {"W1": (self.input_size, self.hidden_size), "b1": (self.hidden_size,),
                  "W2": (self.hidden_size, self.output_size), "b2": (self.output_size,)}
        out = []
        for key in PARAM_NAMES:
            p = self.params.get(key)
            if p is None or np.shape(p) != shapes[key]:
                raise ValueError(f"params[{key!r}] must have shape {shapes[key]}, got "
                                 f"{None if p is None else np.shape(p)}")
            out.append(np.ascontiguousarray(p, dtype=self.dtype))
        return out

    def _logits(self, X):
        W1, b1, W2, b2 = self._checked_params()
        out = np.empty((X.shape[0], self.output_size), self.dtype)
        return self._kernel(self.backend.logits, X, W1, b1, W2, b2, self.activation, out)

    def _predict_labels(self, X):
        W1, b1, W2, b2 = self._checked_params()
        out = np.empty(X.shape[0], np.int64)
        return self._kernel(self.backend.predict_labels, X, W1, b1, W2, b2, self.activation,
                            out)

    @staticmethod
    def _kernel(kernel, *args):
        """``kernel(*args)``, its refusal of a non-finite ``X`` said as the input's check does."""
        try:
            return kernel(*args)
        except NonFiniteInputError as exc:
            raise ValueError(str(exc).replace("X contains", "x contains", 1)) from None
