"""train(): the seed's loop, determinism, history, evaluation, divergence and bad input."""

import io
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from fastnn import TrainingDivergedError, TwoLayerNet, train, training
from fastnn.bench.baselines import seed
from fastnn.training import _batch_sampler

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def small_run(data, **kwargs):
    args = dict(backend="numpy", iters=40, batch_size=64, eval_every=15, data=data)
    args.update(kwargs)
    return train(**args)


def test_numpy_training_is_the_seed_loop_bit_for_bit(mnist_small):
    x_train, y_train, _, _ = mnist_small
    result = small_run(mnist_small, seed=5, iters=30)
    # The teaching program's loop, with its own class, after np.random.seed(5).
    x, t = x_train / 255.0, seed.change_one_hot_label(y_train)
    np.random.seed(5)
    net = seed.TwoLayerNet(784, 50, 10)
    losses = []
    for _ in range(30):
        mask = np.random.choice(len(x), 64)
        losses.append(net.loss(x[mask], t[mask]))  # the loss of the pre-update forward pass
        grad = net.gradient(x[mask], t[mask])
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= 0.05 * grad[key]
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(result.network.params[key], net.params[key])
    np.testing.assert_allclose(result.history["train_loss"], losses, rtol=1e-15)


def test_same_seed_same_bits_different_seed_different_run(backend, mnist_small):
    a = small_run(mnist_small, backend=backend.name, seed=1)
    b = small_run(mnist_small, backend=backend.name, seed=1)
    c = small_run(mnist_small, backend=backend.name, seed=2)
    assert a.history == b.history
    for key in a.network.params:
        np.testing.assert_array_equal(a.network.params[key], b.network.params[key])
    assert a.history["train_loss"] != c.history["train_loss"]
    assert a.backend == backend.name


def test_history_shape_and_evaluation_points(mnist_small):
    seen = []
    result = small_run(mnist_small, iters=40, eval_every=15,
                       callback=lambda i, h: seen.append((i, len(h["test_acc"]))))
    h = result.history
    assert len(h["train_loss"]) == 40
    assert h["eval_iter"] == [0, 15, 30, 40]
    assert len(h["train_acc"]) == len(h["test_acc"]) == 4
    assert seen == [(0, 1), (15, 2), (30, 3), (40, 4)]
    assert result.test_accuracy == h["test_acc"][-1]
    assert all(0.0 <= a <= 1.0 for a in h["train_acc"] + h["test_acc"])
    assert result.seconds > 0
    # the last evaluation is of the returned network on the test set
    _, _, x_test, y_test = mnist_small
    assert result.test_accuracy == result.network.accuracy_u8(x_test, y_test)


def test_default_eval_every_is_one_whole_epoch(mnist_small):
    result = small_run(mnist_small, iters=70, batch_size=64, eval_every=None)
    assert result.history["eval_iter"] == [0, 32, 64, 70]  # ceil(2000 / 64) = 32


def test_recorded_loss_is_the_pre_update_loss_of_that_batch(mnist_small):
    x_train, y_train, _, _ = mnist_small
    result = small_run(mnist_small, seed=9, iters=1)
    rs = np.random.RandomState(9)
    net = TwoLayerNet(784, 50, 10, backend="numpy", seed=rs)
    mask = rs.choice(len(x_train), 64)
    assert result.history["train_loss"][0] == net.loss(x_train[mask] / 255.0, y_train[mask])


def test_running_and_full_train_accuracy(mnist_small):
    x_train, y_train, _, _ = mnist_small
    full = small_run(mnist_small, iters=60, eval_every=30, full_train_eval=True,
                     learning_rate=0.5)
    running = small_run(mnist_small, iters=60, eval_every=30, learning_rate=0.5)
    assert full.history["train_acc"][-1] == full.network.accuracy_u8(x_train, y_train)
    # same run either way; only what is reported as train accuracy differs
    assert full.history["test_acc"] == running.history["test_acc"]
    assert running.history["train_acc"][0] == full.history["train_acc"][0]
    assert abs(running.history["train_acc"][-1] - full.history["train_acc"][-1]) < 0.1
    assert running.history["train_acc"][-1] != full.history["train_acc"][-1]


def test_shuffled_epochs_visit_every_sample_once():
    draw = _batch_sampler(np.random.RandomState(0), n_train=10, batch_size=3, shuffle=True)
    epoch = np.concatenate([draw() for _ in range(3)])
    assert len(set(epoch.tolist())) == 9  # 3 full batches, the 10th sample dropped
    following = np.concatenate([draw() for _ in range(3)])
    assert len(set(following.tolist())) == 9 and not np.array_equal(epoch, following)


def test_with_replacement_batches_are_the_seeds_choice():
    draw = _batch_sampler(np.random.RandomState(4), n_train=100, batch_size=8, shuffle=False)
    np.random.seed(4)
    np.testing.assert_array_equal(draw(), np.random.choice(100, 8))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_every_optimizer_learns(optimizer, mnist_small):
    lr = {"sgd": 0.5, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "rmsprop": 0.001,
          "adam": 0.001}
    result = small_run(mnist_small, optimizer=optimizer, learning_rate=lr[optimizer], iters=60,
                       eval_every=60)
    losses = result.history["train_loss"]
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:3]), optimizer
    assert result.test_accuracy > 0.6


def test_runaway_training_stops_with_a_helpful_error(backend, mnist_small):
    with pytest.raises(TrainingDivergedError) as info:
        small_run(mnist_small, backend=backend.name, learning_rate=1e6, iters=2000,
                  eval_every=500)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert "smaller learning rate" in str(err) and f"iteration {err.iteration}" in str(err)
    assert 0 < err.iteration < 2000
    assert len(err.history["train_loss"]) == err.iteration
    # what was stuck: a loss far above chance level (ln 10), or a non-finite one
    tail = err.history["train_loss"][-50:]
    assert min(tail) > 2 * math.log(10) or not np.isfinite(tail[-1])


def test_overflowing_training_stops_on_non_finite_values(mnist_small):
    with pytest.raises(TrainingDivergedError, match="training diverged at iteration"):
        small_run(mnist_small, learning_rate=1e300, iters=500)


@pytest.mark.parametrize("kwargs, exc, message", [
    (dict(backend="gpu"), ValueError, "backend='gpu'"),
    (dict(activation="tanh"), ValueError, "activation='tanh'"),
    (dict(optimizer="lbfgs"), ValueError, "optimizer='lbfgs'.*'adam'"),
    (dict(dtype="int8"), ValueError, "dtype='int8'"),
    (dict(learning_rate=0), ValueError, "learning_rate must be a finite number > 0, got 0"),
    (dict(learning_rate=-0.1), ValueError, "learning_rate"),
    (dict(learning_rate=float("nan")), ValueError, "learning_rate"),
    (dict(iters=0), ValueError, "iters must be >= 1, got 0"),
    (dict(batch_size=-5), ValueError, "batch_size must be >= 1, got -5"),
    (dict(batch_size=2001), ValueError, "batch_size must be <= 2000, got 2001"),
    (dict(hidden_size=0), ValueError, "hidden_size"),
    (dict(eval_every=0), ValueError, "eval_every"),
    (dict(iters=2.5), TypeError, "iters must be a positive integer, got 2.5"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(shuffle="yes"), TypeError, "shuffle"),
    (dict(callback=5), TypeError, "callback"),
    (dict(progress="loud"), TypeError, "progress"),
])
def test_bad_arguments_are_refused_before_training(kwargs, exc, message, mnist_small):
    with pytest.raises(exc, match=message):
        small_run(mnist_small, **kwargs)


def test_batch_larger_than_the_full_training_set_is_refused():
    with pytest.raises(ValueError, match="batch_size must be <= 60000, got 60001"):
        train(backend="numpy", batch_size=60001, iters=1)


def test_bad_data_is_refused(mnist_small):
    x_train, y_train, x_test, y_test = mnist_small
    with pytest.raises(ValueError, match="x_train must be uint8"):
        small_run((x_train / 255.0, y_train, x_test, y_test))
    with pytest.raises(ValueError, match="in 0..9"):
        small_run((x_train, y_train + 10, x_test, y_test))


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_only(monkeypatch, mnist_small):
    quiet = io.StringIO()  # what a log file or a pipe looks like
    monkeypatch.setattr(sys, "stderr", quiet)
    small_run(mnist_small, iters=30, progress=True)
    assert quiet.getvalue() == ""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    small_run(mnist_small, iters=30, progress=True)
    text = terminal.getvalue()
    assert "train" in text and "30/30" in text and "100%" in text
    assert re.search(r"loss \d\.\d{4}", text)


def test_any_object_with_update_and_close_can_follow_the_run(mnist_small):
    class Recorder:
        def __init__(self):
            self.updates, self.closed = [], 0

        def update(self, n):
            self.updates.append(n)

        def close(self):
            self.closed += 1

    recorder = Recorder()
    small_run(mnist_small, iters=25, progress=recorder)
    assert recorder.updates == [1] * 25 and recorder.closed == 1


def test_ctrl_c_stops_between_iterations_and_keeps_the_network(backend, mnist_small):
    import os
    import signal

    from fastnn import TrainingInterrupted

    def press_ctrl_c(iteration, history):
        if iteration == 20:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted) as info:
        small_run(mnist_small, backend=backend.name, iters=1000, eval_every=10,
                  callback=press_ctrl_c)
    result = info.value.result
    assert isinstance(info.value, KeyboardInterrupt)  # a script still stops
    assert result.stop_reason == "interrupted" and result.iterations == 20
    assert len(result.history["train_loss"]) == 20 and result.history["eval_iter"][-1] == 20
    # the network is the one after exactly 20 steps: the same as a 20-iteration run's
    finished = small_run(mnist_small, backend=backend.name, iters=20, eval_every=10)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_array_equal(result.network.params[key], finished.network.params[key])
    assert result.test_accuracy == finished.test_accuracy
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_a_second_ctrl_c_interrupts_at_once(mnist_small):
    import os
    import signal

    from fastnn import TrainingInterrupted

    def press_twice(iteration, history):
        if iteration == 10:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt) as info:
        small_run(mnist_small, iters=1000, eval_every=10, callback=press_twice)
    assert not isinstance(info.value, TrainingInterrupted)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_runs_that_end_at_chance_level_warn_naming_the_cause(mnist_small):
    from fastnn import TrainingWarning

    with pytest.warns(TrainingWarning, match="learning_rate=3 is large for sgd") as caught:
        result = small_run(mnist_small, learning_rate=3.0, iters=300, eval_every=100)
    assert result.at_chance and len(caught) == 1
    labels = mnist_small[3]
    assert result.chance_accuracy == np.bincount(labels).max() / len(labels)
    assert result.test_accuracy <= result.chance_accuracy + 0.02
    healthy = small_run(mnist_small, learning_rate=0.5, iters=300, eval_every=100)
    assert not healthy.at_chance and healthy.test_accuracy > 0.8


def test_a_large_initial_scale_is_left_to_recover(mnist_small):
    # The loss starts near -ln(1e-7) ~ 16 and falls (on the full set the run reaches ~79 %).
    result = small_run(mnist_small, weight_init_std=10, iters=300, batch_size=256,
                       eval_every=100)
    assert result.history["train_loss"][0] > 2 * math.log(10)
    assert result.iterations == 300 and result.test_accuracy > 0.5 and not result.at_chance


def test_a_high_loss_counts_as_stuck_only_when_it_stops_improving():
    from fastnn._diagnosis import is_stuck

    chance = math.log(10)
    falling = list(np.linspace(16.0, 6.0, 100))  # very large initial weights, learning
    flat = list(14.6 + 0.3 * np.sin(np.arange(100)))  # lr 1e6: confidently wrong
    assert not is_stuck(falling, 100, chance)
    assert is_stuck(flat, 100, chance)
    assert not is_stuck(flat, 99, chance) and not is_stuck(flat, 150, chance)  # checked per 100


def test_epochs_run_whole_passes_and_match_the_same_number_of_iters(mnist_small):
    by_epochs = small_run(mnist_small, iters=None, epochs=2, eval_every=None, seed=3)
    assert by_epochs.iterations == 2 * math.ceil(2000 / 64) == 64
    assert len(by_epochs.history["train_loss"]) == 64
    assert by_epochs.history["eval_iter"] == [0, 32, 64]  # one evaluation per epoch
    by_iters = small_run(mnist_small, iters=64, eval_every=None, seed=3)
    assert by_epochs.history == by_iters.history
    np.testing.assert_array_equal(by_epochs.network.params["W1"], by_iters.network.params["W1"])
    assert by_epochs.config.epochs == 2 and by_epochs.network.metadata["config"]["epochs"] == 2
    with pytest.raises(ValueError, match="give iters or epochs, not both"):
        small_run(mnist_small, iters=5, epochs=1)


def test_the_default_run_length_is_the_teaching_programs(monkeypatch, mnist_small):
    # Neither iters nor epochs: 10,000 iterations, counted without running them all.
    class Stop(Exception):
        pass

    class Bar:
        def update(self, n):
            raise Stop

        def close(self):
            pass

    seen = {}
    real = training._progress_bar

    def spy(progress, total):
        seen["total"] = total
        return real(progress, total)

    monkeypatch.setattr(training, "_progress_bar", spy)
    with pytest.raises(Stop):
        train(backend="numpy", batch_size=64, data=mnist_small, progress=Bar())
    assert seen["total"] == 10_000


def test_the_network_records_its_data_set_and_class_names(mnist_small):
    result = train(backend="numpy", iters=2, batch_size=64)  # the bundled MNIST
    meta = result.network.metadata
    assert (meta["dataset"], meta["class_names"], meta["image_shape"]) == (
        "mnist", list("0123456789"), [28, 28])
    own = small_run(mnist_small, iters=2)  # arrays of the caller: nothing is assumed
    assert own.network.metadata["dataset"] is None
    assert own.network.metadata["class_names"] is None


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Fashion-MNIST is not installed "
                    "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_trains_and_says_so(monkeypatch):
    monkeypatch.delenv("FASTNN_DATA_DIR", raising=False)
    result = train(backend="numpy", dataset="fashion-mnist", iters=60, batch_size=128,
                   eval_every=60, learning_rate=0.1)
    meta = result.network.metadata
    assert meta["dataset"] == "fashion-mnist"
    assert meta["class_names"] == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert result.chance_accuracy == 0.1  # balanced: 1,000 test images per class
    assert result.test_accuracy > 0.5  # learns clothes in 60 steps (MNIST's labels would not)
    from fastnn.datasets import catalog

    _, _, x_test, y_test = catalog.load_dataset("fashion-mnist")
    assert result.test_accuracy == result.network.accuracy_u8(x_test, y_test)
