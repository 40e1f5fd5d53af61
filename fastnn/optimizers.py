"""Optimizers with the book's update rules: ``update(params, grads)`` changes ``params`` in place.

>>> opt = make_optimizer("adam", learning_rate=0.001)
>>> opt.name, opt.lr
('adam', 0.001)
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_positive_float

__all__ = ["SGD", "Momentum", "AdaGrad", "RMSprop", "Adam", "OPTIMIZERS", "make_optimizer"]

#: Added to the denominators of the adaptive methods, as in the book.
_EPS = 1e-7


class SGD:
    """Plain stochastic gradient descent: ``p -= lr * g``.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    """

    name = "sgd"

    def __init__(self, lr=0.01):
        self.lr = check_positive_float(lr, "learning_rate")

    def update(self, params, grads):
        """Apply one step to every array of ``params`` (dict name -> ndarray), in place."""
        for key, grad in grads.items():
            params[key] -= self.lr * grad


class Momentum(SGD):
    """Momentum SGD: ``v = momentum * v - lr * g; p += v``."""

    name = "momentum"

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr)
        self.momentum = momentum
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        for key, grad in grads.items():
            self.v[key] = self.momentum * self.v[key] - self.lr * grad
            params[key] += self.v[key]


class AdaGrad(SGD):
    """AdaGrad: ``h += g * g; p -= lr * g / (sqrt(h) + 1e-7)``."""

    name = "adagrad"

    def __init__(self, lr=0.01):
        super().__init__(lr)
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = {key: np.zeros_like(p) for key, p in params.items()}
        for key, grad in grads.items():
            self.h[key] += grad * grad
            params[key] -= self.lr * grad / (np.sqrt(self.h[key]) + _EPS)


class RMSprop(SGD):
    """RMSprop: ``h = decay * h + (1 - decay) * g * g; p -= lr * g / (sqrt(h) + 1e-7)``."""

    name = "rmsprop"

    def __init__(self, lr=0.01, decay_rate=0.99):
        super().__init__(lr)
        self.decay_rate = decay_rate
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = {key: np.zeros_like(p) for key, p in params.items()}
        for key, grad in grads.items():
            self.h[key] *= self.decay_rate
            self.h[key] += (1 - self.decay_rate) * grad * grad
            params[key] -= self.lr * grad / (np.sqrt(self.h[key]) + _EPS)


class Adam(SGD):
    """Adam, in the book's bias-corrected form."""

    name = "adam"

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        super().__init__(lr)
        self.beta1, self.beta2 = beta1, beta2
        self.iter = 0
        self.m = self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m = {key: np.zeros_like(p) for key, p in params.items()}
            self.v = {key: np.zeros_like(p) for key, p in params.items()}
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for key, grad in grads.items():
            self.m[key] += (1 - self.beta1) * (grad - self.m[key])
            self.v[key] += (1 - self.beta2) * (grad ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + _EPS)


#: name -> optimizer class.
OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, AdaGrad, RMSprop, Adam)}


def make_optimizer(name, learning_rate):
    """Return a new optimizer called ``name`` with learning rate ``learning_rate``.

    Raises
    ------
    ValueError
        For an unknown name (listing the valid ones) or a learning rate that is not > 0.
    """
    return OPTIMIZERS[check_choice(name, tuple(OPTIMIZERS), "optimizer")](learning_rate)

