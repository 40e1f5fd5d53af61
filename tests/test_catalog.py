"""The data sets by name: MNIST and Fashion-MNIST (the real files), where they are looked for."""

from pathlib import Path

import numpy as np
import pytest

from fastnn.datasets import catalog, mnist
from fastnn.datasets.idx import write_idx

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
# As Zalando publishes them, in label order (github.com/zalandoresearch/fashion-mnist).
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
needs_fashion = pytest.mark.skipif(
    not FASHION_DIR.is_dir(), reason=f"Fashion-MNIST is not installed in {FASHION_DIR} "
    "(apt-get install dataset-fashion-mnist; .ci/run installs it)")


@pytest.fixture
def no_data_dir(monkeypatch):
    monkeypatch.delenv("FASTNN_DATA_DIR", raising=False)


def write_fake_fashion(directory, n_train=12, n_test=4, gz=False):
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              (np.arange(n_train) % 10).astype(np.uint8),
              rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              (np.arange(n_test) % 10).astype(np.uint8)]
    for name, a in zip(IDX_NAMES, arrays):
        write_idx(directory / (name + (".gz" if gz else "")), a)
    return arrays


def test_names_and_class_names():
    assert catalog.DATASETS == ("mnist", "fashion-mnist")
    assert catalog.class_names("mnist") == list("0123456789")
    assert catalog.class_names("fashion-mnist") == FASHION_CLASSES
    for name in catalog.DATASETS:
        known = catalog.info(name)
        assert (known.image_shape, known.n_train, known.n_test) == ((28, 28), 60000, 10000)
    with pytest.raises(ValueError, match="dataset='cifar' is not known; expected one of "
                                         "'mnist', 'fashion-mnist'"):
        catalog.load_dataset("cifar")


def test_mnist_is_the_bundled_arrays():
    assert catalog.load_dataset("mnist") is mnist.load_arrays()


@needs_fashion
def test_fashion_mnist_published_facts_on_the_real_files(no_data_dir):
    x_train, y_train, x_test, y_test = catalog.load_dataset("fashion-mnist")
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images of each class.
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert not any(a.flags.writeable for a in (x_train, y_train, x_test, y_test))
    assert catalog.load_dataset("fashion-mnist")[0] is x_train  # read once per process
    (raw_train, _), _ = mnist.load_fashion_mnist(FASHION_DIR)
    np.testing.assert_array_equal(x_train[123].reshape(28, 28), raw_train[123])


def test_fashion_mnist_is_found_in_the_data_dir_first(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA_DIR", str(tmp_path))
    catalog.clear_cache()
    arrays = write_fake_fashion(tmp_path / "fashion-mnist", gz=True)
    try:
        assert mnist.find_fashion_mnist() == tmp_path / "fashion-mnist"
        x_train, y_train, x_test, y_test = catalog.load_dataset("fashion-mnist")
        np.testing.assert_array_equal(x_train, arrays[0].reshape(12, 784))
        np.testing.assert_array_equal(y_test, arrays[3])
        (x, _), _ = mnist.load_fashion_mnist()
        np.testing.assert_array_equal(x, arrays[0])
    finally:
        catalog.clear_cache()


def test_the_data_dir_itself_may_hold_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA_DIR", str(tmp_path))
    write_fake_fashion(tmp_path)
    assert mnist.find_fashion_mnist() == tmp_path


def test_an_incomplete_data_dir_falls_back_to_debian(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA_DIR", str(tmp_path))
    write_fake_fashion(tmp_path / "fashion-mnist")
    (tmp_path / "fashion-mnist" / IDX_NAMES[3]).unlink()
    monkeypatch.setattr(mnist, "FASHION_MNIST_DIR", str(tmp_path / "debian"))
    write_fake_fashion(tmp_path / "debian")
    assert mnist.find_fashion_mnist() == tmp_path / "debian"


def test_absent_fashion_mnist_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch,
                                                                    no_data_dir):
    monkeypatch.setattr(mnist, "FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError) as info:
        catalog.load_dataset("fashion-mnist")
    message = str(info.value)
    assert "Fashion-MNIST not found: looked in " + str(tmp_path / "nowhere") in message
    assert "$FASTNN_DATA_DIR is not set" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "zalandoresearch/fashion-mnist" in message
    monkeypatch.setenv("FASTNN_DATA_DIR", str(tmp_path / "mine"))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "mine" / "fashion-mnist")):
        catalog.load_dataset("fashion-mnist")
