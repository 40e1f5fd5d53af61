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
from fastnn._memory import check_fits

__all__ = ["DTYPE_CODES", "MAX_BYTES", "read_idx", "write_idx"]

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


#: The most data ``read_idx`` reads by default (MNIST's largest file holds 47 MB).
MAX_BYTES = 1 << 30
_CHUNK = 1 << 20


def _name_of(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", repr(source)))


class _Prefixed:
    """``raw`` with ``head`` (bytes already read from it) put back in front."""

    def __init__(self, head, raw):
        self.head, self.raw = head, raw

    def read(self, n=-1):
        if not self.head:
            return self.raw.read(n)
        if n is None or n < 0:
            out, self.head = self.head + self.raw.read(), b""
            return out
        out, self.head = self.head[:n], self.head[n:]
        return out + (self.raw.read(n - len(out)) if len(out) < n else b"")


class _Stream:
    """Reads an IDX file piece by piece, through gzip when it is compressed, so that a file
    holding more than its header declares (a gzip bomb) costs no more than that to refuse."""

    def __init__(self, fh, name):
        self.name = name
        head = fh.read(2)
        if not isinstance(head, (bytes, bytearray)):
            raise TypeError(f"{name}: read() returned {type(head).__name__}, expected bytes; "
                            "open the file in binary mode ('rb')")
        raw = _Prefixed(bytes(head), fh)
        self.gzip = head == _GZIP_MAGIC
        self.source = gzip.GzipFile(fileobj=raw, mode="rb") if self.gzip else raw

    def read(self, n):
        """Up to ``n`` bytes (fewer only at the end of the data)."""
        parts, left = [], n
        try:
            while left > 0:
                part = self.source.read(min(left, _CHUNK))
                if not part:
                    break
                parts.append(part)
                left -= len(part)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{self.name}: not a valid gzip stream ({exc}); the file is "
                             "probably truncated or corrupted") from None
        return b"".join(parts)


def read_idx(path_or_fileobj: str | os.PathLike | BinaryIO, *,
             max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path_or_fileobj : str, os.PathLike or binary file object
        The file to read (``~`` is expanded). Gzip compression is recognised from the
        content, so a ``.gz`` file and its decompressed twin read the same way.
    max_bytes : int, default 1 GiB
        Refuse a header that declares more data than this (or than the memory available).
        The data are read, and decompressed, piece by piece: never more than the header
        declares.

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
        If the header is malformed (bad magic, unknown dtype code, zero dimensions), declares
        too much data, or the data length does not match the header; the message names the
        file, what was found and what was expected.
    TypeError
        If ``path_or_fileobj`` is neither a path nor a binary file object.
    FileNotFoundError
        If there is no such file.
    """
    if isinstance(path_or_fileobj, (str, os.PathLike)):
        path = os.path.expanduser(os.fspath(path_or_fileobj))
        with open(path, "rb") as fh:
            return _read(_Stream(fh, path), max_bytes)
    if not callable(getattr(path_or_fileobj, "read", None)):
        raise TypeError(f"read_idx: expected a path or a binary file object, got "
                        f"{type(path_or_fileobj).__name__}")
    return _read(_Stream(path_or_fileobj, _name_of(path_or_fileobj)), max_bytes)


def _read(stream, max_bytes):
    name = stream.name
    magic_bytes = stream.read(4)
    if len(magic_bytes) < 4:
        raise ValueError(f"{name}: file is {len(magic_bytes)} bytes long, expected at least a "
                         "4-byte IDX magic number")
    zero, code, ndim = magic_bytes[:2], magic_bytes[2], magic_bytes[3]
    magic = int.from_bytes(magic_bytes, "big")
    if zero != b"\x00\x00" or code not in DTYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in DTYPE_CODES)
        raise ValueError(f"{name}: bad IDX magic number 0x{magic:08X}; expected 0x0000TTNN with "
                         f"dtype code TT in ({known}), e.g. 0x00000803 for MNIST images or "
                         "0x00000801 for labels")
    if ndim == 0:
        raise ValueError(f"{name}: IDX magic number 0x{magic:08X} declares 0 dimensions, "
                         "expected at least 1")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{name}: file is {4 + len(dims)} bytes long, expected at least "
                         f"{4 + 4 * ndim} bytes for an IDX header with {ndim} dimensions")
    shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    dtype = DTYPE_CODES[code]
    expected = prod(shape) * dtype.itemsize
    if expected > max_bytes:
        raise ValueError(f"{name}: IDX header declares shape {shape} of {dtype.name}, "
                         f"{expected:,} bytes, more than max_bytes={max_bytes:,}")
    check_fits(expected, f"{name} (shape {shape} of {dtype.name})")
    data = stream.read(expected)
    extra = len(stream.read(_CHUNK)) if len(data) == expected else 0  # counted, up to a bound
    if len(data) != expected or extra:
        found = (f"{len(data) + extra}" if extra < _CHUNK
                 else f"more than {expected + extra:,} (it was not read to its end)")
        raise ValueError(f"{name}: IDX header declares shape {shape} of {dtype.name} "
                         f"({expected} data bytes) but the file holds {found} data bytes; "
                         "the file is truncated or corrupted")
    # frombuffer over bytes is read-only and big-endian; the copy fixes both.
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


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
