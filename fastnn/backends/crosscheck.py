"""Cross-check one backend against another, kernel by kernel, from one comparison table.

Every entry of :data:`COMPARISONS` names a kernel (or the train step), an awkward case and a
function that builds its inputs; :func:`run_crosscheck` runs each entry in both working dtypes
on the reference and the candidate backend, with fresh output buffers filled with NaN (so an
element a kernel forgets to write shows up), and compares every output with the issue's rule

    ``max|candidate - reference| <= rtol * max|reference|``

with ``rtol`` from :data:`RTOL` (integer outputs, such as labels, must be equal). Inputs are also
checked to be unchanged by the candidate. ``fastnn check`` prints :meth:`CheckReport.format_table`.

>>> report = run_crosscheck()          # doctest: +SKIP
>>> report.ok                          # doctest: +SKIP
True
"""

from __future__ import annotations

import zlib
from collections import namedtuple

import numpy as np

from fastnn import backends

from ._crosscheck_inputs import (
    backward_in,
    dense_in,
    float_in,
    gather_in,
    predict_in,
    predict_u8_in,
    softmax_in,
    step_in,
)

__all__ = ["COMPARISONS", "RTOL", "Comparison", "CheckReport", "Row", "compare",
           "run_crosscheck"]

#: Relative tolerance per working dtype.
RTOL = {"float64": 1e-12, "float32": 1e-5}

Comparison = namedtuple("Comparison", "kernel case make float32_factor", defaults=(1.0,))
Comparison.__doc__ = """One row of the table: ``make(rng, dtype) -> dict`` of named inputs;
``float32_factor`` widens the float32 tolerance where the math itself amplifies rounding."""
#: AdaGrad and RMSprop divide each gradient by its own size, so a near-zero gradient whose last
#: float32 bit depends on the summation order moves its weight by up to ``lr``: the NumPy
#: reference differs from itself by 6e-6 between one and two BLAS threads on these cases.
NORMALISING_FLOAT32_FACTOR = 10.0
Row = namedtuple("Row", "kernel case dtype output max_abs_diff max_abs_ref rel tol ok")

# --- running one kernel -------------------------------------------------------------------------

def _nan(shape, dt):
    return np.full(shape, np.nan, dt)


def _run(backend, kernel, inp):
    """Call ``kernel`` of ``backend`` on ``inp`` with fresh outputs; return the named outputs."""
    if kernel == "gather_scaled":
        out = _nan((len(inp["idx"]), inp["x_u8"].shape[1]), inp["dtype"])
        backend.gather_scaled(inp["x_u8"], inp["idx"], out)
        return {"out": out}
    if kernel == "dense_forward":
        Z = _nan((inp["X"].shape[0], inp["W"].shape[1]), inp["X"].dtype)
        A = Z if inp.get("in_place") else np.full_like(Z, np.nan)
        ret = backend.dense_forward(inp["X"], inp["W"], inp["b"], inp["activation"], Z, A)
        return {"Z": Z, "A": A, "returns A": np.array(ret is A, float)}
    if kernel == "softmax_cross_entropy":
        d = np.full_like(inp["logits"], np.nan)
        loss = backend.softmax_cross_entropy(inp["logits"], inp["labels"], d)
        return {"loss": np.array(loss), "dlogits": d, "loss is float": np.array(
            type(loss) is float, float)}
    if kernel == "two_layer_backward":
        X, W2 = inp["X"], inp["W2"]
        (n, d), (h, c), dt = X.shape, W2.shape, X.dtype
        outs = {"dZ1": _nan((n, h), dt), "dW1": _nan((d, h), dt), "db1": _nan(h, dt),
                "dW2": _nan((h, c), dt), "db2": _nan(c, dt)}
        backend.two_layer_backward(X, inp["Z1"], inp["A1"], W2, inp["dZ2"], inp["activation"],
                                   outs["dZ1"], outs["dW1"], outs["db1"], outs["dW2"],
                                   outs["db2"])
        return outs
    if kernel == "predict_labels":
        out = np.full(inp["X"].shape[0], -1, np.int64)
        backend.predict_labels(inp["X"], inp["W1"], inp["b1"], inp["W2"], inp["b2"],
                               inp["activation"], out)
        return {"labels": out}
    if kernel == "predict_labels_u8":
        out = np.full(inp["x_u8"].shape[0], -1, np.int64)
        backend.predict_labels_u8(inp["x_u8"], inp["W1"], inp["b1"], inp["W2"], inp["b2"],
                                  inp["activation"], out)
        return {"labels": out}
    if kernel == "logits":
        out = _nan((inp["X"].shape[0], inp["W2"].shape[1]), inp["W1"].dtype)
        backend.logits(inp["X"], inp["W1"], inp["b1"], inp["W2"], inp["b2"], inp["activation"],
                       out)
        return {"logits": out}
    if kernel == "loss_gradient":
        W1, W2 = inp["W1"], inp["W2"]
        outs = {"dW1": _nan(W1.shape, W1.dtype), "db1": _nan(W1.shape[1], W1.dtype),
                "dW2": _nan(W2.shape, W1.dtype), "db2": _nan(W2.shape[1], W1.dtype)}
        loss = backend.loss_gradient(inp["X"], inp["labels"], W1, inp["b1"], W2, inp["b2"],
                                     inp["activation"], outs["dW1"], outs["db1"], outs["dW2"],
                                     outs["db2"])
        return dict(loss=np.array(loss), **outs)
    if kernel == "train_step":
        from ..optimizers import make_optimizer

        params = {k: v.copy() for k, v in inp["params"].items()}
        optimizer = make_optimizer(inp.get("optimizer", "sgd"), inp["lr"],
                                   weight_decay=inp.get("weight_decay", 0.0))
        n = len(inp["idx"]) // inp.get("steps", 1)
        step = backend.make_train_step(inp["x_u8"], inp["y"], params, inp["activation"],
                                       optimizer, n)
        losses, hits = [], []
        for k in range(inp.get("steps", 1)):  # later steps start from the optimizer's state
            loss, n_correct = step(inp["idx"][k * n:(k + 1) * n])
            losses.append(loss)
            hits.append(n_correct)
        first, second = optimizer.state(params)
        state = {f"{which} {key}": a for which, d in (("state", first), ("state2", second))
                 if d is not None for key, a in d.items()}
        return dict(loss=np.array(losses), n_correct=np.array(hits), **params, **state)
    raise ValueError(f"unknown kernel {kernel!r}")


def _diff(ref, cand):
    """Largest absolute difference; equal NaNs count as 0, a lone NaN or a shape change as inf."""
    ref, cand = np.asarray(ref), np.asarray(cand)
    if ref.shape != cand.shape or ref.dtype != cand.dtype:
        return np.inf
    if ref.dtype.kind in "iub":
        return float(np.max(np.abs(ref.astype(np.int64) - cand), initial=0))
    both_nan = np.isnan(ref) & np.isnan(cand)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.atleast_1d(np.abs(ref.astype(np.float64) - cand.astype(np.float64)))
    d[np.atleast_1d(both_nan)] = 0
    d[np.isnan(d)] = np.inf
    return float(np.max(d, initial=0))


def compare(comparison, dtype, reference="numpy", candidate="numba", seed=0):
    """Run one table entry in ``dtype`` on both backends; return its :class:`Row` list."""
    ref_be, cand_be = backends.get(reference), backends.get(candidate)
    dt = np.dtype(dtype).type
    key = zlib.crc32(f"{comparison.kernel}|{comparison.case}".encode())
    inp = comparison.make(np.random.default_rng([seed, key]), dt)
    inp["dtype"] = dt
    before = {k: np.copy(v) for k, v in inp.items() if isinstance(v, np.ndarray)}
    with np.errstate(invalid="ignore", over="ignore"):  # the inf/nan cases are deliberate
        ref_out = _run(ref_be, comparison.kernel, inp)
        cand_out = _run(cand_be, comparison.kernel, inp)
    unchanged = all(np.array_equal(v, inp[k], equal_nan=True) for k, v in before.items())
    cand_out["inputs unchanged"], ref_out["inputs unchanged"] = np.array(unchanged), np.array(True)
    rtol = RTOL[np.dtype(dtype).name] * (comparison.float32_factor if dtype == "float32" else 1)
    rows = []
    for name, ref in ref_out.items():
        ref = np.asarray(ref)
        exact = ref.dtype.kind in "iub" or name in ("returns A", "loss is float")
        flat = np.atleast_1d(ref)
        finite = flat[:0] if exact else flat[np.isfinite(flat)]
        max_ref = float(np.max(np.abs(finite), initial=0))
        diff = _diff(ref, cand_out[name])
        tol = 0.0 if exact else rtol * max_ref
        rel = diff / max_ref if max_ref > 0 else (0.0 if diff == 0 else np.inf)
        rows.append(Row(comparison.kernel, comparison.case, np.dtype(dtype).name, name, diff,
                        max_ref, rel, tol, bool(diff <= tol)))
    return rows


# --- the table ------------------------------------------------------------------------------------

def _table():
    rows = [
        Comparison("gather_scaled", "mnist batch 512 (repeats)", gather_in()),
        Comparison("gather_scaled", "batch 1", gather_in(n=1)),
        Comparison("gather_scaled", "all-zero rows", gather_in(zero_rows=True)),
        Comparison("gather_scaled", "width 7", gather_in(n=33, d=7)),
    ]
    for act in ("relu", "sigmoid", "identity"):
        for h in (1, 7, 50, 129):
            rows.append(Comparison("dense_forward", f"{act} h={h} uint8 X", dense_in(act, h)))
        rows += [
            Comparison("dense_forward", f"{act} h=50 normal X", dense_in(act, 50, kind="normal")),
            Comparison("dense_forward", f"{act} h=7 batch 1", dense_in(act, 7, n=1)),
            Comparison("dense_forward", f"{act} h=50 all-zero rows",
                       dense_in(act, 50, zero_rows=64)),
        ]
    rows.append(Comparison("dense_forward", "identity in place (Z is A)",
                           lambda rng, dt: dict(dense_in("identity", 10)(rng, dt),
                                                in_place=True)))
    rows += [
        Comparison("softmax_cross_entropy", "batch 512", softmax_in()),
        Comparison("softmax_cross_entropy", "logits +-1000", softmax_in(scale=1000.0)),
        Comparison("softmax_cross_entropy", "labels all 0", softmax_in(labels=0)),
        Comparison("softmax_cross_entropy", "labels all 9", softmax_in(labels=9)),
        Comparison("softmax_cross_entropy", "batch 1", softmax_in(n=1)),
        Comparison("softmax_cross_entropy", "tied logits", softmax_in(ties=True)),
    ]
    for act in ("relu", "sigmoid"):
        for h in (1, 7, 50, 129):
            rows.append(Comparison("two_layer_backward", f"{act} h={h} uint8 X",
                                   backward_in(act, h)))
            rows.append(Comparison("predict_labels", f"{act} h={h} uint8 X",
                                   predict_in(act, h)))
            rows.append(Comparison("train_step", f"{act} h={h} batch 64", step_in(act, h)))
        rows += [
            Comparison("two_layer_backward", f"{act} h=50 normal X",
                       backward_in(act, 50, kind="normal")),
            Comparison("two_layer_backward", f"{act} h=7 batch 1", backward_in(act, 7, n=1)),
            Comparison("two_layer_backward", f"{act} h=50 all-zero rows",
                       backward_in(act, 50, zero_rows=64)),
            Comparison("predict_labels", f"{act} h=50 normal X",
                       predict_in(act, 50, kind="normal")),
            Comparison("predict_labels", f"{act} h=7 batch 1", predict_in(act, 7, n=1)),
            Comparison("predict_labels", f"{act} h=50 all-zero rows",
                       predict_in(act, 50, zero_rows=1000)),
            Comparison("predict_labels", f"{act} tied logits", predict_in(act, 50, ties=True)),
            Comparison("predict_labels_u8", f"{act} h=50 2000 images", predict_u8_in(act, 50)),
            Comparison("predict_labels_u8", f"{act} h=7 all-zero images",
                       predict_u8_in(act, 7, zero_images=True)),
            Comparison("predict_labels_u8", f"{act} h=129 an infinite weight",
                       predict_u8_in(act, 129, inf_weight=True)),
            Comparison("train_step", f"{act} h=50 batch 512", step_in(act, 50, batch=512)),
            Comparison("train_step", f"{act} h=7 batch 1", step_in(act, 7, batch=1)),
            Comparison("train_step", f"{act} h=50 an infinite weight",
                       step_in(act, 50, inf_weight=True)),
            *(Comparison("train_step", f"{act} h={h} {opt} 3 steps",
                         step_in(act, h, optimizer=opt, steps=3),
                         NORMALISING_FLOAT32_FACTOR if opt in ("adagrad", "rmsprop") else 1.0)
              for opt in ("momentum", "nesterov", "adagrad", "rmsprop", "adam") for h in (7, 50)),
            # (not RMSprop here: over 300 units some gradient is a cancellation, whose large
            # relative error its normalisation turns into a step error above 1e-12 of W1)
            *(Comparison("train_step", f"{act} h=300 {opt} 2 steps",
                         step_in(act, 300, optimizer=opt, steps=2)) for opt in ("sgd", "adam")),
            *(Comparison("train_step", f"{act} h=50 {opt} dense pixels (dense route)",
                         step_in(act, 50, optimizer=opt, steps=2, dense=True))
              for opt in ("sgd", "adam")),
            *(Comparison("train_step", f"{act} h=50 {opt} weight decay 0.01, 3 steps",
                         step_in(act, 50, optimizer=opt, steps=3, weight_decay=0.01),
                         NORMALISING_FLOAT32_FACTOR if opt in ("adagrad", "rmsprop") else 1.0)
              for opt in ("sgd", "nesterov", "adam")),
            Comparison("train_step", f"{act} h=50 all-zero images",
                       step_in(act, 50, zero_images=True)),
        ]
    for kernel in ("logits", "loss_gradient"):
        for act in ("relu", "sigmoid"):
            rows += [Comparison(kernel, f"{act} h={h} uint8 X", float_in(act, h))
                     for h in (1, 7, 50, 129)]
            rows += [
                Comparison(kernel, f"{act} h=50 normal X", float_in(act, 50, kind="normal")),
                Comparison(kernel, f"{act} h=7 batch 1", float_in(act, 7, n=1)),
                Comparison(kernel, f"{act} h=50 batch 512", float_in(act, 50, n=512)),
                Comparison(kernel, f"{act} h=50 all-zero rows", float_in(act, 50, zero_rows=64)),
                Comparison(kernel, f"{act} h=50 an infinite weight",
                           float_in(act, 50, inf_weight=True)),
                Comparison(kernel, f"{act} h=50 float32 X", float_in(act, 50, narrow=True)),
            ]
        rows += [Comparison(kernel, f"relu labels all {k}", float_in("relu", 50, labels=k))
                 for k in (0, 9)]
    return tuple(rows)


#: The comparison table: every kernel and the train step, awkward cases included.
COMPARISONS = _table()


# --- the report -----------------------------------------------------------------------------------

class CheckReport:
    """Result of :func:`run_crosscheck`: ``rows`` (one :class:`Row` per output), ``ok``."""

    def __init__(self, rows, reference, candidate):
        self.rows, self.reference, self.candidate = list(rows), reference, candidate

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)

    def worst(self):
        """The row with the largest ``rel`` per (kernel, dtype), a failing one first."""
        best = {}
        for row in self.rows:
            key, rank = (row.kernel, row.dtype), (not row.ok, row.rel)
            if key not in best or rank > best[key][0]:
                best[key] = (rank, row)
        return [row for _, row in best.values()]

    def format_table(self) -> str:
        """An aligned table of the largest relative difference per kernel and dtype."""
        head = ("kernel", "dtype", "worst case", "output", "max|diff|", "rel", "tol", "")
        lines = [head]
        for r in self.worst():
            rtol = r.tol / r.max_abs_ref if r.max_abs_ref else RTOL[r.dtype]
            lines.append((r.kernel, r.dtype, r.case, r.output, f"{r.max_abs_diff:.2e}",
                          f"{r.rel:.2e}", f"{rtol:.0e}", "ok" if r.ok else "FAIL"))
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                for line in lines]
        text.insert(1, "  ".join("-" * w for w in widths).rstrip())
        failed = [r for r in self.rows if not r.ok]
        n_cases = len({(r.kernel, r.case, r.dtype) for r in self.rows})
        text.append("")
        text.append(f"{self.candidate} vs {self.reference}: {n_cases} cases, {len(self.rows)} "
                    f"outputs, " + ("all within tolerance" if not failed else
                                    f"{len(failed)} FAILED:"))
        for r in failed:
            text.append(f"  {r.kernel} [{r.case}] {r.dtype} {r.output}: "
                        f"max|diff| {r.max_abs_diff:.3e} > tol {r.tol:.3e}")
        return "\n".join(text)

    def __repr__(self):
        return f"<CheckReport {self.candidate} vs {self.reference}: ok={self.ok}>"


def run_crosscheck(reference="numpy", candidate="numba", seed=0) -> CheckReport:
    """Compare ``candidate`` with ``reference`` on every entry of :data:`COMPARISONS`, both dtypes.

    Returns
    -------
    CheckReport
        ``.rows`` holds one :class:`Row` per output, ``.ok`` is True if all are within
        tolerance and ``.format_table()`` renders the largest differences.
    """
    rows = []
    for comparison in COMPARISONS:
        for dtype in RTOL:
            rows += compare(comparison, dtype, reference, candidate, seed)
    return CheckReport(rows, reference, candidate)
