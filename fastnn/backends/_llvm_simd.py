"""Numba intrinsics: two that keep a row of accumulators in vector registers, and two small ones.

Why this module exists: the first layer's work is, per sample, ``acc[:] += x_k * W1[k, :]`` over
the sample's non-zero pixels ``k``. Written as an ``@njit`` loop, LLVM cannot prove that ``acc``
does not alias ``W1``, so it loads and stores the whole accumulator row for every pixel;
scalar accumulators, unsigned indices and sample blocking did not change that. Emitting the
loop as LLVM IR with the accumulators as SSA vector values (``<8 x double>`` /
``<16 x float>``) removes the round trip through memory.

``prefetch(a, i)``
    hint the CPU to fetch the cache line of ``a[i]`` (1-d array; no effect on results, and an
    out-of-range ``i`` is harmless: prefetches do not fault).
``fetch_add(a, i, v)``
    atomically ``old = a[i]; a[i] += v``, returning ``old`` (1-d integer array): the counter
    through which threads claim work items one at a time.
``gather_axpy(out, M, rows, scale, table, start, stop, accumulate)``
    ``out[:] = (out[:] if accumulate else 0) + sum_p s_p * M[r_p, :]``
``scatter_axpy(M, rows, scale, table, start, stop, v)``
    ``M[r_p, :] += s_p * v[:]`` for each ``p`` in order

for ``p = start .. stop-1``, with ``r_p = rows[p]`` (any integer array) or ``r_p = p`` when
``rows is None``, and ``s_p = table[scale[p]]`` when ``table`` is a float array (``scale`` is then
uint8) or ``s_p = scale[p]`` when ``table is None`` (``scale`` may be strided, e.g. ``A1[:, j]``).
``out``, ``v`` and the rows of ``M`` are C-contiguous in one float dtype, ``M.shape[1]`` equals
``out.shape[0]`` (resp. ``v.shape[0]``) and every ``r_p`` is a valid row: callers guarantee this,
nothing is checked at run time.

Exactness: every output element is updated in the order of ``p`` with ``llvm.fmuladd`` (one
rounding where the CPU has FMA), so results depend neither on threads nor on the vector width;
no fast-math flags are used. The last, partial vector of a row uses masked loads and stores, so
nothing outside the arrays is read or written.

Compile time: each distinct combination of dtypes is emitted once per LLVM module as a
``noinline`` ``linkonce_odr`` function that every call site calls, instead of being inlined at
each site; the name carries a hash of this file, so a changed generator never links against an
older body. The kernels' on-disk cache entries are stamped with the hash of this file as well
(``_numba_cache``), so editing it recompiles them.

The intrinsics' names (``llvm.masked.load.v8f64.p0``...) are LLVM's opaque-pointer spelling,
which llvmlite cannot build for vector types; ``pyproject.toml``'s lower bounds on numba and
llvmlite are the versions this spelling is tested with.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from llvmlite import binding as llvm
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["gather_axpy", "scatter_axpy", "prefetch", "fetch_add", "VECTORS_PER_BLOCK", "LANES"]


def _vectors_per_block():
    """8 accumulators of 64 bytes with AVX-512's 32 registers (a 50..64-wide float64 row in one
    pass), else 4, which AVX2's 16 ymm registers hold as pairs with room for the loaded rows."""
    try:
        features = llvm.get_host_cpu_features()
    except Exception:  # pragma: no cover - feature query unsupported on this platform
        return 4
    return 8 if features.get("avx512f", False) else 4


VECTORS_PER_BLOCK = _vectors_per_block()
#: Lanes per vector by dtype: one 64-byte line.
LANES = {types.float64: 8, types.float32: 16}
_TAG = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:10]

_I1, _I32, _I64 = ir.IntType(1), ir.IntType(32), ir.IntType(64)
_I8P = ir.IntType(8).as_pointer()
#: Parameters of the emitted functions (``dst`` is ``out`` for gather, ``v`` for scatter).
_PARAMS = ("dst", "width", "M", "m_stride", "rows", "rows_stride", "scale", "scale_stride",
           "table", "table_stride", "start", "stop", "accumulate")


def _ptr(builder, base, offset, pointee):
    """``(pointee *)((char *)base + offset)``."""
    return builder.bitcast(builder.gep(base, [offset], inbounds=True), pointee.as_pointer())


class _Vec:
    """Loads, stores and fused multiply-adds on one vector type (with an optional lane mask)."""

    def __init__(self, builder, fty, lanes):
        self.b, self.fty, self.lanes = builder, fty, lanes
        self.itemsize = 8 if isinstance(fty, ir.DoubleType) else 4
        self.vty = ir.VectorType(fty, lanes)
        suffix = f"v{lanes}{'f64' if self.itemsize == 8 else 'f32'}"
        mask_ty, ptr = ir.VectorType(_I1, lanes), self.vty.as_pointer()
        mod = builder.module
        self.fmuladd = cgutils.get_or_insert_function(
            mod, ir.FunctionType(self.vty, [self.vty] * 3), f"llvm.fmuladd.{suffix}")
        self.mload = cgutils.get_or_insert_function(
            mod, ir.FunctionType(self.vty, [ptr, _I32, mask_ty, self.vty]),
            f"llvm.masked.load.{suffix}.p0")
        self.mstore = cgutils.get_or_insert_function(
            mod, ir.FunctionType(ir.VoidType(), [self.vty, ptr, _I32, mask_ty]),
            f"llvm.masked.store.{suffix}.p0")
        self.zero = ir.Constant(self.vty, [ir.Constant(fty, 0.0)] * lanes)
        self.align = ir.Constant(_I32, self.itemsize)
        self.iota = ir.Constant(ir.VectorType(_I64, lanes), list(range(lanes)))

    def splat(self, scalar, vty=None):
        vty = vty or self.vty
        undef = ir.Constant(vty, ir.Undefined)
        one = self.b.insert_element(undef, scalar, ir.Constant(_I32, 0))
        return self.b.shuffle_vector(one, undef, ir.Constant(ir.VectorType(_I32, vty.count),
                                                             [0] * vty.count))

    def mask(self, n_valid):
        """Lane mask ``lane < n_valid``."""
        bound = self.splat(n_valid, ir.VectorType(_I64, self.lanes))
        return self.b.icmp_unsigned("<", self.iota, bound)

    def load(self, base, offset, mask=None):
        ptr = _ptr(self.b, base, offset, self.vty)
        if mask is None:
            return self.b.load(ptr, align=self.itemsize)
        return self.b.call(self.mload, [ptr, self.align, mask, self.zero])

    def store(self, value, base, offset, mask=None):
        ptr = _ptr(self.b, base, offset, self.vty)
        if mask is None:
            self.b.store(value, ptr, align=self.itemsize)
        else:
            self.b.call(self.mstore, [value, ptr, self.align, mask])


def _loop(builder, start, stop, carried, body):
    """Emit ``for p in range(start, stop)`` carrying SSA values; return their final values."""
    pre = builder.block
    header = builder.append_basic_block("loop.header")
    loop_body = builder.append_basic_block("loop.body")
    done = builder.append_basic_block("loop.done")
    builder.branch(header)
    builder.position_at_end(header)
    p = builder.phi(start.type)
    p.add_incoming(start, pre)
    phis = []
    for value in carried:
        phi = builder.phi(value.type)
        phi.add_incoming(value, pre)
        phis.append(phi)
    builder.cbranch(builder.icmp_signed("<", p, stop), loop_body, done)
    builder.position_at_end(loop_body)
    new = body(p, phis)
    tail = builder.block
    p.add_incoming(builder.add(p, ir.Constant(p.type, 1)), tail)
    for phi, value in zip(phis, new):
        phi.add_incoming(value, tail)
    builder.branch(header).set_metadata("llvm.loop", _no_unroll(builder.module))
    builder.position_at_end(done)
    return phis


def _no_unroll(module):
    """Loop metadata ``!{self, !{"llvm.loop.unroll.disable"}}``. Unrolling these loops by 4,
    LLVM's default, made the emitted code 4x larger and compile time with it, for no speed."""
    hint = module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")])
    # A node of its own per loop (the placeholder string makes it new), then pointed at itself
    # as loop IDs must be.
    node = module.add_metadata([hint, ir.MetaDataString(module, f"loop{len(module.metadata)}")])
    node.operands = (node, hint)
    return node


def _column_blocks(builder, width, vec, emit_block):
    """Cover ``width`` columns: ``emit_block(col0, n_vectors, tail_mask)`` per pass over ``p``.

    Passes: full blocks of ``VECTORS_PER_BLOCK`` vectors in a loop; then what is left in one
    pass: its whole vectors and, if the width is not a multiple of the lanes, a masked last
    one (a variant per case, chosen by a switch). One pass matters for the rows of a width like
    50, read straight from W1 with no padded copy: a second pass for the tail would read every
    row's indices and scales twice. Only the partial vector is masked: a masked store, even
    with every lane on, cannot forward its data to a later load of the same address, which
    doubles the cost of ``scatter_axpy``.
    """
    lanes = ir.Constant(_I64, vec.lanes)
    per_block = VECTORS_PER_BLOCK * vec.lanes
    n_full = builder.udiv(width, ir.Constant(_I64, per_block))
    _loop(builder, ir.Constant(_I64, 0), n_full, [],
          lambda blk, _: emit_block(builder.mul(blk, ir.Constant(_I64, per_block)),
                                    VECTORS_PER_BLOCK, None) or [])
    col0 = builder.mul(n_full, ir.Constant(_I64, per_block))
    rest = builder.sub(width, col0)
    whole, part = builder.udiv(rest, lanes), builder.urem(rest, lanes)
    has_part = builder.zext(builder.icmp_unsigned("!=", part, ir.Constant(_I64, 0)), _I64)
    case = builder.add(builder.mul(whole, ir.Constant(_I64, 2)), has_part)
    done = builder.append_basic_block("rest.done")
    switch = builder.switch(case, done)  # case 0: nothing left
    for n_whole in range(VECTORS_PER_BLOCK):
        for with_part in (0, 1) if n_whole else (1,):
            block = builder.append_basic_block(f"rest{n_whole}{'p' if with_part else ''}")
            switch.add_case(ir.Constant(_I64, 2 * n_whole + with_part), block)
            builder.position_at_end(block)
            emit_block(col0, n_whole + with_part, vec.mask(part) if with_part else None)
            builder.branch(done)
    builder.position_at_end(done)


class _Spec:
    """The compile-time shape of one call: dtypes of M/rows/scale, table or not."""

    def __init__(self, kind, M, rows, scale, table):
        self.kind, self.dtype = kind, M.dtype
        self.rows = None if isinstance(rows, types.NoneType) else rows.dtype
        self.scale, self.table = scale.dtype, not isinstance(table, types.NoneType)
        self.name = "_".join(["fastnn", kind, str(M.dtype), str(self.rows), str(self.scale),
                              "table" if self.table else "direct",
                              f"v{VECTORS_PER_BLOCK}", _TAG])

    def terms(self, builder, a, p, fty):
        """``(byte offset of row r_p in M, s_p)`` for the function's arguments ``a``."""
        if self.rows is None:
            r = p
        else:
            raw = builder.load(_ptr(builder, a["rows"], builder.mul(p, a["rows_stride"]),
                                    ir.IntType(self.rows.bitwidth)))
            r = raw if self.rows.bitwidth == 64 else (
                builder.sext if self.rows.signed else builder.zext)(raw, _I64)
        scale_lty = fty if not self.table else ir.IntType(8)
        s = builder.load(_ptr(builder, a["scale"], builder.mul(p, a["scale_stride"]), scale_lty))
        if self.table:
            offset = builder.mul(builder.zext(s, _I64), a["table_stride"])
            s = builder.load(_ptr(builder, a["table"], offset, fty))
        return builder.mul(r, a["m_stride"]), s


def _define(module, spec, fty):
    """The outlined loop for ``spec`` in ``module`` (emitted on first use)."""
    fn = module.globals.get(spec.name)
    if fn is not None:
        return fn
    fnty = ir.FunctionType(ir.VoidType(), [_I8P, _I64, _I8P, _I64, _I8P, _I64, _I8P, _I64,
                                           _I8P, _I64, _I64, _I64, _I1])
    fn = ir.Function(module, fnty, spec.name)
    fn.linkage = "linkonce_odr"
    fn.attributes.add("noinline")
    fn.attributes.add("nounwind")
    a = dict(zip(_PARAMS, fn.args))
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    vec = _Vec(builder, fty, LANES[spec.dtype])
    step = vec.lanes * vec.itemsize

    def emit_block(col0, n_vectors, tail_mask):
        col_bytes = builder.mul(col0, ir.Constant(_I64, vec.itemsize))
        masks = [None] * (n_vectors - 1) + [tail_mask]
        offsets = [builder.add(col_bytes, ir.Constant(_I64, u * step)) for u in range(n_vectors)]
        if spec.kind == "gather":
            init = [builder.select(a["accumulate"], vec.load(a["dst"], off, m), vec.zero)
                    for off, m in zip(offsets, masks)]
        else:  # the row v, held in registers
            init = [vec.load(a["dst"], off, m) for off, m in zip(offsets, masks)]

        def body(p, regs):
            row, s = spec.terms(builder, a, p, fty)
            s = vec.splat(s)
            new = []
            for reg, off, m in zip(regs if spec.kind == "gather" else init, offsets, masks):
                m_off = builder.add(row, off)
                x = vec.load(a["M"], m_off, m)
                if spec.kind == "gather":
                    new.append(builder.call(vec.fmuladd, [s, x, reg]))
                else:
                    vec.store(builder.call(vec.fmuladd, [s, reg, x]), a["M"], m_off, m)
            return new

        accs = _loop(builder, a["start"], a["stop"],
                     init if spec.kind == "gather" else [], body)
        for acc, off, m in zip(accs, offsets, masks):
            vec.store(acc, a["dst"], off, m)

    _column_blocks(builder, a["width"], vec, emit_block)
    builder.ret_void()
    return fn


def _array(context, builder, ty, value):
    """``(data as i8*, shape[0], strides[0])`` of a Numba array value."""
    ary = context.make_array(ty)(context, builder, value=value)
    return (builder.bitcast(ary.data, _I8P), cgutils.unpack_tuple(builder, ary.shape)[0],
            cgutils.unpack_tuple(builder, ary.strides)[0])


def _codegen(kind, sig):
    names = (("out", "M", "rows", "scale", "table", "start", "stop", "accumulate")
             if kind == "gather" else ("M", "rows", "scale", "table", "start", "stop", "v"))
    arg_types = dict(zip(names, sig.args))
    spec = _Spec(kind, arg_types["M"], arg_types["rows"], arg_types["scale"], arg_types["table"])

    def codegen(context, builder, signature, args):
        val = dict(zip(names, args))
        fn = _define(builder.module, spec, context.get_data_type(spec.dtype))
        null, zero = ir.Constant(_I8P, None), ir.Constant(_I64, 0)

        def array(name):
            if isinstance(arg_types[name], types.NoneType):
                return null, zero, zero
            return _array(context, builder, arg_types[name], val[name])

        dst, width, _ = array("out" if kind == "gather" else "v")
        M, _, m_stride = array("M")
        rows, _, rows_stride = array("rows")
        scale, _, scale_stride = array("scale")
        table, _, table_stride = array("table")
        accumulate = val["accumulate"] if kind == "gather" else ir.Constant(_I1, 0)
        builder.call(fn, [dst, width, M, m_stride, rows, rows_stride, scale, scale_stride,
                          table, table_stride, val["start"], val["stop"], accumulate])
        return context.get_dummy_value()

    return codegen


def _check(M, rows, scale, table, row_name, row):
    if not (isinstance(M, types.Array) and M.ndim == 2 and M.layout == "C"
            and M.dtype in LANES):
        raise TypeError(f"M must be a C-contiguous 2-d float32/float64 array, got {M}")
    if not (isinstance(row, types.Array) and row.ndim == 1 and row.layout == "C"
            and row.dtype == M.dtype):
        raise TypeError(f"{row_name} must be a C-contiguous 1-d {M.dtype} array, got {row}")
    if not (isinstance(rows, types.NoneType)
            or (isinstance(rows, types.Array) and rows.ndim == 1
                and isinstance(rows.dtype, types.Integer))):
        raise TypeError(f"rows must be None or a 1-d integer array, got {rows}")
    if isinstance(table, types.NoneType):
        ok = isinstance(scale, types.Array) and scale.ndim == 1 and scale.dtype == M.dtype
    else:
        ok = (isinstance(table, types.Array) and table.ndim == 1 and table.dtype == M.dtype
              and isinstance(scale, types.Array) and scale.ndim == 1
              and scale.dtype == types.uint8)
    if not ok:
        raise TypeError(f"scale/table must be ({M.dtype}[:], None) or (uint8[:], "
                        f"{M.dtype}[:]), got ({scale}, {table})")


@intrinsic
def gather_axpy(typingctx, out, M, rows, scale, table, start, stop, accumulate):
    """``out[:] = (out if accumulate else 0) + sum_{p=start}^{stop-1} s_p * M[r_p, :]``."""
    _check(M, rows, scale, table, "out", out)
    sig = types.void(out, M, rows, scale, table, types.intp, types.intp, types.boolean)
    return sig, _codegen("gather", sig)


@intrinsic
def scatter_axpy(typingctx, M, rows, scale, table, start, stop, v):
    """``M[r_p, :] += s_p * v`` for ``p = start .. stop-1`` in order."""
    _check(M, rows, scale, table, "v", v)
    sig = types.void(M, rows, scale, table, types.intp, types.intp, v)
    return sig, _codegen("scatter", sig)


@intrinsic
def prefetch(typingctx, a, i):
    """``llvm.prefetch`` of ``a[i]`` for reading, into all cache levels."""
    if not (isinstance(a, types.Array) and a.ndim == 1 and isinstance(i, types.Integer)):
        raise TypeError(f"prefetch takes a 1-d array and an integer, got {a}, {i}")
    sig = types.void(a, types.intp)

    def codegen(context, builder, signature, args):
        data, _, stride = _array(context, builder, signature.args[0], args[0])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32]),
            "llvm.prefetch.p0")
        addr = builder.gep(data, [builder.mul(args[1], stride)])  # not inbounds: may be past
        builder.call(fn, [addr, ir.Constant(_I32, 0), ir.Constant(_I32, 3), ir.Constant(_I32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def fetch_add(typingctx, a, i, v):
    """Atomically ``old = a[i]; a[i] += v``; returns ``old`` (sequentially consistent)."""
    if not (isinstance(a, types.Array) and a.ndim == 1 and isinstance(a.dtype, types.Integer)
            and isinstance(i, types.Integer) and isinstance(v, types.Integer)):
        raise TypeError(f"fetch_add takes a 1-d integer array and two integers, got {a}, {i}, {v}")
    sig = a.dtype(a, types.intp, a.dtype)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, value=args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return sig, codegen
