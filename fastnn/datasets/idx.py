"""Read and write IDX files, the format of the original MNIST distribution.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim``
big-endian uint32 dimension sizes, then the data in C order, big-endian. MNIST images are
``0x00000803`` (ubyte, 3 dims) and labels ``0x00000801`` (ubyte, 1 dim). Files ending in ``.gz``
are the usual way the format is shipped; gzip is detected from the content when reading.
"""

from __future__ import annotations

import gzip
import os
import zlib
from math import prod
from typing import BinaryIO

import numpy as np

from fastnn._io import atomic_write

__all__ = ["DTYPE_CODES", "read_idx", "write_idx"]

#: IDX dtype code -> big-endian NumPy dtype, as listed in the format's description.
DTYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_ACCEPTED = "uint8, int8, int16, int32, float32, float64"


def _name_of(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", repr(source)))


def _read_raw(source: str | os.PathLike | BinaryIO, name: str) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            raw = fh.read()
    else:
        raw = source.read()
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError(f"{name}: read() returned {type(raw).__name__}, expected bytes; "
                            "open the file in binary mode ('rb')")
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{name}: not a valid gzip stream ({exc}); "
                             "the file is probably truncated or corrupted") from exc
    return bytes(raw)


def read_idx(path_or_fileobj: str | os.PathLike | BinaryIO) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path_or_fileobj : str, os.PathLike or binary file object
        The file to read. Gzip compression is recognised from the content, so a ``.gz``
        file and its decompressed twin read the same way.

    Returns
    -------
    numpy.ndarray
        A writable array of shape ``(d0, d1, ..., d{ndim-1})`` as given in the header, in
        native byte order, with the dtype named by the header's dtype code (uint8, int8,
        int16, int32, float32 or float64). MNIST images give ``(N, 28, 28)`` uint8, labels
        ``(N,)`` uint8.

    Raises
    ------
    ValueError
        If the header is malformed (bad magic, unknown dtype code, zero dimensions) or the
        data length does not match the header; the message names the file, what was found
        and what was expected.
    """
    name = _name_of(path_or_fileobj)
    raw = _read_raw(path_or_fileobj, name)
    if len(raw) < 4:
        raise ValueError(f"{name}: file is {len(raw)} bytes long, expected at least a 4-byte "
                         "IDX magic number")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if zero != b"\x00\x00" or code not in DTYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in DTYPE_CODES)
        raise ValueError(f"{name}: bad IDX magic number 0x{magic:08X}; expected 0x0000TTNN with "
                         f"dtype code TT in ({known}), e.g. 0x00000803 for MNIST images or "
                         "0x00000801 for labels")
    if ndim == 0:
        raise ValueError(f"{name}: IDX magic number 0x{magic:08X} declares 0 dimensions, "
                         "expected at least 1")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(f"{name}: file is {len(raw)} bytes long, expected at least "
                         f"{header_len} bytes for an IDX header with {ndim} dimensions")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = DTYPE_CODES[code]
    expected = prod(shape) * dtype.itemsize
    found = len(raw) - header_len
    if found != expected:
        raise ValueError(f"{name}: IDX header declares shape {shape} of {dtype.name} "
                         f"({expected} data bytes) but the file holds {found} data bytes; "
                         "the file is truncated or corrupted")
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    # frombuffer over bytes is read-only and big-endian; the copy fixes both.
    return data.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | os.PathLike, array: np.ndarray, compresslevel: int = 6) -> None:
    """Write ``array`` as an IDX file, atomically; gzip-compressed if ``path`` ends in ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination. It is replaced only once the new file is completely written.
    array : array_like, shape (d0, ..., d{ndim-1})
        At least 1 and at most 255 dimensions, each below 2**32, of dtype uint8, int8, int16,
        int32, float32 or float64 (any byte order; stored big-endian).
    compresslevel : int, default 6
        Gzip level for ``.gz`` paths; 6 is much faster than 9 on 47 MB for almost the same size.

    Raises
    ------
    TypeError
        If the dtype has no IDX code.
    ValueError
        If the number or size of the dimensions cannot be stored in an IDX header.
    """
    arr = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in DTYPE_CODES.items()}
    native = arr.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(f"write_idx: dtype {arr.dtype} has no IDX code; accepted: {_ACCEPTED}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"write_idx: array has {arr.ndim} dimensions, IDX stores 1 to 255")
    if any(d >= 2**32 for d in arr.shape):
        raise ValueError(f"write_idx: shape {arr.shape} has a dimension >= 2**32")
    code = codes[native]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in arr.shape)
    data = np.ascontiguousarray(arr, dtype=DTYPE_CODES[code]).tobytes()
    with atomic_write(path, make_parents=False) as fh:
        if os.fspath(path).endswith(".gz"):
            # mtime=0 makes the output reproducible; filename keeps the temporary name out
            # of the gzip header.
            name = os.path.basename(os.fspath(path))
            with gzip.GzipFile(filename=name, fileobj=fh, mode="wb",
                               compresslevel=compresslevel, mtime=0) as gz:
                gz.write(header)
                gz.write(data)
        else:
            fh.write(header)
            fh.write(data)
