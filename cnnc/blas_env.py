"""OpenBLAS settings cnnc makes before numpy loads OpenBLAS: its AVX-512 kernels, short spins.

**Kernels.**
numpy's bundled OpenBLAS chooses its kernels from the CPU model it knows; on a
CPU newer than its table (this machine's AMD family 26, Zen 5) it falls back
to its AVX2 "Haswell" kernels and leaves half the vector width unused: sgemm
2048^3 on 2 threads ran at 247 GFLOP/s, and at 458 with
OPENBLAS_CORETYPE=SkylakeX, OpenBLAS's documented override. cnnc sets that
override when the kernel reports every AVX-512 subset the SkylakeX kernels
use (Linux lists them in /proc/cpuinfo only when the OS saves the AVX-512
state), and never when the user set OPENBLAS_CORETYPE.

**Spins.** After each threaded GEMM, OpenBLAS's worker threads spin for 2^28
cycles (about 0.1 s) before they sleep, holding cores that cnnc's parallel
Numba kernels (the direct convs) need right after: a ResNet-20 training step
took 155-160 ms with the default and 98-111 ms with OPENBLAS_THREAD_TIMEOUT
(the exponent) anywhere from 8 to 20. cnnc sets 16 (about 20 us) unless the
user set the variable.

Both only take effect when cnnc is imported before numpy: the command line
always is; a script that imports numpy first keeps OpenBLAS's own choices.
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


SPIN_EXPONENT = "16"  # OPENBLAS_THREAD_TIMEOUT: workers spin 2^16 cycles, then sleep

# Whether OpenBLAS's workers sleep soon after a product: OPENBLAS_THREAD_TIMEOUT
# was in the environment when numpy loaded OpenBLAS (cnnc's, or the user's;
# with numpy first, cnnc can only assume a user's setting came before it).
# Where they do not, cnnc.backend.cpu.blas runs every product on one thread.
SPIN_BOUNDED = False


def configure_openblas() -> None:
    global SPIN_BOUNDED
    if "numpy" in sys.modules:
        SPIN_BOUNDED = "OPENBLAS_THREAD_TIMEOUT" in os.environ
        return
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", SPIN_EXPONENT)
    SPIN_BOUNDED = True
    if "OPENBLAS_CORETYPE" in os.environ:
        return
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            core = wanted_core_type(info.read())
    except OSError:  # not Linux: leave OpenBLAS's choice
        return
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core
