"""Tensor-product instructions: the record, the checks, and e3nn's path normalization.

An instruction ``(i_in1, i_in2, i_out, mode, has_weight[, path_weight])`` couples segment ``i_in1`` of the first
input with segment ``i_in2`` of the second into segment ``i_out`` of the output. :func:`normalize_paths` turns
the checked instructions into :class:`Instruction` records whose ``path_weight`` is e3nn 0.6's final coefficient
``sqrt(alpha)`` and whose ``path_shape`` is the shape of the path's weight block (flat weights are these blocks
in instruction order, flattened row-major, as in e3nn).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from workbench.groups import Irreps

__all__ = [
    "MODES",
    "Instruction",
    "ProductSpec",
    "check_instructions",
    "check_normalizations",
    "check_variances",
    "couplings_of",
    "normalize_paths",
    "prod",
]

MODES = ("uvw", "uvu", "uvv", "uuw", "uuu", "uvuv")


class Instruction(NamedTuple):
    """One tensor-product path, as in e3nn: ``path_weight`` is the final multiplicative coefficient."""

    i_in1: int
    i_in2: int
    i_out: int
    connection_mode: str
    has_weight: bool
    path_weight: float
    path_shape: tuple


@dataclass(frozen=True, kw_only=True)
class ProductSpec:
    """What an evaluation strategy needs to know about a product (built once by the layer).

    ``couplings[n]`` is the coupling tensor of ``instructions[n]``, shape ``[m, d1, d2, d_out]`` (``m`` coupling
    copies); ``is_complex`` says whether features and couplings are complex (e.g. the Lorentz group).
    """

    irreps_in1: Irreps
    irreps_in2: Irreps
    irreps_out: Irreps
    instructions: tuple[Instruction, ...]
    couplings: tuple[torch.Tensor, ...]
    weight_numel: int
    is_complex: bool


def prod(shape: Sequence[int]) -> int:
    """Product of the entries of ``shape`` (1 for an empty shape)."""
    out = 1
    for s in shape:
        out *= int(s)
    return out


def check_normalizations(irrep_normalization: str, path_normalization: str) -> None:
    """``ValueError`` unless both normalizations are among e3nn's choices."""
    if irrep_normalization not in ("component", "norm", "none"):
        raise ValueError(f"irrep_normalization={irrep_normalization!r}; expected 'component', 'norm' or 'none'")
    if path_normalization not in ("element", "path", "none"):
        raise ValueError(f"path_normalization={path_normalization!r}; expected 'element', 'path' or 'none'")


def check_variances(var: Sequence[float] | None, n: int, name: str) -> list[float]:
    """Per-segment variances ``var`` as floats (default ``[1.0] * n``); ``ValueError`` on a wrong length."""
    if var is None:
        return [1.0] * n
    var = [float(v) for v in var]
    if len(var) != n:
        raise ValueError(f"{name} has {len(var)} entries; expected one per irreps segment ({n})")
    return var


def check_instructions(instructions: Sequence[tuple], s1: Irreps, s2: Irreps, so: Irreps) -> list[tuple]:
    """Validate ``instructions`` against the three irreps; returns ``(i1, i2, i_out, mode, has_weight, path_weight)``
    tuples (``path_weight`` defaults to 1)."""
    if not isinstance(instructions, (list, tuple)):
        raise TypeError("instructions must be a list of (i_in1, i_in2, i_out, mode, has_weight[, path_weight])")
    out = []
    for ins in instructions:
        if not isinstance(ins, (list, tuple)) or len(ins) not in (5, 6):
            raise ValueError(f"instruction {ins!r}: expected (i_in1, i_in2, i_out, mode, has_weight[, path_weight])")
        i1, i2, io, mode, has_weight = ins[:5]
        path_weight = float(ins[5]) if len(ins) == 6 else 1.0
        for idx, space, name in ((i1, s1, "irreps_in1"), (i2, s2, "irreps_in2"), (io, so, "irreps_out")):
            if not isinstance(idx, int) or not 0 <= idx < len(space):
                raise ValueError(f"instruction {ins!r}: index {idx!r} out of range for {name} ({len(space)})")
        if mode not in MODES:
            raise ValueError(f"instruction {ins!r}: mode {mode!r} not supported; expected one of {MODES}")
        mul1, mul2, mulo = s1[i1][0], s2[i2][0], so[io][0]
        need = {
            "uvw": True,
            "uvu": mul1 == mulo,
            "uvv": mul2 == mulo,
            "uuw": mul1 == mul2 and (has_weight or mulo == 1),
            "uuu": mul1 == mul2 == mulo,
            "uvuv": mul1 * mul2 == mulo,
        }[mode]
        if not need:
            raise ValueError(f"instruction {ins!r}: multiplicities {mul1}, {mul2}, {mulo} incompatible with {mode}")
        if mode == "uvw" and not has_weight:
            raise ValueError(f"instruction {ins!r}: mode 'uvw' needs has_weight=True")
        out.append((i1, i2, io, mode, bool(has_weight), path_weight))
    return out


def couplings_of(raw: Sequence[tuple], s1: Irreps, s2: Irreps, so: Irreps) -> list[torch.Tensor]:
    """The coupling tensor ``[m, d1, d2, d_out]`` of every checked instruction (``so.coupling``, the group's
    projection contract); ``ValueError`` when the output irrep does not occur in the product."""
    couplings = [so.coupling(s1[a][1], s2[b][1], so[c][1]) for a, b, c, *_ in raw]
    for (a, b, c, *_), cg in zip(raw, couplings):
        if cg.shape[0] == 0:
            raise ValueError(f"instruction {(a, b, c)}: {so[c][1]} does not occur in {s1[a][1]} x {s2[b][1]}")
    return couplings


def _num_elements(ins: tuple, s1: Irreps, s2: Irreps) -> int:
    i1, i2, _, mode = ins[:4]
    mul1, mul2 = s1[i1][0], s2[i2][0]
    return {"uvw": mul1 * mul2, "uvu": mul2, "uvv": mul1, "uuw": mul1, "uuu": 1, "uvuv": 1}[mode]


def normalize_paths(
    raw: Sequence[tuple],
    couplings: Sequence[torch.Tensor],
    s1: Irreps,
    s2: Irreps,
    so: Irreps,
    in1_var: Sequence[float],
    in2_var: Sequence[float],
    out_var: Sequence[float],
    irrep_normalization: str,
    path_normalization: str,
) -> list[Instruction]:
    """e3nn 0.6's normalization: one :class:`Instruction` per checked instruction with ``path_weight =
    sqrt(alpha)`` and its weight ``path_shape`` (a leading ``m`` when the coupling has ``m > 1`` copies)."""
    out = []
    for ins, cg in zip(raw, couplings):
        i1, i2, io, mode, has_weight, path_weight = ins
        mul1, ir1 = s1[i1]
        mul2, ir2 = s2[i2]
        mulo, iro = so[io]
        d1, d2, do = ir1.dim, ir2.dim, iro.dim
        if irrep_normalization == "component":
            alpha = float(do)
        elif irrep_normalization == "norm":
            alpha = float(d1 * d2)
        else:
            alpha = 1.0
        if path_normalization == "element":
            x = sum(
                in1_var[j[0]] * in2_var[j[1]] * _num_elements(j, s1, s2) * couplings[k].shape[0]
                for k, j in enumerate(raw)
                if j[2] == io
            )
        elif path_normalization == "path":
            x = in1_var[i1] * in2_var[i2] * _num_elements(ins, s1, s2) * cg.shape[0]
            x *= len([j for j in raw if j[2] == io])
        else:
            x = 1.0
        if x > 0:
            alpha /= x
        alpha *= out_var[io] * path_weight
        shape = {
            "uvw": (mul1, mul2, mulo),
            "uvu": (mul1, mul2),
            "uvv": (mul1, mul2),
            "uuw": (mul1, mulo),
            "uuu": (mul1,),
            "uvuv": (mul1, mul2),
        }[mode]
        if cg.shape[0] > 1:
            shape = (cg.shape[0],) + shape
        out.append(Instruction(i1, i2, io, mode, has_weight, math.sqrt(alpha), shape))
    return out
