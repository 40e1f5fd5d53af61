"""The training options a sweep needs: initialisation, weight decay, schedules, target accuracy,
validation split with early stopping, presets; each against hand-worked values or a replay."""

import math

import numpy as np
import pytest

from fastnn import TrainConfig, TwoLayerNet, train
from fastnn.presets import PRESETS, preset_values
from fastnn.schedules import learning_rate_at


def tiny_data(mnist_small):
    x_train, y_train, x_test, y_test = mnist_small
    return x_train[:300], y_train[:300], x_test[:200], y_test[:200]


# -- weight initialisation ----------------------------------------------------------------------

@pytest.mark.parametrize("init, gain", [("he", 2.0), ("xavier", 1.0), ("HE", 2.0)])
def test_he_and_xavier_scale_each_layer_by_its_fan_in(init, gain):
    net = TwoLayerNet(784, 30, 10, init, seed=np.random.RandomState(3), backend="numpy")
    draws = np.random.RandomState(3)
    W1 = math.sqrt(gain / 784) * draws.randn(784, 30)   # W1's fan-in is the 784 pixels
    W2 = math.sqrt(gain / 30) * draws.randn(30, 10)     # W2's is the 30 hidden units
    np.testing.assert_array_equal(net.params["W1"], W1)
    np.testing.assert_array_equal(net.params["W2"], W2)


def test_a_number_still_draws_the_teaching_programs_weights():
    np.random.seed(7)
    net = TwoLayerNet(784, 50, 10, backend="numpy")
    np.random.seed(7)
    np.testing.assert_array_equal(net.params["W1"], 0.01 * np.random.randn(784, 50))
    np.testing.assert_array_equal(net.params["W2"], 0.01 * np.random.randn(50, 10))


def test_train_uses_the_named_initialisation(mnist_small):
    result = train(data=tiny_data(mnist_small), iters=1, batch_size=10, backend="numpy",
                   weight_init_std="he", learning_rate=1e-300, seed=4)  # no visible update
    expected = np.sqrt(2 / 784) * np.random.RandomState(4).randn(784, 50)
    np.testing.assert_allclose(result.network.params["W1"], expected, rtol=0, atol=1e-290)
    assert result.config.weight_init_std == "he"


# -- schedules ----------------------------------------------------------------------------------

def test_schedules_by_hand():
    total = 4
    # cosine: (1 + cos(pi t / 4)) / 2 = 1, (1 + 0.7071) / 2, 0.5, (1 - 0.7071) / 2
    assert [learning_rate_at("cosine", 2.0, t, total) for t in range(4)] == pytest.approx(
        [2.0, 1.7071068, 1.0, 0.2928932])
    # step: x0.1 from t = 8 // 2 = 4, x0.01 from t = 3 * 8 // 4 = 6
    assert [learning_rate_at("step", 1.0, t, 8) for t in range(8)] == pytest.approx(
        [1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01])
    assert [learning_rate_at("constant", 0.3, t, 8) for t in (0, 7)] == [0.3, 0.3]
    # onecycle, 10 steps, peak 1: warm-up ends at 0.3 * 10 - 1 = 2; starts at 1 / 25 = 0.04;
    # t = 1 is half-way: 1 + (0.04 - 1) / 2 * (cos(pi / 2) + 1) = 0.52; then down over 2..9
    # to 0.04 / 1e4, with t = 5.5 (not a step) the middle; t = 4: pct 2/7.
    assert learning_rate_at("onecycle", 1.0, 0, 10) == pytest.approx(0.04)
    assert learning_rate_at("onecycle", 1.0, 1, 10) == pytest.approx(0.52)
    assert learning_rate_at("onecycle", 1.0, 2, 10) == pytest.approx(1.0)
    final = 0.04 / 1e4
    assert learning_rate_at("onecycle", 1.0, 4, 10) == pytest.approx(
        final + (1 - final) / 2 * (math.cos(math.pi * 2 / 7) + 1))
    assert learning_rate_at("onecycle", 1.0, 9, 10) == pytest.approx(4e-6)
    with pytest.raises(ValueError, match="schedule='linear' is not known"):
        learning_rate_at("linear", 1.0, 0, 10)


def test_schedules_agree_with_pytorchs_schedulers():
    torch = pytest.importorskip("torch")
    total, lr = 37, 0.4
    made = {
        "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total),
        "step": lambda o: torch.optim.lr_scheduler.MultiStepLR(
            o, milestones=[total // 2, 3 * total // 4], gamma=0.1),
        "onecycle": lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=lr,
                                                                  total_steps=total),
    }
    for name, make in made.items():
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        scheduler = make(opt)
        theirs = []
        for _ in range(total):
            theirs.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        ours = [learning_rate_at(name, lr, t, total) for t in range(total)]
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov"])
def test_a_scheduled_decayed_run_is_the_hand_worked_update(backend, optimizer, mnist_small):
    data = tiny_data(mnist_small)
    x_train, y_train = data[0], data[1]
    lr, wd, iters, batch = 0.3, 0.05, 3, 16
    result = train(data=data, backend=backend.name, iters=iters, batch_size=batch,
                   learning_rate=lr, weight_decay=wd, schedule="cosine", optimizer=optimizer,
                   seed=2, threads=1)
    # By hand, on the NumPy reference: the same initial weights and batches; at step t the rate
    # is lr * (1 + cos(pi t / 3)) / 2 = lr, 0.75 lr, 0.25 lr; the weights' gradients (not the
    # biases') get wd * W added.
    draws = np.random.RandomState(2)
    net = TwoLayerNet(784, 50, 10, backend="numpy", seed=draws)
    p = net.params
    v = {key: np.zeros_like(a) for key, a in p.items()}
    for t, rate in enumerate((lr, 0.75 * lr, 0.25 * lr)):
        assert learning_rate_at("cosine", lr, t, iters) == pytest.approx(rate)
        idx = draws.randint(0, len(x_train), batch)
        grads = net.gradient(x_train[idx] / 255.0, y_train[idx])
        for key in p:
            g = grads[key] + (wd * p[key] if key.startswith("W") else 0)
            if optimizer == "sgd":
                p[key] -= rate * g
            else:  # the book's Nesterov, mu = 0.9
                p[key] += 0.81 * v[key]
                p[key] -= 1.9 * rate * g
                v[key] = 0.9 * v[key] - rate * g
    for key in p:
        np.testing.assert_allclose(result.network.params[key], p[key], rtol=1e-11, atol=1e-15,
                                   err_msg=key)


def test_the_schedule_changes_the_run_and_constant_is_the_old_run(mnist_small):
    args = dict(data=tiny_data(mnist_small), backend="numpy", iters=6, batch_size=16)
    old = train(**args)
    constant = train(**args, schedule="constant")
    cosine = train(**args, schedule="cosine")
    assert old.history["train_loss"] == constant.history["train_loss"]
    assert old.history["train_loss"][:1] == cosine.history["train_loss"][:1]
    assert old.history["train_loss"][1:] != cosine.history["train_loss"][1:]


# -- target accuracy ----------------------------------------------------------------------------

def test_target_accuracy_stops_at_the_first_evaluation_that_reaches_it(backend, mnist_small):
    args = dict(data=mnist_small, backend=backend.name, iters=200, batch_size=50,
                eval_every=20, learning_rate=0.2, threads=1)
    full = train(**args)
    accs = full.history["test_acc"]
    k = 4  # the first evaluation at or above the accuracy of the fourth
    target = accs[k]
    first = next(j for j, a in enumerate(accs) if a >= target)
    assert 0 < first < len(accs) - 1
    stopped = train(**args, target_accuracy=target)
    assert stopped.stop_reason == "target_accuracy"
    assert stopped.iterations == full.history["eval_iter"][first]
    assert stopped.history["test_acc"] == accs[:first + 1]
    assert 0 < stopped.time_to_target <= stopped.seconds
    # one time per evaluation, rising; the time to the target is the stopping evaluation's
    assert len(stopped.eval_seconds) == len(stopped.history["eval_iter"])
    assert stopped.eval_seconds == sorted(stopped.eval_seconds)
    assert stopped.time_to_target == stopped.eval_seconds[-1]
    assert full.time_to_target is None and full.stop_reason == "completed"
    never = train(**args, target_accuracy=1.0)
    assert never.stop_reason == "completed" and never.time_to_target is None


# -- validation split and early stopping --------------------------------------------------------

def test_early_stopping_restores_the_best_weights_of_the_validation_set(backend, mnist_small):
    x_train, y_train, x_test, y_test = mnist_small
    args = dict(backend=backend.name, batch_size=100, eval_every=10, learning_rate=0.5,
                threads=1, seed=1)
    # 2,000 samples, a quarter held out: training sees the first 1,500 only.
    stopped = train(data=mnist_small, iters=3000, validation_split=0.25, patience=3, **args)
    assert stopped.stop_reason == "early_stopping"
    val = stopped.history["val_acc"]
    best = stopped.history["eval_iter"].index(stopped.best_iteration)
    assert val[best] == max(val) and val.index(max(val)) == best
    assert val[best + 1:best + 4] and max(val[best + 1:]) <= val[best]
    assert stopped.iterations == stopped.history["eval_iter"][best + 3] > stopped.best_iteration
    # The same run on the first 1,500 samples alone, stopped at the best iteration, ends with
    # the weights that were restored: so the held-out samples were never trained on, and the
    # network holds the best evaluation's weights, not the last ones.
    replay = train(data=(x_train[:1500], y_train[:1500], x_test, y_test),
                   iters=stopped.best_iteration, **args)
    for key in replay.network.params:
        np.testing.assert_array_equal(stopped.network.params[key], replay.network.params[key])
    held_out = stopped.network.evaluator(x_train[1500:], y_train[1500:])()
    assert held_out == val[best]
    assert stopped.test_accuracy == stopped.history["test_acc"][best] == replay.test_accuracy


def test_a_validation_split_without_patience_trains_to_the_end(mnist_small):
    result = train(data=mnist_small, backend="numpy", iters=40, batch_size=50, eval_every=10,
                   validation_split=0.1)
    assert result.iterations == 40 and result.stop_reason == "completed"
    assert len(result.history["val_acc"]) == len(result.history["eval_iter"]) == 5
    assert "val_acc" not in train(data=mnist_small, backend="numpy", iters=5).history


# -- presets ------------------------------------------------------------------------------------

def test_a_preset_is_a_set_of_values_and_keywords_override_it(mnist_small):
    result = train(preset="fast", data=tiny_data(mnist_small), iters=3, batch_size=20,
                   backend="numpy")
    expected = TrainConfig(**{**preset_values("fast"), "iters": 3, "batch_size": 20,
                              "backend": "numpy"})
    assert result.config == expected
    assert result.config.hidden_size == PRESETS["fast"][1]["hidden_size"]
    with pytest.raises(ValueError, match="preset='slow' is not known; expected one of 'fast'"):
        train(preset="slow")
    with pytest.raises(TypeError, match="a config or a preset, not both"):
        train(TrainConfig(), preset="fast")


# -- bad values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, exc, message", [
    ("weight_init_std", "kaiming", ValueError,
     "weight_init_std='kaiming' is not known; expected a number > 0 or one of 'he', 'xavier'"),
    ("weight_init_std", -1.0, ValueError, "weight_init_std must be a finite number > 0"),
    ("weight_decay", -0.1, ValueError, "weight_decay must be a finite number >= 0"),
    ("schedule", "linear", ValueError, "schedule='linear' is not known; expected one of "
                                       "'constant', 'step', 'cosine', 'onecycle'"),
    ("target_accuracy", 98.0, ValueError, r"target_accuracy must be a fraction in \(0, 1\]"),
    ("validation_split", 1.0, ValueError, r"validation_split must be a fraction in \[0, 1\)"),
    ("patience", 3, ValueError, "patience=3 needs a validation set to watch"),
])
def test_bad_option_values_name_the_field(field, value, exc, message):
    with pytest.raises(exc, match=message):
        TrainConfig(**{field: value})


def test_a_split_that_leaves_nothing_to_train_on_is_refused(mnist_small):
    data = tuple(a[:3] for a in mnist_small)
    with pytest.raises(ValueError, match="validation_split=0.9 of 3 training samples leaves"):
        train(data=data, validation_split=0.9, batch_size=1, iters=1, backend="numpy")
