"""Your own images as MNIST-like inputs, prepared the way MNIST itself was made.

LeCun, Cortes and Burges describe MNIST's digits as "size normalized to fit in a 20x20 pixel
box while preserving their aspect ratio" (anti-aliased, hence the grey levels) and "centered
in a 28x28 image by computing the center of mass of the pixels". :func:`mnist_input` does the
same to a photo or a scan:

1. read it with Pillow (PNG, JPEG and whatever else Pillow reads), turn it upright (EXIF),
   lay a transparent background on white paper, and make it grey (ITU-R 601 luma);
2. find the paper: the median of the border pixels; ink is what differs from it, so dark ink
   on light paper is inverted into MNIST's light ink on black;
3. scale the ink to 0..1, drop what is fainter than :data:`NOISE` (paper grain, JPEG ringing);
4. crop to the ink, scale it to fit a 20x20 box keeping its aspect ratio (Pillow's Lanczos
   filter, anti-aliased when shrinking), and stretch it back to full contrast;
5. paste it into 28x28 zeros so that its centre of mass lands on pixel (14, 14), where
   MNIST's digits have theirs (the mean over the test set is 13.99, 14.01).

The result is what the network sees: uint8 pixels, 0 = background, 255 = full ink.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ImageError", "ImagePredictions", "check_network", "class_names_of", "mnist_input",
           "predict_images", "predict_inputs", "read_grey",
           "MIN_SIDE", "NOISE", "BOX", "SIDE"]

#: MNIST's image and digit box sizes, and where its centre of mass sits (row, column).
SIDE, BOX, CENTRE = 28, 20, (14.0, 14.0)
#: Images smaller than this (either side) are refused: no digit can be read from them.
MIN_SIDE = 8
#: Ink fainter than this share of the strongest is taken for background.
NOISE = 0.15


class ImageError(ValueError):
    """An image cannot be used (not an image, empty, too small, blank); the message names it."""


@dataclass(frozen=True, eq=False)
class ImagePredictions:
    """What :meth:`TwoLayerNet.predict_images` returns.

    Attributes
    ----------
    sources : list of str
        Each image's file name, or ``"image <k>"`` for an array.
    labels : ndarray of int64, shape (n_images,)
        The predicted class of each image.
    names : list of str
        Its class name.
    probabilities : ndarray of shape (n_images, n_classes)
        The network's softmax output.
    inputs : ndarray of uint8, shape (n_images, 28, 28)
        Each image as the network saw it (see :mod:`fastnn.images`).
    class_names : list of str
    """

    sources: list
    labels: np.ndarray
    names: list
    probabilities: np.ndarray
    inputs: np.ndarray
    class_names: list

    def top(self, k=3):
        """The ``k`` most probable classes of each image: a list of ``[(name, probability),
        ...]``, most probable first."""
        order = np.argsort(-self.probabilities, axis=1, kind="stable")[:, :k]
        return [[(self.class_names[c], float(p[c])) for c in row]
                for row, p in zip(order, self.probabilities)]


def _name(source, k):
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, "filename", None) or f"image {k}"


def read_grey(source, name=None):
    """An image as grey levels (float64, shape (rows, cols)) and the level of white paper.

    ``source`` is a path, a :class:`PIL.Image.Image`, or an array of shape (rows, cols),
    (rows, cols, 3) RGB or (rows, cols, 4) RGBA (integer, or float with alpha in 0..1).
    Raises :class:`ImageError` naming ``name`` (default: the path or ``"image"``).
    """
    from PIL import Image

    name = name or _name(source, 0)
    if isinstance(source, (str, os.PathLike)):
        image = _open(Path(os.path.expanduser(os.fspath(source))), name)
        return _grey_of(_pixels(image), name)
    if isinstance(source, Image.Image):
        return _grey_of(_pixels(source), name)
    try:
        a = np.asarray(source)
    except Exception as exc:  # ragged lists and the like
        raise ImageError(f"{name}: not an image or an array of pixels ({exc})") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ImageError(f"{name}: an image must be a file name, a PIL image or an array of "
                         f"numbers; got {type(source).__name__} of dtype {a.dtype}")
    return _grey_of(a, name)


def _open(path, name):
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.exists():
        raise ImageError(f"{name}: no such file")
    if path.is_dir():
        raise ImageError(f"{name}: is a directory, not an image")
    if path.stat().st_size == 0:
        raise ImageError(f"{name}: is empty (0 bytes), not an image")
    try:
        with Image.open(path) as image:
            image.load()
            return ImageOps.exif_transpose(image)
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read (such as PNG or JPEG)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: too large to read safely ({exc})") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or damaged data
        raise ImageError(f"{name}: a damaged image ({exc})") from None


def _pixels(image):
    """A Pillow image as an array numpy understands: grey, RGB or RGBA, 8 or 16 bits."""
    if image.mode in ("L", "LA", "RGB", "RGBA", "I;16", "I", "F"):
        return np.asarray(image)
    transparent = image.mode in ("PA", "La", "RGBa") or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if transparent else "RGB"))


def _grey_of(a, name):
    if a.ndim == 3 and a.shape[2] in (1, 2, 3, 4):
        channels = a.shape[2]
        alpha = a[..., -1] if channels in (2, 4) else None
        colour = a[..., : channels - (alpha is not None)].astype(np.float64)
        grey = colour[..., 0] if colour.shape[2] == 1 else (
            colour[..., :3] @ np.array([0.299, 0.587, 0.114]))
    elif a.ndim == 2:
        grey, alpha = a.astype(np.float64), None
    else:
        raise ImageError(f"{name}: pixels must have shape (rows, cols), (rows, cols, 3) or "
                         f"(rows, cols, 4); got {a.shape}")
    if min(grey.shape) < MIN_SIDE:
        raise ImageError(f"{name}: is {grey.shape[1]}x{grey.shape[0]} pixels, too small to "
                         f"hold a digit (at least {MIN_SIDE}x{MIN_SIDE})")
    if not np.isfinite(grey).all():
        raise ImageError(f"{name}: holds NaN or infinite values")
    if alpha is not None:
        top = float(np.iinfo(a.dtype).max) if np.issubdtype(a.dtype, np.integer) else 1.0
        opacity = np.clip(alpha.astype(np.float64) / top, 0.0, 1.0)
        if opacity.min() < 1.0:
            # On white paper; ink drawn in white on a transparent sheet goes on black instead.
            paper = top if np.issubdtype(a.dtype, np.integer) else float(grey.max())
            on_white = grey * opacity + paper * (1.0 - opacity)
            grey = on_white if np.ptp(on_white) > 0 else grey * opacity
    return grey


def mnist_input(source, name=None):
    """One image as MNIST's 28x28 uint8 pixels (see the module docstring for the steps).

    Parameters
    ----------
    source : str, os.PathLike, PIL.Image.Image or array_like
        A file, a Pillow image, or pixels of shape (rows, cols), (rows, cols, 3) or
        (rows, cols, 4), of any range: only the contrast between ink and paper counts.
    name : str, optional
        What to call it in errors (default: the path).

    Returns
    -------
    ndarray of uint8, shape (28, 28)

    Raises
    ------
    ImageError
        Naming the image: not an image, empty, damaged, smaller than 8x8, or blank.
    """
    from PIL import Image

    name = name or _name(source, 0)
    grey = read_grey(source, name)
    border = np.concatenate((grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]))
    paper, lo, hi = float(np.median(border)), float(grey.min()), float(grey.max())
    ink = (paper - grey) if paper > (lo + hi) / 2 else (grey - paper)
    ink = np.clip(ink, 0.0, None)
    strongest = float(ink.max())
    if not strongest > 1e-9 * max(1.0, abs(hi), abs(lo)):
        raise ImageError(f"{name}: is blank (one flat level {lo:g}): there is no ink to read")
    ink /= strongest
    ink[ink < NOISE] = 0.0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    patch = np.asarray(Image.fromarray(ink.astype(np.float32)).resize(
        size, Image.Resampling.LANCZOS), dtype=np.float64)
    patch = np.clip(patch, 0.0, None)  # Lanczos rings below zero next to sharp edges
    patch /= patch.max() or 1.0
    mass = patch.sum()
    ys, xs = np.indices(patch.shape)
    cy, cx = (ys * patch).sum() / mass, (xs * patch).sum() / mass
    top = int(np.clip(round(CENTRE[0] - cy), 0, SIDE - patch.shape[0]))
    left = int(np.clip(round(CENTRE[1] - cx), 0, SIDE - patch.shape[1]))
    out = np.zeros((SIDE, SIDE), np.float64)
    out[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
    return np.round(out * 255.0).astype(np.uint8)


def check_network(network):
    """Raise ``ValueError`` unless ``network`` takes 28x28 images (784 inputs)."""
    if network.input_size != SIDE * SIDE:
        raise ValueError(f"the network takes {network.input_size} inputs, but images are "
                         f"prepared as {SIDE}x{SIDE} = {SIDE * SIDE} pixels (MNIST's size): "
                         "this model cannot read images")


def class_names_of(network, class_names=None):
    """``class_names``, else the network's (from its metadata), else ``"0" .. "9"``."""
    return list(class_names or network.metadata.get("class_names")
                or [str(k) for k in range(network.output_size)])


def predict_images(network, images, class_names=None):
    """:meth:`TwoLayerNet.predict_images`: prepare each image, then predict them together."""
    check_network(network)
    if isinstance(images, (str, os.PathLike)) or (
            isinstance(images, np.ndarray) and images.ndim == 2):
        images = [images]  # one image, not a sequence of rows
    images = list(images)
    if not images:
        raise ValueError("images is empty: give at least one file name or array")
    names = class_names_of(network, class_names)
    if len(names) != network.output_size:
        raise ValueError(f"the network has {network.output_size} outputs but "
                         f"{len(names)} class names were given")
    sources = [_name(image, k) for k, image in enumerate(images)]
    inputs = np.stack([mnist_input(image, name) for image, name in zip(images, sources)])
    return predict_inputs(network, inputs, sources, names)


def predict_inputs(network, inputs, sources, class_names):
    """Predictions of prepared inputs (uint8, shape (n_images, 28, 28), as :func:`mnist_input`
    makes them), scaled by 1/255 exactly as training scales MNIST's pixels."""
    from .backends.interface import pixel_table

    X = pixel_table(network.dtype)[inputs.reshape(len(inputs), -1)]
    probabilities = network.predict(X)
    labels = network.predict_labels(X)
    return ImagePredictions(sources=list(sources), labels=labels,
                            names=[class_names[k] for k in labels],
                            probabilities=probabilities, inputs=inputs,
                            class_names=list(class_names))
