"""Model files: what they hold, that they come back bit for bit, and every damage refused."""

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import ModelFileError, TwoLayerNet, load_model
from fastnn.model_file import read_meta


@pytest.fixture(scope="module")
def trained():
    return fastnn.train(backend="numpy", iters=30, batch_size=64, hidden_size=16,
                        activation="sigmoid", dtype="float32", seed=3)


def test_round_trip_is_bit_for_bit_with_every_field(trained, tmp_path):
    path = trained.network.save(tmp_path / "m.npz")
    back = load_model(path, backend="numpy")
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(back.params[key], trained.network.params[key])
        assert back.params[key].dtype == np.float32
    assert (back.input_size, back.hidden_size, back.output_size) == (784, 16, 10)
    assert back.activation == "sigmoid" and back.dtype == np.float32
    meta = back.metadata
    assert meta["config"] == trained.config.to_dict()
    assert fastnn.TrainConfig.from_dict(meta["config"]) == trained.config
    assert meta["dataset"] == "mnist" and meta["class_names"] == list("0123456789")
    assert meta["image_shape"] == [28, 28] and meta["iterations"] == 30
    assert meta["test_accuracy"] == trained.test_accuracy
    x = np.random.default_rng(0).random((5, 784))
    np.testing.assert_array_equal(back.predict(x), trained.network.predict(x))


def test_numpy_reads_it_without_pickle(trained, tmp_path):
    path = trained.network.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["W1", "W2", "b1", "b2", "meta"]
        meta = json.loads(str(f["meta"]))
        np.testing.assert_array_equal(f["W1"], trained.network.params["W1"])
    assert meta["format"] == "fastnn-model" and meta["fastnn_version"] == fastnn.__version__
    assert meta["hidden_size"] == 16 and meta["dtype"] == "float32"
    assert read_meta(path)["test_accuracy"] == trained.test_accuracy


def test_a_file_of_the_first_version_still_loads(tmp_path):
    net = TwoLayerNet(784, 8, 10, backend="numpy", seed=0, activation="sigmoid")
    path = tmp_path / "old.npz"
    np.savez(path, **net.params, activation="sigmoid", dtype="float64")  # what 0.1 wrote
    back = load_model(path, backend="numpy")
    assert back.activation == "sigmoid" and back.metadata["config"] is None
    np.testing.assert_array_equal(back.params["W2"], net.params["W2"])


def _rewrite(path, out, change):
    """Copy the npz at ``path`` to ``out`` with ``change(name, data) -> data`` per member."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = change(name, src.read(name))
            if data is not None:
                dst.writestr(name, data)
    return out


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


@pytest.fixture
def saved(tmp_path):
    return TwoLayerNet(784, 8, 10, backend="numpy", seed=0).save(tmp_path / "good.npz")


def _meta_with(path, **changes):
    meta = read_meta(path)
    meta.update(changes)
    return _npy(np.array(json.dumps(meta)))


@pytest.mark.parametrize("damage, message", [
    ("empty", "not a fastnn model file"),
    ("text", "not a fastnn model file"),
    ("truncated", "not a fastnn model file"),
    ("flipped", "damaged|checksum"),
    ("no W2", "no array 'W2'"),
    ("wrong shape", "W1 is float64 of shape \\(784, 7\\)"),
    ("tampered", "does not match the checksum"),
    ("meta not json", "'meta' is not valid JSON"),
    ("other format", "does not say format 'fastnn-model'"),
    ("future format", "model format 2"),
    ("bad activation", "activation 'tanh'"),
    ("huge sizes", "needs about .* of memory"),
    ("pickled", "object array"),
    ("nan weights", "checksum|NaN"),
    ("unrelated npz", "not a fastnn model file \\(no 'meta'"),
    ("garbled header", "damaged"),
])
def test_damaged_files_are_refused_naming_the_file(saved, tmp_path, damage, message):
    out = tmp_path / f"{damage.replace(' ', '_')}.npz"
    good = saved.read_bytes()
    if damage == "empty":
        out.write_bytes(b"")
    elif damage == "text":
        out.write_text("weights: 1 2 3")
    elif damage == "truncated":
        out.write_bytes(good[: len(good) // 2])
    elif damage == "flipped":
        data = bytearray(good)
        data[len(data) // 3] ^= 0xFF
        out.write_bytes(bytes(data))
    elif damage == "no W2":
        _rewrite(saved, out, lambda n, d: None if n == "W2.npy" else d)
    elif damage == "wrong shape":
        _rewrite(saved, out, lambda n, d: _npy(np.zeros((784, 7))) if n == "W1.npy" else d)
    elif damage == "tampered":
        _rewrite(saved, out, lambda n, d: _npy(np.zeros((784, 8))) if n == "W1.npy" else d)
    elif damage == "meta not json":
        _rewrite(saved, out, lambda n, d: _npy(np.array("{oops")) if n == "meta.npy" else d)
    elif damage in ("other format", "future format", "bad activation", "huge sizes"):
        change = {"other format": dict(format="keras"), "future format": dict(format_version=2),
                  "bad activation": dict(activation="tanh"),
                  "huge sizes": dict(input_size=10**9, hidden_size=10**9)}[damage]
        if damage == "huge sizes":
            big = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1)))

            def change_member(n, d):
                if n == "meta.npy":
                    return _meta_with(saved, **change)
                if n == "W1.npy":  # a header that claims the huge shape, no data
                    buf = io.BytesIO()
                    np.lib.format.write_array_header_1_0(buf, dict(big, shape=(10**9, 10**9)))
                    return buf.getvalue()
                return d
            _rewrite(saved, out, change_member)
        else:
            _rewrite(saved, out, lambda n, d: _meta_with(saved, **change) if n == "meta.npy"
                     else d)
    elif damage == "pickled":
        _rewrite(saved, out, lambda n, d: _npy(np.array([{"a": 1}], dtype=object))
                 if n == "b1.npy" else d)
    elif damage == "nan weights":
        _rewrite(saved, out, lambda n, d: _npy(np.full(10, np.nan)) if n == "b2.npy" else d)
    elif damage == "unrelated npz":
        np.savez(out, x=np.zeros(3))
    elif damage == "garbled header":  # NumPy's parser raises tokenize.TokenError for this one
        _rewrite(saved, out, lambda n, d: d.replace(b"(784, 8)", b"(784,{8)") if n == "W1.npy"
                 else d)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(out, backend="numpy")
    assert str(out) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_model(tmp_path / "nope.npz")
    with pytest.raises(ModelFileError, match="is a directory"):
        load_model(tmp_path)


def test_save_refuses_parameters_that_do_not_fit_or_are_not_finite(tmp_path):
    net = TwoLayerNet(784, 8, 10, backend="numpy", seed=0)
    net.params["W1"] = np.zeros((784, 9))
    with pytest.raises(ValueError, match=r"params\['W1'\] must have shape \(784, 8\)"):
        net.save(tmp_path / "m.npz")
    net.params["W1"] = np.full((784, 8), np.inf)
    with pytest.raises(ValueError, match=r"params\['W1'\] holds NaN or infinite"):
        net.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_arbitrary_bytes_are_refused_cleanly(tmp_path, data):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match="fuzz.npz"):
        load_model(path, backend="numpy")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_is_refused_or_harmless(saved, tmp_path, position, value):
    good = saved.read_bytes()
    data = bytearray(good)
    position %= len(data)
    data[position] ^= value
    path = tmp_path / "changed.npz"
    path.write_bytes(bytes(data))
    try:
        net = load_model(path, backend="numpy")
    except ModelFileError:
        return
    # a change the format does not read (zip comments, padding): the network is the original
    original = load_model(saved, backend="numpy")
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(net.params[key], original.params[key])
