"""One update worked by hand on a 2-2-2 network, on every backend (arithmetic in the comments).

Tolerances are a few ulps: softmax computes S = e^-1 / (e + e^-1), not 1 / (1 + e^2).

W1 = [[1, 0], [0, -1]], b1 = 0, W2 = [[1, -1], [2, 0]], b2 = 0, ReLU, target class 0.
"""

import math

import numpy as np
import pytest

from fastnn import TwoLayerNet
from fastnn.optimizers import SGD

S = 1 / (1 + math.exp(2))  # sigma(-2) = 0.11920292202211755


def hand_net(backend):
    net = TwoLayerNet(2, 2, 2, backend=backend, seed=0)
    net.params.update(W1=np.array([[1.0, 0.0], [0.0, -1.0]]), b1=np.zeros(2),
                      W2=np.array([[1.0, -1.0], [2.0, 0.0]]), b2=np.zeros(2))
    return net


def test_gradient_by_hand(backend):
    net = hand_net(backend)
    x = np.array([[1.0, 2.0]])
    # Z1 = x W1 = [1, -2]; A1 = [1, 0]; Z2 = A1 W2 = [1, -1]
    # softmax(Z2) = [sigma(2), sigma(-2)] = [1 - S, S]; loss = -log(1 - S + 1e-7)
    assert net.loss(x, [0]) == pytest.approx(-math.log(1 - S + 1e-7), rel=1e-15)
    g = net.gradient(x, [0])
    # dZ2 = [1 - S - 1, S] = [-S, S]; dW2 = A1^T dZ2; db2 = dZ2
    np.testing.assert_allclose(g["W2"], [[-S, S], [0, 0]], rtol=1e-14)
    np.testing.assert_allclose(g["b2"], [-S, S], rtol=1e-14)
    # dA1 = dZ2 W2^T = [-S + -S, -2S + 0] = [-2S, -2S]; relu'(Z1) = [1, 0] -> dZ1 = [-2S, 0]
    # dW1 = x^T dZ1 = [[-2S, 0], [-4S, 0]]; db1 = dZ1
    np.testing.assert_allclose(g["W1"], [[-2 * S, 0], [-4 * S, 0]], rtol=1e-14)
    np.testing.assert_allclose(g["b1"], [-2 * S, 0], rtol=1e-14)


def test_train_step_by_hand_with_relu_active_at_zero(backend):
    net = hand_net(backend)
    x_u8 = np.array([[255, 0]], dtype=np.uint8)  # x = [1, 0]
    y = np.array([0], dtype=np.int64)
    step = backend.make_train_step(x_u8, y, net.params, "relu", SGD(0.5), 1)
    loss, n_correct = step(np.array([0]))
    # Z1 = [1, 0]: the seed's relu'(0) = 1 keeps unit 2 active in the backward pass.
    # A1 = [1, 0]; Z2 = [1, -1]; loss = -log(1 - S + 1e-7); class 0 predicted: 1 correct
    assert loss == pytest.approx(-math.log(1 - S + 1e-7), rel=1e-15)
    assert n_correct == 1
    # dZ2 = [-S, S]; dA1 = [-2S, -2S]; dZ1 = [-2S, -2S]; dW1 = [[-2S, -2S], [0, 0]]
    # W1 -= 0.5 dW1 -> [[1 + S, S], [0, -1]]; b1 -> [S, S]
    np.testing.assert_allclose(net.params["W1"], [[1 + S, S], [0, -1]], rtol=1e-14)
    np.testing.assert_allclose(net.params["b1"], [S, S], rtol=1e-14)
    # dW2 = [[-S, S], [0, 0]] -> W2 = [[1 + S/2, -1 - S/2], [2, 0]]; b2 = [S/2, -S/2]
    np.testing.assert_allclose(net.params["W2"], [[1 + S / 2, -1 - S / 2], [2, 0]], rtol=1e-14)
    np.testing.assert_allclose(net.params["b2"], [S / 2, -S / 2], rtol=1e-14)
