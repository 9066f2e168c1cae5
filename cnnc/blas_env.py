"""Pick OpenBLAS's AVX-512 kernels where the CPU has AVX-512 (before numpy loads OpenBLAS).

numpy's bundled OpenBLAS chooses its kernels from the CPU model it knows; on a
CPU newer than its table (this machine's AMD family 26, Zen 5) it falls back
to its AVX2 "Haswell" kernels and leaves half the vector width unused: sgemm
2048^3 on 2 threads ran at 247 GFLOP/s, and at 458 with
OPENBLAS_CORETYPE=SkylakeX, OpenBLAS's documented override. cnnc sets that
override when the kernel reports every AVX-512 subset the SkylakeX kernels
use (Linux lists them in /proc/cpuinfo only when the OS saves the AVX-512
state), and never when the user set OPENBLAS_CORETYPE. It only takes effect
when cnnc is imported before numpy: the command line always is; a script
that imports numpy first keeps OpenBLAS's own choice.
"""

from __future__ import annotations

import os
import sys

SKYLAKEX_NEEDS = frozenset(("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"))


def cpu_flags(cpuinfo: str) -> frozenset:
    """The flags of the first processor in /proc/cpuinfo's text."""
    for line in cpuinfo.splitlines():
        if line.startswith("flags") and ":" in line:
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def wanted_core_type(cpuinfo: str) -> str | None:
    return "SkylakeX" if cpu_flags(cpuinfo) >= SKYLAKEX_NEEDS else None


def prefer_avx512_blas() -> None:
    if "OPENBLAS_CORETYPE" in os.environ or "numpy" in sys.modules:
        return
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            core = wanted_core_type(info.read())
    except OSError:  # not Linux: leave OpenBLAS's choice
        return
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core
