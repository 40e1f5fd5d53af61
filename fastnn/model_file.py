"""Model files: a trained network and what it is, in one ``.npz`` that NumPy reads as it is.

The file holds the four parameter arrays ``W1 b1 W2 b2`` and ``meta``, a JSON text (a 0-d
string array, so ``np.load(path, allow_pickle=False)`` reads everything) with:

``format``, ``format_version``
    ``"fastnn-model"``, 1.
``fastnn_version``
    The version that wrote the file.
``input_size``, ``hidden_size``, ``output_size``, ``activation``, ``dtype``
    The network.
``sha256``
    SHA-256 of each parameter's bytes: a file changed after it was written is refused.
``config``, ``dataset``, ``class_names``, ``image_shape``, ``test_accuracy``, ``iterations``
    How it was trained, when it was (``null`` for a network that was not made by ``train()``).

Files written by fastnn 0.1 (the four arrays plus ``activation`` and ``dtype``) still load.
"""

from __future__ import annotations

import hashlib
import json
import os
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._io import atomic_write
from ._memory import check_fits
from .backends.interface import ACTIVATIONS, DTYPES, PARAM_NAMES

__all__ = ["ModelFileError", "FORMAT", "FORMAT_VERSION", "write_model", "read_model",
           "read_meta"]

FORMAT, FORMAT_VERSION = "fastnn-model", 1
#: The largest ``meta`` text we read (a real one is a few kB).
MAX_META_BYTES = 1 << 20
#: What train() records about how a network was made (None when it was not).
TRAINING_KEYS = ("config", "dataset", "class_names", "image_shape", "test_accuracy",
                 "iterations")


class ModelFileError(ValueError):
    """A model file cannot be read: damaged, changed, or not a fastnn model (the message names
    the file and what is wrong)."""


def _sha256(a):
    return hashlib.sha256(memoryview(np.ascontiguousarray(a)).cast("B")).hexdigest()


def write_model(path, params, meta):
    """Write ``params`` (``W1 b1 W2 b2``) and ``meta`` (a dict, JSON-compatible) atomically."""
    from . import __version__

    meta = dict(format=FORMAT, format_version=FORMAT_VERSION, fastnn_version=__version__,
                **meta, sha256={key: _sha256(params[key]) for key in PARAM_NAMES})
    text = json.dumps(meta, indent=1)
    with atomic_write(path) as fh:
        np.savez(fh, meta=np.array(text), **{key: params[key] for key in PARAM_NAMES})
    return Path(path)


def _fail(path, what):
    raise ModelFileError(f"{os.fspath(path)}: {what}")


def _member(archive, name, path):
    """``(shape, dtype)`` from an ``.npy`` member's header, without reading its data."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0,
               (2, 0): np.lib.format.read_array_header_2_0}
    try:
        with archive.open(f"{name}.npy") as fh:
            version = np.lib.format.read_magic(fh)
            if version not in readers:
                _fail(path, f"{name} is in .npy format {version}, expected 1.0 or 2.0")
            shape, fortran, dtype = readers[version](fh)
    except KeyError:
        _fail(path, f"no array {name!r}; it holds {_names(archive)}")
    if fortran or dtype.hasobject:
        _fail(path, f"{name} is {'a Fortran-ordered' if fortran else 'an object'} array")
    return shape, dtype


def _names(archive):
    return ", ".join(n.removesuffix(".npy") for n in archive.namelist()) or "nothing"


def _read(archive, name, path):
    with archive.open(f"{name}.npy") as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def read_meta(path):
    """The ``meta`` dict of a model file (for ``fastnn info MODEL``), checked but without the
    parameters."""
    return read_model(path, params=False)[1]


def read_model(path, *, params=True):
    """Read and check a model file.

    Returns
    -------
    (params, meta)
        ``params``: dict ``W1 b1 W2 b2`` of arrays (None with ``params=False``); ``meta``: the
        dict described in the module docstring (for an old file, with the training keys None).

    Raises
    ------
    ModelFileError
        Naming the file: not a zip/npz, a damaged member, a missing array, shapes or dtypes
        that do not fit the recorded sizes, values changed after saving, non-finite weights.
    FileNotFoundError
        If there is no such file.
    """
    path = Path(os.path.expanduser(os.fspath(path)))
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    if path.is_dir():
        _fail(path, "is a directory, not a model file")
    try:
        with zipfile.ZipFile(path) as archive:
            meta = _meta(archive, path)
            shapes = {"W1": (meta["input_size"], meta["hidden_size"]),
                      "b1": (meta["hidden_size"],),
                      "W2": (meta["hidden_size"], meta["output_size"]),
                      "b2": (meta["output_size"],)}
            dtype = np.dtype(meta["dtype"])
            try:
                check_fits(sum(int(np.prod(s)) for s in shapes.values()) * dtype.itemsize,
                           "the network it describes")
            except ValueError as exc:
                _fail(path, str(exc))
            for key, want in shapes.items():
                shape, got = _member(archive, key, path)
                if shape != want or got.newbyteorder("=") != dtype:
                    _fail(path, f"{key} is {got} of shape {shape}, but the file describes "
                          f"{dtype} of shape {want}")
            if not params:
                return None, meta
            arrays = {key: _read(archive, key, path) for key in PARAM_NAMES}
    except zipfile.BadZipFile as exc:
        _fail(path, f"not a fastnn model file (not an npz/zip archive: {exc})")
    # A damaged .npy header can make NumPy's header parser raise tokenize's TokenError (not a
    # ValueError) when it falls back to re-tokenising the text.
    except (zlib.error, EOFError, OSError, ValueError, SyntaxError, tokenize.TokenError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        _fail(path, f"damaged ({type(exc).__name__}: {exc})")
    for key, a in arrays.items():
        if meta.get("sha256") and _sha256(a) != meta["sha256"].get(key):
            _fail(path, f"{key} does not match the checksum recorded when the file was saved "
                  "(the file was changed or damaged)")
        if not np.isfinite(a).all():
            _fail(path, f"{key} holds NaN or infinite values")
    return {key: np.ascontiguousarray(a, dtype=dtype) for key, a in arrays.items()}, meta


def _meta(archive, path):
    names = {n.removesuffix(".npy") for n in archive.namelist()}
    if "meta" not in names:
        if {"activation", "dtype"} <= names:  # a fastnn 0.1 file
            return _old_meta(archive, path)
        _fail(path, f"not a fastnn model file (no 'meta' array; it holds {_names(archive)})")
    shape, dtype = _member(archive, "meta", path)
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_META_BYTES:
        _fail(path, f"'meta' is {dtype} of shape {shape}, expected a JSON text")
    try:
        meta = json.loads(str(_read(archive, "meta", path)))
    except json.JSONDecodeError as exc:
        _fail(path, f"'meta' is not valid JSON ({exc})")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        _fail(path, "not a fastnn model file ('meta' does not say format 'fastnn-model')")
    if meta.get("format_version") != FORMAT_VERSION:
        _fail(path, f"written in model format {meta.get('format_version')!r}; this fastnn "
              f"reads format {FORMAT_VERSION} (upgrade fastnn)")
    _check_meta(meta, path)
    return meta


def _old_meta(archive, path):
    shape, _ = _member(archive, "W1", path)
    w2, _ = _member(archive, "W2", path)
    if len(shape) != 2 or len(w2) != 2:
        _fail(path, f"W1 and W2 must be 2-d, got shapes {shape} and {w2}")
    meta = dict(format=FORMAT, format_version=0, fastnn_version="0.1.0",
                input_size=int(shape[0]), hidden_size=int(shape[1]), output_size=int(w2[1]),
                activation=str(_read(archive, "activation", path)),
                dtype=str(_read(archive, "dtype", path)), sha256=None,
                **dict.fromkeys(TRAINING_KEYS))
    _check_meta(meta, path)
    return meta


def _check_meta(meta, path):
    for key in ("input_size", "hidden_size", "output_size"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            _fail(path, f"{key} must be a positive integer, got {value!r}")
    if meta.get("activation") not in ACTIVATIONS:
        _fail(path, f"activation {meta.get('activation')!r} is not one of {ACTIVATIONS}")
    if meta.get("dtype") not in DTYPES:
        _fail(path, f"dtype {meta.get('dtype')!r} is not one of {DTYPES}")
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list) or len(names) != meta["output_size"]
                              or not all(isinstance(n, str) for n in names)):
        _fail(path, f"class_names must be {meta['output_size']} strings, got {names!r}")
