"""MNIST, bundled with fastnn, plus loaders for IDX directories such as Fashion-MNIST.

The bundled ``fastnn/data/mnist.npz`` uses the Keras layout (keys ``x_train``, ``y_train``,
``x_test``, ``y_test``). Its per-array SHA-256 hashes are checked the first time it is read
in a process; the arrays are then cached read-only so every later call is free.

MNIST database: LeCun, Cortes and Burges, licensed CC BY-SA 3.0 (see ``fastnn/data/README.md``).
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from pathlib import Path

import numpy as np

from fastnn.datasets.idx import read_idx

__all__ = [
    "BUNDLED_PATH",
    "DataIntegrityError",
    "DATA_DIR_VAR",
    "FASHION_MNIST_DIR",
    "IDX_FILES",
    "KEYS",
    "MNIST_SHA256",
    "array_sha256",
    "clear_cache",
    "find_fashion_mnist",
    "load_arrays",
    "load_data",
    "load_fashion_mnist",
    "load_idx_dir",
    "load_mnist",
    "read_npz",
]

#: The npz file shipped inside the package.
BUNDLED_PATH = Path(__file__).resolve().parent.parent / "data" / "mnist.npz"

#: SHA-256 of ``np.ascontiguousarray(a).tobytes()`` for each array of the bundled file, as
#: published in ``fastnn/data/README.md``.
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}

KEYS = ("x_train", "y_train", "x_test", "y_test")

#: Canonical IDX file names, in the order of ``KEYS``.
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: Where Debian's ``dataset-fashion-mnist`` package installs the Fashion-MNIST IDX files.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

_IMAGE_SHAPE = (28, 28)
_FIX_HINT = ("Reinstall fastnn (pip install --force-reinstall fastnn) or rebuild the file with "
             "scripts/build_mnist.py.")

_lock = threading.Lock()
_raw_cache: dict[str, np.ndarray] | None = None
_arrays_cache: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


class DataIntegrityError(ValueError):
    """The bundled data file does not match its published SHA-256 hashes."""


def array_sha256(a: np.ndarray) -> str:
    """Return the hex SHA-256 of ``np.ascontiguousarray(a).tobytes()`` without copying twice.

    Parameters
    ----------
    a : numpy.ndarray, any shape

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    return hashlib.sha256(memoryview(np.ascontiguousarray(a)).cast("B")).hexdigest()


def clear_cache() -> None:
    """Forget the cached bundled arrays, so the next load reads and verifies the file again."""
    global _raw_cache, _arrays_cache
    with _lock:
        _raw_cache = None
        _arrays_cache = None


def _check_layout(arrays: dict[str, np.ndarray], name: str) -> None:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != _IMAGE_SHAPE:
            raise ValueError(f"{name}: x_{split} is {x.dtype} of shape {x.shape}, expected "
                             "uint8 of shape (N, 28, 28)")
        if y.dtype != np.uint8 or y.shape != (x.shape[0],):
            raise ValueError(f"{name}: y_{split} is {y.dtype} of shape {y.shape}, expected "
                             f"uint8 of shape ({x.shape[0]},) to match x_{split}")


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an npz in the Keras MNIST layout, checking keys, shapes and dtypes but not hashes.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict of str to numpy.ndarray
        Fresh uint8 arrays ``x_train`` (N, 28, 28), ``y_train`` (N,), ``x_test`` (M, 28, 28),
        ``y_test`` (M,).

    Raises
    ------
    ValueError
        If the file is not an npz or its keys, shapes or dtypes differ from that layout.
    FileNotFoundError
        If the file does not exist.
    """
    name = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{name}: cannot read as an npz archive ({exc})") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{name}: holds a single .npy array, expected an npz archive with "
                         f"keys {', '.join(KEYS)}")
    with archive:
        missing = [k for k in KEYS if k not in archive.files]
        if missing:
            raise ValueError(f"{name}: missing keys {missing}; found {sorted(archive.files)}, "
                             f"expected {list(KEYS)} (the Keras mnist.npz layout)")
        try:
            arrays = {k: archive[k] for k in KEYS}
        except Exception as exc:  # zlib/zipfile errors from a damaged member
            raise ValueError(f"{name}: cannot decode an array ({exc})") from exc
    _check_layout(arrays, name)
    return arrays


def _verify(arrays: dict[str, np.ndarray], name: str) -> None:
    for key in KEYS:
        got = array_sha256(arrays[key])
        if got != MNIST_SHA256[key]:
            raise DataIntegrityError(
                f"The bundled MNIST file {name} is corrupted: array {key!r} has SHA-256 {got}, "
                f"expected {MNIST_SHA256[key]}. {_FIX_HINT}")


def _bundled() -> dict[str, np.ndarray]:
    """The bundled arrays, read and verified once per process, read-only."""
    global _raw_cache
    with _lock:
        if _raw_cache is None:
            name = os.fspath(BUNDLED_PATH)
            try:
                arrays = read_npz(BUNDLED_PATH)
            except FileNotFoundError as exc:
                raise FileNotFoundError(f"The bundled MNIST file {name} is missing. "
                                        f"{_FIX_HINT}") from exc
            except ValueError as exc:
                raise DataIntegrityError(f"The bundled MNIST file {name} is corrupted: {exc}. "
                                         f"{_FIX_HINT}") from exc
            _verify(arrays, name)
            for a in arrays.values():
                _make_read_only(a)
            _raw_cache = arrays
        return _raw_cache


def _make_read_only(a: np.ndarray) -> None:
    """``a`` and every array it views become read-only, so nothing can change the cache."""
    while isinstance(a, np.ndarray):
        a.flags.writeable = False
        a = a.base


def _is_bundled(path: str | os.PathLike) -> bool:
    try:
        return Path(path).resolve() == Path(BUNDLED_PATH).resolve()
    except OSError:
        return False


def load_data(path: str | os.PathLike | None = None):
    """Load MNIST as ``keras.datasets.mnist.load_data()`` does.

    Parameters
    ----------
    path : str, os.PathLike or None, default None
        ``None`` reads the bundled file (its hashes are verified). Another path must be an npz
        in the Keras layout (e.g. ``~/.keras/datasets/mnist.npz``); only its keys, shapes and
        dtypes are checked, so a subset or a different digit set also loads.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        Fresh writable uint8 arrays: ``x_train`` (60000, 28, 28), ``y_train`` (60000,),
        ``x_test`` (10000, 28, 28), ``y_test`` (10000,) for MNIST.

    Raises
    ------
    DataIntegrityError
        If the bundled file's arrays do not match ``MNIST_SHA256``.
    ValueError
        If a user file is not an npz with the Keras keys, shapes and dtypes.
    FileNotFoundError
        If the file does not exist.
    """
    if path is not None:
        path = os.path.expanduser(os.fspath(path))
    if path is None or _is_bundled(path):
        arrays = {k: a.copy() for k, a in _bundled().items()}
    else:
        arrays = read_npz(path)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_arrays():
    """Return the bundled MNIST arrays flattened for training, cached and read-only.

    Returns
    -------
    x_train : numpy.ndarray, shape (60000, 784), uint8, C-contiguous
    y_train : numpy.ndarray, shape (60000,), int64
    x_test : numpy.ndarray, shape (10000, 784), uint8, C-contiguous
    y_test : numpy.ndarray, shape (10000,), int64
        The same objects on every call (``flags.writeable`` is False); copy before modifying.
    """
    global _arrays_cache
    raw = _bundled()
    with _lock:
        if _arrays_cache is None:
            out = []
            for split in ("train", "test"):
                # A reshape of the read-only contiguous cache is a read-only view: no copy.
                x = raw[f"x_{split}"].reshape(-1, _IMAGE_SHAPE[0] * _IMAGE_SHAPE[1])
                y = raw[f"y_{split}"].astype(np.int64)
                y.flags.writeable = False
                out += [x, y]
            _arrays_cache = tuple(out)
        return _arrays_cache


def _require_bool(name: str, value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"load_mnist: {name} must be a bool (True or False), "
                    f"got {value!r} of type {type(value).__name__}")


def load_mnist(normalize=True, flatten=True, one_hot_label=False):
    """Load MNIST as the "Deep Learning from Scratch" book's ``dataset/mnist.py`` does.

    Parameters
    ----------
    normalize : bool, default True
        Scale pixels to float32 in [0, 1] (``x.astype(np.float32); x /= 255.0``); if False keep
        uint8 in [0, 255].
    flatten : bool, default True
        Images as rows of 784 pixels; if False as (N, 1, 28, 28).
    one_hot_label : bool, default False
        Labels as float64 one-hot rows of 10 (1.0 at the label); if False as uint8 digits.

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        ``x_*``: (N, 784) or (N, 1, 28, 28), float32 or uint8; ``t_*``: (N,) uint8 or (N, 10)
        float64; N is 60000 for train and 10000 for test. Fresh arrays the caller may modify.

    Raises
    ------
    TypeError
        If an argument is not a bool.
    """
    normalize = _require_bool("normalize", normalize)
    flatten = _require_bool("flatten", flatten)
    one_hot_label = _require_bool("one_hot_label", one_hot_label)
    raw = _bundled()
    out = []
    for split in ("train", "test"):
        x = raw[f"x_{split}"]
        if normalize:
            x = x.astype(np.float32)
            x /= 255.0
        else:
            x = x.copy()
        x = x.reshape(-1, 784) if flatten else x.reshape(-1, 1, *_IMAGE_SHAPE)
        labels = raw[f"y_{split}"]
        if one_hot_label:
            t = np.zeros((labels.size, 10))
            t[np.arange(labels.size), labels] = 1.0
        else:
            t = labels.copy()
        out.append((x, t))
    return tuple(out)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_idx_dir(directory: str | os.PathLike):
    """Load the four canonical IDX files of an MNIST-like data set from ``directory``.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally ``.gz``
        (the uncompressed file wins when both exist).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 arrays: ``x_*`` (N, rows, cols), ``y_*`` (N,), as ``load_data`` returns.

    Raises
    ------
    FileNotFoundError
        If the directory or any of the four files is missing (the message lists which).
    ValueError
        If a file is not valid IDX or images and labels do not fit together.
    """
    directory = Path(os.path.expanduser(os.fspath(directory)))
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory")
    paths = {stem: _find_idx(directory, stem) for stem in IDX_FILES}
    missing = [stem for stem, p in paths.items() if p is None]
    if missing:
        raise FileNotFoundError(f"{directory}: missing {', '.join(missing)} (plain or .gz)")
    arrays = {key: read_idx(paths[stem]) for key, stem in zip(KEYS, IDX_FILES, strict=True)}
    for split, (img_stem, lbl_stem) in (("train", IDX_FILES[:2]), ("test", IDX_FILES[2:])):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3:
            raise ValueError(f"{paths[img_stem]}: images are {x.dtype} of shape {x.shape}, "
                             "expected uint8 of shape (N, rows, cols)")
        if y.dtype != np.uint8 or y.shape != (x.shape[0],):
            raise ValueError(f"{paths[lbl_stem]}: labels are {y.dtype} of shape {y.shape}, "
                             f"expected uint8 of shape ({x.shape[0]},) to match "
                             f"{paths[img_stem].name}")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


#: Environment variable naming a folder of data sets (Fashion-MNIST in ``fashion-mnist/`` or in
#: the folder itself).
DATA_DIR_VAR = "FASTNN_DATA_DIR"
_FASHION_HINT = (
    "Get it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or download "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
    "t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist into "
    f"${DATA_DIR_VAR}/fashion-mnist/")


def find_fashion_mnist() -> Path:
    """The folder holding Fashion-MNIST's four IDX files: ``$FASTNN_DATA_DIR/fashion-mnist``,
    then ``$FASTNN_DATA_DIR``, then Debian's ``/usr/share/datasets/fashion-mnist``.

    Raises
    ------
    FileNotFoundError
        Saying where it looked and how to get the files.
    """
    root = os.environ.get(DATA_DIR_VAR, "").strip()
    candidates = ([Path(os.path.expanduser(root)) / "fashion-mnist",
                   Path(os.path.expanduser(root))] if root else []) + [Path(FASHION_MNIST_DIR)]
    for directory in candidates:
        if directory.is_dir() and all(_find_idx(directory, stem) for stem in IDX_FILES):
            return directory
    looked = ", ".join(map(str, candidates)) + ("" if root else f" (${DATA_DIR_VAR} is not set)")
    raise FileNotFoundError(f"Fashion-MNIST not found: looked in {looked}. {_FASHION_HINT}.")


def load_fashion_mnist(directory: str | os.PathLike | None = None):
    """Load Zalando's Fashion-MNIST from its four IDX files.

    Parameters
    ----------
    directory : str or os.PathLike, optional
        The folder holding them; by default :func:`find_fashion_mnist` looks in
        ``$FASTNN_DATA_DIR/fashion-mnist``, ``$FASTNN_DATA_DIR`` and
        ``/usr/share/datasets/fashion-mnist`` (where ``apt-get install dataset-fashion-mnist``
        puts the ``.gz`` files).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        uint8 arrays of shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    Raises
    ------
    FileNotFoundError
        If the files are absent; the message says how to get them.
    """
    if directory is None:
        directory = find_fashion_mnist()
    try:
        return load_idx_dir(directory)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"Fashion-MNIST not found: {exc}. {_FASHION_HINT}, or pass "
                                "the directory holding the four IDX files.") from exc
