"""The teaching program's definitions (``shared/seed``), the one transcription fastnn keeps.

The benchmark's naive loop runs on it and the tests use it as their oracle, so both compare
against the program as its readers have it. Only the indentation lost in the published text is
restored; the function bodies are unchanged, overflow warnings and integer masks included. The
class takes three keywords the program does not have: ``activation`` (the program switches by
editing comments), ``randn`` (where the weights are drawn from; NumPy's global state, as the
program does, by default) and ``dtype`` (the program only runs float64).
"""

import numpy as np

__all__ = ["sigmoid", "sigmoid_grad", "relu", "relu_grad", "softmax", "mean_squared_error",
           "cross_entropy_error", "softmax_loss", "numerical_gradient", "TwoLayerNet",
           "change_one_hot_label"]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_grad(x):
    return (1.0 - sigmoid(x)) * sigmoid(x)


def relu(x):
    return np.maximum(0, x)


def relu_grad(x):
    x = np.where(x >= 0, 1, 0)
    return x


def softmax(x):
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def mean_squared_error(y, t):
    return 0.5 * np.sum((y - t) ** 2)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


def softmax_loss(X, t):
    y = softmax(X)
    return cross_entropy_error(y, t)


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
        it.iternext()
    return grad


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01,
                 activation="relu", randn=None, dtype="float64"):
        randn = np.random.randn if randn is None else randn
        self.params = {}
        self.params["W1"] = (weight_init_std * randn(input_size, hidden_size)).astype(dtype)
        self.params["b1"] = np.zeros(hidden_size, dtype=dtype)
        self.params["W2"] = (weight_init_std * randn(hidden_size, output_size)).astype(dtype)
        self.params["b2"] = np.zeros(output_size, dtype=dtype)
        self.act, self.act_grad = ((relu, relu_grad) if activation == "relu"
                                   else (sigmoid, sigmoid_grad))

    def predict(self, x):
        W1, W2 = self.params["W1"], self.params["W2"]
        b1, b2 = self.params["b1"], self.params["b2"]
        a1 = np.dot(x, W1) + b1
        z1 = self.act(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        return y

    def loss(self, x, t):
        y = self.predict(x)
        return cross_entropy_error(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        t = np.argmax(t, axis=1)
        accuracy = np.sum(y == t) / float(x.shape[0])
        return accuracy

    def numerical_gradient(self, x, t):
        def loss_W(W):
            return self.loss(x, t)

        grads = {}
        grads["W1"] = numerical_gradient(loss_W, self.params["W1"])
        grads["b1"] = numerical_gradient(loss_W, self.params["b1"])
        grads["W2"] = numerical_gradient(loss_W, self.params["W2"])
        grads["b2"] = numerical_gradient(loss_W, self.params["b2"])
        return grads

    def gradient(self, x, t):
        W1, W2 = self.params["W1"], self.params["W2"]
        b1, b2 = self.params["b1"], self.params["b2"]
        grads = {}
        batch_num = x.shape[0]
        a1 = np.dot(x, W1) + b1
        z1 = self.act(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        dy = (y - t) / batch_num
        grads["W2"] = np.dot(z1.T, dy)
        grads["b2"] = np.sum(dy, axis=0)
        da1 = np.dot(dy, W2.T)
        dz1 = self.act_grad(a1) * da1
        grads["W1"] = np.dot(x.T, dz1)
        grads["b1"] = np.sum(dz1, axis=0)
        return grads


def change_one_hot_label(X, dtype="float64"):
    T = np.zeros((X.size, 10), dtype=dtype)
    for idx, row in enumerate(T):
        row[X[idx]] = 1
    return T
