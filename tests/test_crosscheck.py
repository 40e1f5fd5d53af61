"""The cross-check table: every kernel x dtype x awkward case, numba against the numpy reference.

One test per (table entry, dtype) asserts the issue's tolerances; the report API is tested on
identical backends (exact) and on deliberately broken ones (it must fail, and say where).
"""

import numpy as np
import pytest

from fastnn.backends import crosscheck
from fastnn.backends.numpy_backend import NumpyBackend

KERNELS = {"gather_scaled", "dense_forward", "softmax_cross_entropy", "two_layer_backward",
           "predict_labels", "predict_labels_u8", "logits", "loss_gradient", "train_step"}
OUTPUTS = {
    "gather_scaled": {"out"},
    "dense_forward": {"Z", "A", "returns A"},
    "softmax_cross_entropy": {"loss", "dlogits", "loss is float"},
    "two_layer_backward": {"dZ1", "dW1", "db1", "dW2", "db2"},
    "predict_labels": {"labels"},
    "predict_labels_u8": {"labels"},
    "logits": {"logits"},
    "loss_gradient": {"loss", "dW1", "db1", "dW2", "db2"},
    "train_step": {"loss", "n_correct", "W1", "b1", "W2", "b2"},
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("comparison", crosscheck.COMPARISONS,
                         ids=[f"{c.kernel}[{c.case}]" for c in crosscheck.COMPARISONS])
def test_numba_matches_numpy(comparison, dtype, crosscheck_report):
    # the rows of the session's one run of the table (`fastnn check` shows the same report)
    rows = [r for r in crosscheck_report.rows
            if (r.kernel, r.case, r.dtype) == (comparison.kernel, comparison.case, dtype)]
    state = {f"state{k} {p}" for k, opts in (("", ("momentum", "nesterov", "adagrad", "rmsprop",
                                                   "adam")),
                                             ("2", ("adam",)))
             if any(opt in comparison.case for opt in opts) for p in ("W1", "b1", "W2", "b2")}
    assert {r.output for r in rows} == OUTPUTS[comparison.kernel] | {"inputs unchanged"} | state
    bad = [f"{r.output}: max|diff| {r.max_abs_diff:.3e} > tol {r.tol:.3e} "
           f"(max|ref| {r.max_abs_ref:.3e})" for r in rows if not r.ok]
    assert not bad, "\n".join(bad)


def test_the_table_covers_every_kernel_and_the_awkward_cases():
    table = crosscheck.COMPARISONS
    assert {c.kernel for c in table} == KERNELS
    cases = {(c.kernel, c.case) for c in table}
    for kernel in ("dense_forward", "two_layer_backward", "predict_labels", "train_step"):
        names = " ".join(case for k, case in cases if k == kernel)
        for h in (1, 7, 50, 129):
            assert f"h={h} " in names, (kernel, h)
        assert "batch 1" in names and "all-zero" in names and "sigmoid" in names, kernel
        assert "relu" in names, kernel
    softmax = " ".join(case for k, case in cases if k == "softmax_cross_entropy")
    assert "+-1000" in softmax and "labels all 0" in softmax and "labels all 9" in softmax
    assert any("normal X" in case for _, case in cases)  # random inputs besides uint8 ones
    assert len(cases) == len(table)  # case names are unique per kernel


def test_identical_backends_give_an_exact_report():
    report = crosscheck.run_crosscheck(reference="numpy", candidate="numpy")
    assert report.ok
    assert len(report.rows) > 300 and all(r.max_abs_diff == 0 for r in report.rows)
    row = report.rows[0]
    assert set(row._fields) == {"kernel", "case", "dtype", "output", "max_abs_diff",
                                "max_abs_ref", "rel", "tol", "ok"}
    table = report.format_table()
    for kernel in KERNELS:
        lines = [line for line in table.splitlines() if line.split(" ", 1)[0] == kernel]
        assert len(lines) == 2  # one line per dtype
    assert "all within tolerance" in table and "FAIL" not in table


class _Broken(NumpyBackend):
    """The reference with four planted bugs, each one a kernel the check must catch."""

    name = "broken"

    def dense_forward(self, X, W, b, activation, Z, A):
        super().dense_forward(X, W, b, activation, Z, A)
        A *= 1 + 1e-10  # far below float32's tolerance, far above float64's
        return A

    def gather_scaled(self, x_u8, idx, out):
        super().gather_scaled(x_u8[:, :], idx[:-1], out[:-1])  # forgets the last row
        return out

    def softmax_cross_entropy(self, logits, labels, dlogits):
        loss = super().softmax_cross_entropy(logits, labels, dlogits)
        logits[:1] = dlogits[:1]  # writes into an input
        return loss

    def predict_labels(self, X, W1, b1, W2, b2, activation, out):
        super().predict_labels(X, W1, b1, W2, b2, activation, out)
        Z2 = np.maximum(0, X @ W1 + b1) @ W2 + b2 if activation == "relu" else None
        if Z2 is not None:  # last maximum on ties instead of the first
            out[:] = Z2.shape[1] - 1 - np.argmax(Z2[:, ::-1], axis=1)
        return out


@pytest.mark.parametrize("kernel, case, dtype, output", [
    ("dense_forward", "relu h=50 uint8 X", "float64", "A"),
    ("gather_scaled", "batch 1", "float32", "out"),
    ("softmax_cross_entropy", "batch 512", "float64", "inputs unchanged"),
    ("predict_labels", "relu tied logits", "float32", "labels"),
])
def test_a_wrong_backend_fails_the_check(kernel, case, dtype, output):
    (comparison,) = [c for c in crosscheck.COMPARISONS if (c.kernel, c.case) == (kernel, case)]
    rows = crosscheck.compare(comparison, dtype, reference="numpy", candidate=_Broken())
    failed = {r.output for r in rows if not r.ok}
    assert output in failed
    report = crosscheck.CheckReport(rows, "numpy", "broken")
    assert not report.ok
    assert "FAIL" in report.format_table() and kernel in report.format_table()


def test_the_planted_float64_error_passes_in_float32():
    (comparison,) = [c for c in crosscheck.COMPARISONS
                     if (c.kernel, c.case) == ("dense_forward", "relu h=50 uint8 X")]
    rows = crosscheck.compare(comparison, "float32", reference="numpy", candidate=_Broken())
    assert all(r.ok for r in rows)  # 1e-10 is within float32's 1e-5: tolerances are per dtype
