"""Optimizers with the book's update rules: ``update(params, grads)`` changes ``params`` in place.

>>> opt = make_optimizer("adam", learning_rate=0.001)
>>> opt.name, opt.lr
('adam', 0.001)
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_non_negative_float, check_positive_float

__all__ = ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "OPTIMIZERS",
           "make_optimizer"]

#: Added to the denominators of the adaptive methods, as in the book.
_EPS = 1e-7


class SGD:
    """Plain stochastic gradient descent: ``p -= lr * g``.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    weight_decay : float, default 0
        L2 weight decay: the weights' gradients get ``weight_decay * W`` added (the book's
        ``weight_decay_lambda``; the biases are left alone), for every optimizer.
    """

    name = "sgd"

    def __init__(self, lr=0.01, weight_decay=0.0):
        self.lr = check_positive_float(lr, "learning_rate")
        self.weight_decay = check_non_negative_float(weight_decay, "weight_decay")

    def _decayed(self, key, grad, params):
        """The gradient of ``key`` with the weight decay term (weights only)."""
        if self.weight_decay and key.startswith("W"):
            return grad + self.weight_decay * params[key]
        return grad

    def state(self, params):
        """``(first, second)``: the per-parameter state dicts (None where the method keeps
        none), made as zeros like ``params`` on first use; the Numba backend's fused step
        updates these very arrays, so the two can take turns."""
        return None, None

    def update(self, params, grads):
        """Apply one step to every array of ``params`` (dict name -> ndarray), in place."""
        for key, grad in grads.items():
            params[key] -= self.lr * self._decayed(key, grad, params)


class Momentum(SGD):
    """Momentum SGD: ``v = momentum * v - lr * g; p += v``."""

    name = "momentum"

    def __init__(self, lr=0.01, momentum=0.9, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.momentum = momentum
        self.v = None

    def state(self, params):
        if self.v is None:
            self.v = _zeros_like(params)
        return self.v, None

    def update(self, params, grads):
        v, _ = self.state(params)
        for key, grad in grads.items():
            grad = self._decayed(key, grad, params)
            # v = momentum * v - lr * g, in place: the same two roundings, one array kept
            v[key] *= self.momentum
            v[key] -= self.lr * grad
            params[key] += v[key]


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, in the book's form: ``p += mu * mu * v;
    p -= (1 + mu) * lr * g; v = mu * v - lr * g``."""

    name = "nesterov"

    def update(self, params, grads):
        v, _ = self.state(params)
        mu = self.momentum
        for key, grad in grads.items():
            grad = self._decayed(key, grad, params)
            params[key] += mu * mu * v[key]
            params[key] -= (1 + mu) * self.lr * grad
            v[key] *= mu
            v[key] -= self.lr * grad


class AdaGrad(SGD):
    """AdaGrad: ``h += g * g; p -= lr * g / (sqrt(h) + 1e-7)``."""

    name = "adagrad"

    def __init__(self, lr=0.01, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.h = None
        self.eps = _EPS

    def state(self, params):
        if self.h is None:
            self.h = _zeros_like(params)
        return self.h, None

    def update(self, params, grads):
        h, _ = self.state(params)
        for key, grad in grads.items():
            grad = self._decayed(key, grad, params)
            h[key] += grad * grad
            params[key] -= self.lr * grad / (np.sqrt(h[key]) + self.eps)


class RMSprop(SGD):
    """RMSprop: ``h = decay * h + (1 - decay) * g * g; p -= lr * g / (sqrt(h) + 1e-7)``."""

    name = "rmsprop"

    def __init__(self, lr=0.01, decay_rate=0.99, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.decay_rate = decay_rate
        self.h = None
        self.eps = _EPS

    def state(self, params):
        if self.h is None:
            self.h = _zeros_like(params)
        return self.h, None

    def update(self, params, grads):
        h, _ = self.state(params)
        for key, grad in grads.items():
            grad = self._decayed(key, grad, params)
            h[key] *= self.decay_rate
            h[key] += (1 - self.decay_rate) * grad * grad
            params[key] -= self.lr * grad / (np.sqrt(h[key]) + self.eps)


class Adam(SGD):
    """Adam, in the book's bias-corrected form."""

    name = "adam"

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.beta1, self.beta2 = beta1, beta2
        self.iter = 0
        self.m = self.v = None
        self.eps = _EPS

    def state(self, params):
        if self.m is None:
            self.m, self.v = _zeros_like(params), _zeros_like(params)
        return self.m, self.v

    def next_lr(self):
        """Count one more step and return its bias-corrected rate (a NumPy float64: in float32,
        ``lr_t * m`` is then computed in float64, as the book's code does)."""
        self.iter += 1
        return self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)

    def update(self, params, grads):
        m, v = self.state(params)
        lr_t = self.next_lr()
        for key, grad in grads.items():
            grad = self._decayed(key, grad, params)
            m[key] += (1 - self.beta1) * (grad - m[key])
            v[key] += (1 - self.beta2) * (grad ** 2 - v[key])
            params[key] -= lr_t * m[key] / (np.sqrt(v[key]) + self.eps)


def _zeros_like(params):
    return {key: np.zeros_like(p) for key, p in params.items()}


#: name -> optimizer class.
OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}


def make_optimizer(name, learning_rate, weight_decay=0.0):
    """Return a new optimizer called ``name`` with learning rate ``learning_rate``.

    Raises
    ------
    ValueError
        For an unknown name (listing the valid ones), a learning rate that is not > 0 or a
        negative weight decay.
    """
    cls = OPTIMIZERS[check_choice(name, tuple(OPTIMIZERS), "optimizer")]
    return cls(learning_rate, weight_decay=weight_decay)

