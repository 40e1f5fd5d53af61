"""The teaching program runs unchanged on fastnn's names and follows its own training.

The program body below is the seed's main section verbatim (indentation restored, iterations
reduced, the final accuracy printed); only the lines that define or import its names differ.
"""

import os
import subprocess
import sys

import pytest

ITERS = 1000

PROGRAM_BODY = """
mnist = tf.keras.datasets.mnist
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
x_train = x_train.reshape(-1,784)
x_test = x_test.reshape(-1,784)
y_train = _change_one_hot_label(y_train)
y_test = _change_one_hot_label(y_test)
network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
iters_num = ITERS
train_size = x_train.shape[0]
batch_size = 512
learning_rate = 0.05
train_loss_list = []
train_acc_list = []
test_acc_list = []
iter_per_epoch = max(train_size / batch_size, 1)
for i in range(iters_num):
    batch_mask = np.random.choice(train_size, batch_size)
    x_batch = x_train[batch_mask]
    y_batch = y_train[batch_mask]
    grad = network.gradient(x_batch, y_batch)
    for key in ('W1', 'b1', 'W2', 'b2'):
        network.params[key] -= learning_rate * grad[key]
    loss = network.loss(x_batch, y_batch)
    train_loss_list.append(loss)
    if i % iter_per_epoch == 0:
        train_acc = network.accuracy(x_train, y_train)
        test_acc = network.accuracy(x_test, y_test)
        train_acc_list.append(train_acc)
        test_acc_list.append(test_acc)
        print(train_acc, test_acc)
plt.subplot(1,2,1)
plt.plot(train_loss_list, label="$Loss$")
plt.subplot(1,2,2)
plt.plot(train_acc_list, label="$train_{acc}$")
plt.plot(test_acc_list, label="$test_{acc}$")
plt.show()
print("FINAL", network.accuracy(x_test, y_test))
"""

COMMON_HEADER = """
import types
import numpy as np
import matplotlib.pylab as plt
from fastnn.datasets import mnist as _mnist
_ns = types.SimpleNamespace
tf = _ns(keras=_ns(datasets=_ns(mnist=_mnist)))
np.random.seed(0)
"""

SEED_HEADER = """
from fastnn.bench.baselines.seed import (sigmoid, sigmoid_grad, relu, relu_grad, softmax,
    mean_squared_error, cross_entropy_error, softmax_loss, numerical_gradient, TwoLayerNet)
from fastnn.bench.baselines.seed import change_one_hot_label as _change_one_hot_label
"""

FASTNN_HEADER = """
from fastnn import (sigmoid, sigmoid_grad, relu, relu_grad, softmax, mean_squared_error,
                    cross_entropy_error, softmax_loss, numerical_gradient, TwoLayerNet)
from fastnn.bench.baselines.seed import change_one_hot_label as _change_one_hot_label
"""


def run_program(header, tmp_path, name, backend):
    script = tmp_path / f"{name}.py"
    script.write_text(COMMON_HEADER + header + PROGRAM_BODY.replace("ITERS", str(ITERS)))
    env = dict(os.environ, MPLBACKEND="Agg", FASTNN_BACKEND=backend)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    return float(lines[-1].split()[1]), lines[:-1]


@pytest.fixture(scope="module")
def seed_result(tmp_path_factory):
    return run_program(SEED_HEADER, tmp_path_factory.mktemp("seed"), "seed", "numpy")


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_seed_program_runs_unchanged_on_fastnn_names(seed_result, tmp_path, backend):
    seed_accuracy, seed_lines = seed_result
    accuracy, lines = run_program(FASTNN_HEADER, tmp_path, "fastnn_names", backend)
    assert seed_accuracy > 0.85  # the run did learn
    assert abs(accuracy - seed_accuracy) <= 0.002
    if backend == "numpy":
        assert accuracy == seed_accuracy and lines == seed_lines  # the reference is the seed
