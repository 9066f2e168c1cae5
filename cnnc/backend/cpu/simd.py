"""Explicit float32 vectors for Numba kernels: LLVM's <LANES x float> as a Numba type.

Numba gives no handle on SIMD registers: a kernel that keeps a tile of
accumulators in local arrays gets them spilled to memory on every update (a
3x3 direct conv written that way ran at 8 GFLOP/s on one core). A value of
type ``vec`` is an SSA value, so a kernel holding a dozen of them in local
variables keeps them in registers, as a hand-written GEMM micro-kernel does
(the same conv: 130-150 GFLOP/s on one core, numpy's sgemm's rate).

    vzero()             all lanes 0
    vload(a, i)         a[i : i + LANES] of a 1-D float32 array (no bounds check)
    vstore(a, i, v)     a[i : i + LANES] = v
    vsplat(s)           every lane s
    vfma(a, b, c)       a * b + c, lane by lane (one fused multiply-add)
    vsum(v)             the sum of the lanes

LANES is 16 (one AVX-512 register) where the CPU has AVX-512, else 8 (AVX2).
Indices are uint64: Numba adds no negative-index wraparound to an unsigned
index, and callers keep their offsets in range themselves.
"""

from __future__ import annotations

from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model


def _lanes() -> int:
    features = binding.get_host_cpu_features()
    return 16 if features.get("avx512f", False) else 8


LANES = _lanes()
_VECTOR = ir.VectorType(ir.FloatType(), LANES)


class Vector(types.Type):
    def __init__(self):
        super().__init__(name=f"float32x{LANES}")


vec = Vector()


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VECTOR)


def _address(context, builder, array_type, array, index):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [index]), _VECTOR.as_pointer())


@intrinsic
def vzero(typingctx):
    def codegen(context, builder, signature, args):
        return ir.Constant(_VECTOR, [0.0] * LANES)

    return vec(), codegen


@intrinsic
def vload(typingctx, array, index):
    if not (isinstance(array, types.Array) and array.dtype == types.float32 and array.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        return builder.load(_address(context, builder, array, *args), align=4)

    return vec(array, index), codegen


@intrinsic
def vstore(typingctx, array, index, value):
    if not (isinstance(array, types.Array) and array.dtype == types.float32 and array.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        builder.store(args[2], _address(context, builder, array, args[0], args[1]), align=4)
        return context.get_dummy_value()

    return types.none(array, index, value), codegen


@intrinsic
def vsplat(typingctx, scalar):
    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], scalar, types.float32)
        one = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        return builder.shuffle_vector(one, ir.Constant(_VECTOR, ir.Undefined), mask)

    return vec(scalar), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(_VECTOR, [_VECTOR] * 3)
        fma = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.fma.v{LANES}f32")
        return builder.call(fma, args)

    return vec(vec, vec, vec), codegen


@intrinsic
def vsum(typingctx, v):
    def codegen(context, builder, signature, args):  # halves added pairwise: log2(LANES) adds
        value, width = args[0], LANES
        while width > 1:
            width //= 2
            low = builder.shuffle_vector(
                value, value, ir.Constant(ir.VectorType(ir.IntType(32), width), list(range(width)))
            )
            high = builder.shuffle_vector(
                value, value, ir.Constant(ir.VectorType(ir.IntType(32), width), list(range(width, 2 * width)))
            )
            value = builder.fadd(low, high)
        return builder.extract_element(value, ir.Constant(ir.IntType(32), 0))

    return types.float32(vec), codegen
