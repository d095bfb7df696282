"""Ahead-of-time compilation of the generated kernels for an H100 (sm_90) -- no GPU needed.

The interpreter checks the maths; this checks that the same generated source also passes Triton's real
compiler (types, layouts, PTX and cubin generation), which the interpreter does not exercise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from timeouts import scaled

pytestmark = pytest.mark.kernels

SCRIPT = textwrap.dedent("""
    import torch, triton
    from triton.backends.compiler import GPUTarget
    from workbench.kernels._codegen import compile_kernel
    from workbench.kernels.convolution import conv_source
    from workbench.kernels.spherical_harmonics import _sh_source
    from workbench.kernels.tensor_product import tp_source, uvu_spec

    spec = uvu_spec("2x0e+2x1o", "0e+1o+2e", "2x0e+2x1o+2x2e")
    sources = []
    for bwd in (False, True):
        sources.append((tp_source(spec, torch.float32, bwd), "uvu_bwd" if bwd else "uvu_fwd"))
        sources.append((conv_source(spec, torch.float32, True, "component", bwd, bwd),
                        "conv_bwd" if bwd else "conv_fwd"))
        sources.append((_sh_source((0, 1, 2, 3, 4, 5, 6), True, "component", torch.float64, bwd),
                        "sh_bwd" if bwd else "sh_fwd"))
    ints = {"send_ptr", "recv_ptr", "perm_ptr", "ptr_ptr"}
    for source, name in sources:
        kernel = compile_kernel(source, name)
        dtype = "*fp64" if name.startswith("sh") else "*fp32"
        signature = {n: "constexpr" if n.startswith("BLOCK") else ("*i64" if n in ints else dtype)
                     if n.endswith("_ptr") else "i32" for n in kernel.arg_names}
        constexprs = {n: (4 if n == "BLOCK" else 32) for n in kernel.arg_names if n.startswith("BLOCK")}
        compiled = triton.compile(triton.compiler.ASTSource(fn=kernel, signature=signature, constexprs=constexprs),
                                  target=GPUTarget("cuda", 90, 32))
        assert compiled.asm["cubin"], name
        print(name, "ok")
""")


def test_generated_kernels_compile_for_sm90():
    pytest.importorskip("triton.backends.nvidia")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_DEFAULT_FP_FUSION"] = "1"
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                            timeout=scaled(600))  # times $WORKBENCH_TEST_TIMEOUT_FACTOR (tests/timeouts.py)
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert result.stdout.count(" ok") == 6
