"""The teaching program's functions: formulas, the seed's own definitions, overflow, bad input."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import fastnn
from fastnn import functions as F
from fastnn.bench.baselines import seed

finite = st.floats(-50, 50, allow_nan=False, width=64)
matrices = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 12)), elements=finite)


def test_public_names_are_exported_from_the_package():
    for name in F.__all__:
        assert getattr(fastnn, name) is getattr(F, name)


@given(matrices)
@settings(max_examples=50, deadline=None)
def test_elementwise_functions_match_the_seed(x):
    for name in ("sigmoid", "sigmoid_grad", "relu", "relu_grad"):
        ours, theirs = getattr(F, name)(x), getattr(seed, name)(x)
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)


@given(matrices)
@settings(max_examples=50, deadline=None)
def test_softmax_matches_the_seed_in_1d_and_2d(x):
    np.testing.assert_array_equal(F.softmax(x), seed.softmax(x))
    np.testing.assert_allclose(F.softmax(x[0]), seed.softmax(x[0]), rtol=1e-15, atol=0)


def test_functions_against_their_formulas():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(F.sigmoid(x), [1 / (1 + math.exp(-v)) for v in x], rtol=1e-15)
    s = F.sigmoid(x)
    np.testing.assert_allclose(F.sigmoid_grad(x), s * (1 - s), rtol=1e-15)
    np.testing.assert_array_equal(F.relu(x), [0, 0, 0, 0.5, 3.0])
    np.testing.assert_array_equal(F.relu_grad(x), [0, 0, 1, 1, 1])  # 0 counts as active
    np.testing.assert_array_equal(F.step_function(x), [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(F.identity_function(x), x)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(F.softmax([1.0, 2.0, 3.0]), e / e.sum(), rtol=1e-15)
    assert F.mean_squared_error([1.0, 2.0], [0.0, 0.0]) == pytest.approx(2.5)
    assert F.sum_squared_error([1.0, 2.0], [0.0, 0.0]) == pytest.approx(2.5)


def test_array_likes_in_ndarrays_out():
    assert isinstance(F.sigmoid([0.0, 1.0]), np.ndarray)
    assert isinstance(F.relu([[1, -1]]), np.ndarray)
    assert isinstance(F.softmax((1.0, 2.0)), np.ndarray)
    assert F.sigmoid(0.0) == 0.5


def test_overflow_safe_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(F.sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])
        y = F.softmax(np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]]))
        assert np.isfinite(y).all()
        np.testing.assert_allclose(y, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
        assert np.isfinite(F.softmax_loss(np.array([[1000.0, -1000.0]]), [1]))
        assert np.isfinite(F.sigmoid_grad(np.array([-1000.0])))


def test_cross_entropy_with_one_hot_and_labels_matches_the_seed(rng):
    y = F.softmax(rng.normal(size=(7, 10)))
    labels = rng.integers(0, 10, size=7)
    one_hot = seed.change_one_hot_label(labels)
    expected = seed.cross_entropy_error(y, one_hot)
    assert F.cross_entropy_error(y, one_hot) == expected
    assert F.cross_entropy_error(y, labels) == expected
    assert F.cross_entropy_error(y, labels) == pytest.approx(
        -np.mean(np.log(y[np.arange(7), labels] + 1e-7)), rel=1e-14)
    # 1-D: one sample with a one-hot row or a single label
    assert F.cross_entropy_error(y[0], one_hot[0]) == seed.cross_entropy_error(y[0], one_hot[0])
    assert F.cross_entropy_error(y[0], labels[0]) == seed.cross_entropy_error(y[0], one_hot[0])
    logits = rng.normal(size=(5, 10))
    t = seed.change_one_hot_label(rng.integers(0, 10, size=5))
    assert F.softmax_loss(logits, t) == seed.softmax_loss(logits, t)


def test_numerical_gradient_matches_the_seed_and_the_analytic_gradient():
    def f(x):
        return np.sum(x ** 3) + x[0, 1] * x[1, 0]

    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    ours = F.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)  # restored exactly
    np.testing.assert_array_equal(ours, seed.numerical_gradient(f, x.copy()))
    analytic = 3 * x ** 2 + np.array([[0, x[1, 0]], [x[0, 1], 0]])
    np.testing.assert_allclose(ours, analytic, atol=1e-6)
    np.testing.assert_allclose(F.numerical_gradient(lambda v: np.sum(v ** 2), np.arange(3.0)),
                               [0.0, 2.0, 4.0], atol=1e-8)


@pytest.mark.parametrize("t, message", [
    (np.array([0, 10]), "0..9"),
    (np.array([-1, 3]), "0..9"),
    (np.array([0.5, 1.0]), "whole numbers"),
    (np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]]), "not one-hot"),
    (np.array([[0.5] * 10, [1] + [0] * 9]), "not one-hot"),
    # as many non-zeros as rows, but one row empty and the other with two ones
    (np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 10]), "row 0 is not one-hot"),
    # every row's largest entry is 1, but a row holds a -1 besides
    (np.array([[1, -1, 0, 0, 0, 0, 0, 0, 0, 0], [1] + [0] * 9]), "row 0 is not one-hot"),
    (np.array([[np.nan] + [0] * 9, [1] + [0] * 9]), "row 0 is not one-hot"),
    (np.array([[2] + [0] * 9, [0, 1] + [0] * 8]), "row 0 is not one-hot"),
    (np.array([1, 2, 3]), "shape"),
])
def test_bad_targets_raise_clear_value_errors(t, message):
    y = F.softmax(np.zeros((2, 10)))
    with pytest.raises(ValueError, match=message):
        F.cross_entropy_error(y, t)


def test_bad_arguments_of_numerical_gradient():
    with pytest.raises(TypeError, match="float ndarray"):
        F.numerical_gradient(lambda x: 0.0, np.arange(3))  # ints cannot be perturbed by 1e-4
    with pytest.raises(TypeError, match="callable"):
        F.numerical_gradient(3, np.zeros(2))
    with pytest.raises(ValueError, match="same shape"):
        F.mean_squared_error([1, 2], [1, 2, 3])
