"""TrainConfig: the one list of training parameters, and what is generated from it."""

import dataclasses
import inspect

import pytest

from fastnn import TrainConfig, cli, train
from fastnn.config import config_fields


def test_defaults_are_the_teaching_programs_settings():
    # shared/seed: 784-50-10, ReLU, SGD, batch 512, learning rate 0.05, 10,000 iterations,
    # weights 0.01 * randn
    c = TrainConfig()
    assert (c.hidden_size, c.activation, c.optimizer, c.batch_size, c.learning_rate,
            c.iterations(60000), c.weight_init_std, c.dtype, c.dataset) == (
        50, "relu", "sgd", 512, 0.05, 10000, 0.01, "float64", "mnist")
    assert c.iters is None and c.epochs is None  # neither given: the teaching program's 10,000


def test_iterations_come_from_iters_or_epochs_never_both():
    assert TrainConfig(iters=7).iterations(60000) == 7
    assert TrainConfig(epochs=2).iterations(60000) == 2 * 118  # ceil(60000 / 512) = 118
    assert TrainConfig(epochs=3, batch_size=100).iterations(60000) == 1800
    assert TrainConfig(epochs=1, batch_size=7).iterations(50) == 8
    with pytest.raises(ValueError, match="give iters or epochs, not both: got iters=5 and "
                                         "epochs=2"):
        TrainConfig(iters=5, epochs=2)
    with pytest.raises(ValueError, match="not both"):
        dataclasses.replace(TrainConfig(iters=5), epochs=2)
    # one replaces the other when the other is cleared
    assert dataclasses.replace(TrainConfig(iters=5), iters=None, epochs=2).iterations(10) == 2


def test_every_field_has_a_flag_a_help_and_a_check():
    flags = [f.metadata["flag"] for f in config_fields()]
    assert len(set(flags)) == len(flags) and all(flag.startswith("--") for flag in flags)
    for f in config_fields():
        assert f.metadata["help"] and callable(f.metadata["check"]), f.name
        assert TrainConfig.flag_of(f.name) == f.metadata["flag"]


def test_the_train_subcommand_is_generated_from_the_fields():
    parser = cli.build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    by_dest = {action.dest: action for action in train_parser._actions}
    for f in config_fields():
        action = by_dest[f.name]
        assert f.metadata["flag"] in action.option_strings
        assert action.help == f.metadata["help"]
        # wrapped, so that a preset's values give way to explicit flags only
        assert isinstance(action.default, cli.Default) and action.default.value == f.default


def test_train_takes_every_field_as_a_keyword_and_documents_it():
    params = inspect.signature(train).parameters
    for f in config_fields():
        assert params[f.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[f.name].default == f.default
        assert f"    {f.name} : " in train.__doc__ and f"    {f.name} : " in TrainConfig.__doc__


@pytest.mark.parametrize("field, value, exc, message", [
    ("hidden_size", 0, ValueError, "hidden_size must be >= 1, got 0"),
    ("learning_rate", "0.1", TypeError, "learning_rate must be a positive number"),
    ("optimizer", "lbfgs", ValueError, "optimizer='lbfgs' is not known"),
    ("dtype", "float16", ValueError, "dtype='float16'"),
    ("seed", 2**40, ValueError, "seed must be an integer in 0..4294967295"),
    ("shuffle", 1, TypeError, "shuffle must be True or False, got 1"),
    ("eval_every", 0, ValueError, "eval_every must be >= 1"),
    ("threads", -2, ValueError, "threads must be >= 1"),
    ("backend", "tpu", ValueError, "backend='tpu'"),
    ("epochs", 0, ValueError, "epochs must be >= 1, got 0"),
    ("epochs", 1.5, TypeError, "epochs must be a positive integer, got 1.5"),
    ("dataset", "cifar10", ValueError, "dataset='cifar10' is not known; expected one of "
                                       "'mnist', 'fashion-mnist'"),
])
def test_bad_values_name_the_field(field, value, exc, message):
    with pytest.raises(exc, match=message):
        TrainConfig(**{field: value})


def test_values_are_normalised_and_the_config_is_immutable():
    import numpy as np

    c = TrainConfig(dtype=np.float32, seed=np.int64(3))
    assert c.dtype == "float32" and type(c.seed) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.iters = 5
    assert dataclasses.replace(c, iters=5).iters == 5 and c.iters is None


def test_dict_round_trip_and_unknown_keys():
    c = TrainConfig(optimizer="adam", learning_rate=0.001, threads=1)
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(TypeError, match="unknown training parameter.*'lr'"):
        TrainConfig.from_dict({"lr": 0.1})


def test_train_merges_a_config_with_keywords_and_reports_it(mnist_small):
    base = TrainConfig(backend="numpy", iters=3, batch_size=16, hidden_size=8)
    result = train(base, seed=4, data=mnist_small)
    assert result.config == dataclasses.replace(base, seed=4)
    same = train(backend="numpy", iters=3, batch_size=16, hidden_size=8, seed=4,
                 data=mnist_small)
    assert same.history == result.history
    with pytest.raises(TypeError, match="unknown parameter.*lr"):
        train(base, lr=0.1, data=mnist_small)
    with pytest.raises(TypeError, match="config must be a TrainConfig"):
        train({"iters": 3}, data=mnist_small)
