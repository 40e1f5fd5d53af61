"""Own images as MNIST inputs: real MNIST digits drawn into images with Pillow come back as
the network saw them in MNIST, and bad files are refused by name."""

import numpy as np
import pytest
from PIL import Image, ImageOps

import fastnn
from fastnn.images import ImageError, mnist_input

N_DIGITS = 100


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """Briefly trained (about 90 % on MNIST's test set)."""
    return fastnn.train(backend="numpy", iters=300, batch_size=128, learning_rate=0.2,
                        seed=0).network


@pytest.fixture(scope="module")
def digits():
    _, _, x_test, y_test = fastnn.datasets.mnist.load_arrays()
    return x_test[:N_DIGITS].reshape(-1, 28, 28), y_test[:N_DIGITS]


def drawn(digit, kind, k=0):
    """``digit`` (28x28 uint8, MNIST's white on black) drawn into a Pillow image."""
    image = Image.fromarray(digit)
    if kind == "enlarged":
        return image.resize((112, 112), Image.Resampling.BICUBIC)
    if kind == "on a large canvas, shifted":
        canvas = Image.new("L", (400, 300), 0)
        canvas.paste(image.resize((84, 84), Image.Resampling.BILINEAR), (37 + k % 50, 91 + k))
        return canvas
    if kind == "dark ink on white paper":
        canvas = Image.new("L", (500, 360), 0)
        canvas.paste(image.resize((140, 140), Image.Resampling.LANCZOS), (300, 20))
        return ImageOps.invert(canvas)
    if kind == "shrunk":
        return image.resize((24, 24), Image.Resampling.BOX)
    raise ValueError(kind)


KINDS = ["enlarged", "on a large canvas, shifted", "dark ink on white paper", "shrunk"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_drawn_digit_is_predicted_like_the_mnist_array_it_came_from(net, digits, kind, fmt,
                                                                      tmp_path):
    x, _ = digits
    reference = net.predict_labels(x.reshape(-1, 784) / 255.0)
    confident = np.flatnonzero(net.predict(x.reshape(-1, 784) / 255.0).max(axis=1) > 0.9)
    assert len(confident) > 50
    paths = []
    for k in confident:
        path = tmp_path / f"{k}.{fmt.lower()}"
        drawn(x[k], kind, k).convert("RGB").save(path, fmt)  # as a photo would be: RGB
        paths.append(path)
    predicted = net.predict_images(paths)
    assert predicted.sources == [str(p) for p in paths]
    agree = np.mean(predicted.labels == reference[confident])
    # 98-100 % here; a step left out (no inversion, no centring, no scaling) falls far below
    assert agree >= 0.95, (kind, fmt, agree)


def test_an_mnist_array_is_its_own_input(net, digits):
    x, _ = digits
    predicted = net.predict_images(list(x))
    np.testing.assert_array_equal(predicted.labels, net.predict_labels(x.reshape(-1, 784) / 255.))
    assert np.abs(predicted.inputs.astype(int) - x).mean() < 2  # grey levels barely move


def test_the_input_is_made_as_mnist_was(digits):
    x, _ = digits
    ys, xs = np.indices((28, 28))
    differences = []
    for k in range(20):
        seen = mnist_input(drawn(x[k], "on a large canvas, shifted", k)).astype(np.float64)
        rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20  # fits the 20x20 box
        mass = seen.sum()
        assert abs((ys * seen).sum() / mass - 14) <= 0.5  # centred by its centre of mass
        assert abs((xs * seen).sum() / mass - 14) <= 0.5
        assert seen.max() == 255
        # MNIST's own centres of mass scatter by half a pixel around (14, 14): compare up to
        # a one-pixel shift
        differences.append(min(np.abs(np.roll(seen, (dy, dx), (0, 1)) - x[k]).mean()
                               for dy in (-1, 0, 1) for dx in (-1, 0, 1)))
    # the digit it came from, resampled twice: a few grey levels apart on average (another
    # digit is 40-60 apart, the same one moved by a pixel 13-19)
    assert np.mean(differences) < 8 and max(differences) < 12, differences


def test_inverted_and_shifted_copies_give_the_same_input(digits):
    x, _ = digits
    light = Image.new("L", (300, 200), 0)
    light.paste(Image.fromarray(x[3]).resize((90, 90)), (10, 10))
    moved = Image.new("L", (300, 200), 0)
    moved.paste(Image.fromarray(x[3]).resize((90, 90)), (200, 100))
    a, b = mnist_input(light), mnist_input(moved)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mnist_input(ImageOps.invert(light)), a)
    # dark ink on a transparent sheet, as drawing programs export it, is ink on white paper
    rgba = np.zeros((200, 300, 4), np.uint8)
    rgba[..., 3] = np.asarray(light)
    np.testing.assert_array_equal(mnist_input(rgba), a)
    # any range of grey levels: only the contrast counts
    np.testing.assert_array_equal(mnist_input(np.asarray(light) / 255.0 * 7 - 3), a)


def test_predictions_give_the_top_classes(net, digits):
    x, _ = digits
    predicted = net.predict_images(x[0])
    (top,) = predicted.top(3)
    probabilities = [p for _, p in top]
    assert probabilities == sorted(probabilities, reverse=True) and len(top) == 3
    assert top[0] == (predicted.names[0], float(predicted.probabilities[0].max()))
    assert predicted.names == [str(predicted.labels[0])]
    names = [f"class {k}" for k in range(10)]
    assert net.predict_images(x[:2], class_names=names).names[0].startswith("class ")


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"hello, world\n" * 10, "not an image Pillow can read"),
    (None, "no such file"),
])
def test_bad_files_are_refused_naming_them(net, tmp_path, content, message):
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=f"{path}: {message}"):
        net.predict_images([path])


def test_damaged_small_and_blank_images_are_refused(net, tmp_path, digits):
    x, _ = digits
    good = tmp_path / "good.png"
    Image.fromarray(x[0]).resize((100, 100)).save(good)
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ImageError, match="damaged.png: a damaged image"):
        net.predict_images(damaged)
    tiny = tmp_path / "tiny.png"
    Image.fromarray(x[0][10:15, 10:16]).save(tiny)
    with pytest.raises(ImageError, match=r"tiny.png: is 6x5 pixels, too small to hold a digit "
                                         r"\(at least 8x8\)"):
        net.predict_images([good, tiny])
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (64, 64), (200, 200, 200)).save(blank)
    with pytest.raises(ImageError, match="blank.jpg: is blank"):
        net.predict_images(blank)
    with pytest.raises(ImageError, match="is a directory"):
        net.predict_images(tmp_path)
    with pytest.raises(ImageError, match=r"image 1: pixels must have shape"):
        net.predict_images([x[0], np.zeros((3, 30, 30))])
    with pytest.raises(ValueError, match="images is empty"):
        net.predict_images([])


def test_a_model_for_another_input_size_is_refused_before_reading(tmp_path):
    small = fastnn.TwoLayerNet(20, 4, 10, backend="numpy", seed=0)
    with pytest.raises(ValueError, match="the network takes 20 inputs, but images are prepared "
                                         "as 28x28 = 784 pixels"):
        small.predict_images([tmp_path / "does-not-exist.png"])  # not "no such file"
