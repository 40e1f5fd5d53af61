"""Two Numba intrinsics that keep a row of accumulators in vector registers.

Why this module exists: the first layer's work is, per sample, ``acc[:] += x_k * W1[k, :]`` over
the sample's non-zero pixels ``k``. Written as an ``@njit`` loop, LLVM cannot prove that ``acc``
does not alias ``W1``, so it loads and stores the whole accumulator row for every pixel (about
10 ns per pixel at ``h = 50``); scalar accumulators, unsigned indices and sample blocking did not
change that. Emitting the loop directly as LLVM IR with the accumulators as SSA vector values
(``<8 x double>`` / ``<16 x float>``) removes the round trip through memory.

Both intrinsics are ordinary straight-line loops over ``p = start .. stop-1``; each output element
is updated in order of ``p`` with ``llvm.fmuladd`` (one rounding where the CPU has FMA), so
results do not depend on threads or on the vector width. Columns are processed in blocks of
``VECTORS_PER_BLOCK`` vectors; the last, partial vector of a row uses masked loads and stores so
that nothing outside the arrays is touched. No fast-math flags are used.

``gather_axpy(out, M, rows, scale, table, start, stop, accumulate)``
    ``out[:] = (out[:] if accumulate else 0) + sum_p s_p * M[r_p, :]``
``scatter_axpy(M, rows, scale, table, start, stop, v)``
    ``M[r_p, :] += s_p * v[:]`` for each ``p`` in order (``r_p`` distinct within one call is not
    required: the updates are sequential).

with ``r_p = rows[p]`` (any integer array) or ``r_p = p`` when ``rows is None``, and
``s_p = table[scale[p]]`` when ``table`` is a float array (``scale`` then is uint8) or
``s_p = scale[p]`` when ``table is None`` (``scale`` may be strided, e.g. a column ``A1[:, j]``).
``out``, ``v`` and the rows of ``M`` must be C-contiguous with the same float dtype and
``M.shape[1] == out.shape[0]`` (resp. ``v.shape[0]``); callers guarantee this.
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["gather_axpy", "scatter_axpy", "VECTORS_PER_BLOCK", "LANES"]

#: Vectors per column block: 4 accumulators of 8 doubles (or 16 floats) fit the 16 registers of
#: AVX2 (as ymm pairs) and leave room for the loaded rows; wider blocks did not run faster.
VECTORS_PER_BLOCK = 4
#: Lanes per vector by dtype: one 64-byte line.
LANES = {types.float64: 8, types.float32: 16}

_I32 = ir.IntType(32)
_I8P = ir.IntType(8).as_pointer()


class _Array:
    """Data pointer, shape and strides of a Numba array value, as LLVM values."""

    def __init__(self, context, builder, ty, value):
        ary = context.make_array(ty)(context, builder, value=value)
        self.data = builder.bitcast(ary.data, _I8P)
        self.shape = cgutils.unpack_tuple(builder, ary.shape, ty.ndim)
        self.strides = cgutils.unpack_tuple(builder, ary.strides, ty.ndim)
        self.ty = ty


def _byte_ptr(builder, base, offset, pointee):
    """``(pointee *)((char *)base + offset)``."""
    return builder.bitcast(builder.gep(base, [offset], inbounds=True), pointee.as_pointer())


class _Vec:
    """Loads, stores and fused multiply-adds on one vector type (with an optional lane mask)."""

    def __init__(self, builder, fty, lanes, itemsize):
        self.b, self.fty, self.lanes, self.itemsize = builder, fty, lanes, itemsize
        self.vty = ir.VectorType(fty, lanes)
        mod = builder.module
        suffix = f"v{lanes}{'f64' if isinstance(fty, ir.DoubleType) else 'f32'}"
        ptr = self.vty.as_pointer()
        mask_ty = ir.VectorType(ir.IntType(1), lanes)
        self.fmuladd = cgutils.get_or_insert_function(
            mod, ir.FunctionType(self.vty, [self.vty] * 3), f"llvm.fmuladd.{suffix}")
        self.mload = cgutils.get_or_insert_function(
            mod, ir.FunctionType(self.vty, [ptr, _I32, mask_ty, self.vty]),
            f"llvm.masked.load.{suffix}.p0")
        self.mstore = cgutils.get_or_insert_function(
            mod, ir.FunctionType(ir.VoidType(), [self.vty, ptr, _I32, mask_ty]),
            f"llvm.masked.store.{suffix}.p0")
        self.zero = ir.Constant(self.vty, [ir.Constant(fty, 0.0)] * lanes)
        self.align = ir.Constant(_I32, itemsize)
        self.iota = ir.Constant(ir.VectorType(ir.IntType(64), lanes), list(range(lanes)))

    def mask(self, n_valid):
        """Lane mask ``lane < n_valid`` (``n_valid`` an i64)."""
        splat = self.splat(n_valid, ir.VectorType(ir.IntType(64), self.lanes))
        return self.b.icmp_unsigned("<", self.iota, splat)

    def splat(self, scalar, vty=None):
        vty = vty or self.vty
        undef = ir.Constant(vty, ir.Undefined)
        one = self.b.insert_element(undef, scalar, ir.Constant(_I32, 0))
        return self.b.shuffle_vector(one, undef, ir.Constant(ir.VectorType(_I32, vty.count),
                                                             [0] * vty.count))

    def load(self, base, offset, mask=None):
        ptr = _byte_ptr(self.b, base, offset, self.vty)
        if mask is None:
            return self.b.load(ptr, align=self.itemsize)
        return self.b.call(self.mload, [ptr, self.align, mask, self.zero])

    def store(self, value, base, offset, mask=None):
        ptr = _byte_ptr(self.b, base, offset, self.vty)
        if mask is None:
            self.b.store(value, ptr, align=self.itemsize)
        else:
            self.b.call(self.mstore, [value, ptr, self.align, mask])


def _loop(builder, start, stop, carried, body):
    """Emit ``for p in range(start, stop)`` carrying SSA values; return their final values."""
    pre = builder.block
    header = builder.append_basic_block("axpy.header")
    loop_body = builder.append_basic_block("axpy.body")
    done = builder.append_basic_block("axpy.done")
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
    builder.branch(header)
    builder.position_at_end(done)
    return phis


def _column_blocks(builder, width, vec, emit_block):
    """Call ``emit_block(col0, n_vectors, tail_mask)`` for full blocks in a loop, then the rest.

    Full blocks use ``VECTORS_PER_BLOCK`` unmasked vectors; the remainder (if any) dispatches to
    a variant with ``n_vectors`` vectors whose last one is masked.
    """
    i64 = ir.IntType(64)
    per_block = VECTORS_PER_BLOCK * vec.lanes
    n_full = builder.udiv(width, ir.Constant(i64, per_block))
    _loop(builder, ir.Constant(i64, 0), n_full, [],
          lambda blk, _: emit_block(builder.mul(blk, ir.Constant(i64, per_block)),
                                    VECTORS_PER_BLOCK, None) or [])
    col0 = builder.mul(n_full, ir.Constant(i64, per_block))
    rest = builder.sub(width, col0)
    # n_vectors = ceil(rest / lanes) in 0..VECTORS_PER_BLOCK; 0 means nothing left.
    n_vec = builder.udiv(builder.add(rest, ir.Constant(i64, vec.lanes - 1)),
                         ir.Constant(i64, vec.lanes))
    after = builder.append_basic_block("axpy.rest.done")
    switch = builder.switch(n_vec, after)
    for nv in range(1, VECTORS_PER_BLOCK + 1):
        block = builder.append_basic_block(f"axpy.rest{nv}")
        switch.add_case(ir.Constant(i64, nv), block)
        builder.position_at_end(block)
        last_valid = builder.sub(rest, ir.Constant(i64, (nv - 1) * vec.lanes))
        emit_block(col0, nv, vec.mask(last_valid))
        builder.branch(after)
    builder.position_at_end(after)


class _Terms:
    """Emits ``r_p`` (row byte offset into M) and ``s_p`` for one ``p``."""

    def __init__(self, context, builder, sig, args, names):
        arg = dict(zip(names, zip(sig.args, args)))
        self.b = builder
        self.i64 = ir.IntType(64)
        rows_ty, rows_val = arg["rows"]
        self.rows = None
        if not isinstance(rows_ty, types.NoneType):
            self.rows = _Array(context, builder, rows_ty, rows_val)
            self.rows_signed = rows_ty.dtype.signed
            self.rows_lty = context.get_data_type(rows_ty.dtype)
        self.scale = _Array(context, builder, *arg["scale"])
        self.scale_lty = context.get_data_type(self.scale.ty.dtype)
        table_ty, table_val = arg["table"]
        self.table = None
        if not isinstance(table_ty, types.NoneType):
            self.table = _Array(context, builder, table_ty, table_val)
        self.fty = context.get_data_type(arg["M"][0].dtype)
        self.M = _Array(context, builder, *arg["M"])

    def row_offset(self, p):
        if self.rows is None:
            r = p
        else:
            ptr = _byte_ptr(self.b, self.rows.data, self.b.mul(p, self.rows.strides[0]),
                            self.rows_lty)
            raw = self.b.load(ptr)
            r = (self.b.sext if self.rows_signed else self.b.zext)(raw, self.i64) \
                if raw.type.width < 64 else raw
        return self.b.mul(r, self.M.strides[0])

    def scale_value(self, p):
        ptr = _byte_ptr(self.b, self.scale.data, self.b.mul(p, self.scale.strides[0]),
                        self.scale_lty)
        value = self.b.load(ptr)
        if self.table is None:
            return value
        offset = self.b.mul(self.b.zext(value, self.i64), self.table.strides[0])
        return self.b.load(_byte_ptr(self.b, self.table.data, offset, self.fty))


def _check_common(M, rows, scale, table):
    if not (isinstance(M, types.Array) and M.ndim == 2 and M.layout == "C"
            and M.dtype in LANES):
        raise TypeError(f"M must be a C-contiguous 2-d float32/float64 array, got {M}")
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


def _check_row(name, vec, M):
    if not (isinstance(vec, types.Array) and vec.ndim == 1 and vec.layout == "C"
            and vec.dtype == M.dtype):
        raise TypeError(f"{name} must be a C-contiguous 1-d {M.dtype} array, got {vec}")


_GATHER_ARGS = ("out", "M", "rows", "scale", "table", "start", "stop", "accumulate")
_SCATTER_ARGS = ("M", "rows", "scale", "table", "start", "stop", "v")


@intrinsic
def gather_axpy(typingctx, out, M, rows, scale, table, start, stop, accumulate):
    """``out[:] = (out if accumulate else 0) + sum_{p=start}^{stop-1} s_p * M[r_p, :]``."""
    _check_common(M, rows, scale, table)
    _check_row("out", out, M)
    sig = types.void(out, M, rows, scale, table, types.intp, types.intp, types.boolean)

    def codegen(context, builder, signature, args):
        args = [context.cast(builder, a, t, st)
                for a, t, st in zip(args, signature.args, sig.args)]
        terms = _Terms(context, builder, sig, args, _GATHER_ARGS)
        acc_out = _Array(context, builder, sig.args[0], args[0])
        start_v, stop_v, accumulate_v = args[5], args[6], args[7]
        item = context.get_abi_sizeof(terms.fty)
        vec = _Vec(builder, terms.fty, LANES[sig.args[1].dtype], item)
        step = vec.lanes * item

        def emit_block(col0, n_vectors, tail_mask):
            col_bytes = builder.mul(col0, ir.Constant(col0.type, item))
            masks = [None] * (n_vectors - 1) + [tail_mask]
            offsets = [builder.add(col_bytes, ir.Constant(col0.type, u * step))
                       for u in range(n_vectors)]
            init = [builder.select(accumulate_v, vec.load(acc_out.data, off, m), vec.zero)
                    for off, m in zip(offsets, masks)]

            def body(p, accs):
                row = builder.add(terms.row_offset(p), col_bytes)
                s = vec.splat(terms.scale_value(p))
                return [builder.call(vec.fmuladd,
                                     [s, vec.load(terms.M.data,
                                                  builder.add(row, ir.Constant(row.type,
                                                                               u * step)), m),
                                      acc])
                        for u, (acc, m) in enumerate(zip(accs, masks))]

            accs = _loop(builder, start_v, stop_v, init, body)
            for acc, off, m in zip(accs, offsets, masks):
                vec.store(acc, acc_out.data, off, m)

        _column_blocks(builder, acc_out.shape[0], vec, emit_block)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def scatter_axpy(typingctx, M, rows, scale, table, start, stop, v):
    """``M[r_p, :] += s_p * v`` for ``p = start .. stop-1`` in order."""
    _check_common(M, rows, scale, table)
    _check_row("v", v, M)
    sig = types.void(M, rows, scale, table, types.intp, types.intp, v)

    def codegen(context, builder, signature, args):
        args = [context.cast(builder, a, t, st)
                for a, t, st in zip(args, signature.args, sig.args)]
        terms = _Terms(context, builder, sig, args, _SCATTER_ARGS)
        row_v = _Array(context, builder, sig.args[6], args[6])
        start_v, stop_v = args[4], args[5]
        item = context.get_abi_sizeof(terms.fty)
        vec = _Vec(builder, terms.fty, LANES[sig.args[0].dtype], item)
        step = vec.lanes * item

        def emit_block(col0, n_vectors, tail_mask):
            col_bytes = builder.mul(col0, ir.Constant(col0.type, item))
            masks = [None] * (n_vectors - 1) + [tail_mask]
            vs = [vec.load(row_v.data, builder.add(col_bytes, ir.Constant(col0.type, u * step)),
                           m) for u, m in enumerate(masks)]

            def body(p, _):
                row = builder.add(terms.row_offset(p), col_bytes)
                s = vec.splat(terms.scale_value(p))
                for u, (x, m) in enumerate(zip(vs, masks)):
                    off = builder.add(row, ir.Constant(row.type, u * step))
                    acc = vec.load(terms.M.data, off, m)
                    vec.store(builder.call(vec.fmuladd, [s, x, acc]), terms.M.data, off, m)
                return []

            _loop(builder, start_v, stop_v, [], body)

        _column_blocks(builder, row_v.shape[0], vec, emit_block)
        return context.get_dummy_value()

    return sig, codegen
