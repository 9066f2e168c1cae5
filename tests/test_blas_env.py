"""cnnc picks OpenBLAS's AVX-512 kernels only on a CPU with AVX-512, and never over the user's choice."""

import os
import subprocess
import sys

from cnnc.blas_env import cpu_flags, wanted_core_type

ZEN5 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512vnni\n"
ZEN3 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"


def test_only_a_cpu_with_every_needed_avx512_subset_gets_skylakex():
    assert wanted_core_type(ZEN5) == "SkylakeX"
    assert wanted_core_type(ZEN3) is None
    assert wanted_core_type(ZEN5.replace(" avx512vl", "")) is None
    assert wanted_core_type("") is None and cpu_flags("no flags here") == frozenset()


def core_type_seen(env) -> str:
    code = "import cnnc, os; print(os.environ.get('OPENBLAS_CORETYPE'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_set_on_import_unless_the_user_chose_or_numpy_came_first():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    with open("/proc/cpuinfo") as info:
        expected = wanted_core_type(info.read())
    assert core_type_seen(env).strip() == str(expected)
    assert core_type_seen({**env, "OPENBLAS_CORETYPE": "Haswell"}).strip() == "Haswell"
    code = "import numpy, cnnc, os; print(os.environ.get('OPENBLAS_CORETYPE'))"
    late = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert late.stdout.strip() == "None"


def spin_seen(env, first="cnnc") -> str:
    code = f"import {first}, cnnc, os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_blas_threads_spin_briefly_unless_the_user_chose_or_numpy_came_first():
    from cnnc.blas_env import SPIN_EXPONENT

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    assert spin_seen(env).strip() == SPIN_EXPONENT
    assert spin_seen({**env, "OPENBLAS_THREAD_TIMEOUT": "4"}).strip() == "4"
    assert spin_seen(env, first="numpy").strip() == "None"


def big_product_threads(env, first) -> str:
    code = f"import {first}, cnnc\nfrom cnnc.backend.cpu import blas\nprint(blas.threads_for(1 << 30), blas._blas()[1])"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_products_run_on_one_thread_where_openblas_workers_would_spin():
    """numpy loaded first, without OPENBLAS_THREAD_TIMEOUT: OpenBLAS's workers spin 2^28 cycles
    after each product, so every product runs on one thread; otherwise large ones use BLAS's threads."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    used, threads = big_product_threads(env, "cnnc").split()
    assert used == threads
    assert big_product_threads(env, "numpy").split()[0] == "1"
    used, threads = big_product_threads({**env, "OPENBLAS_THREAD_TIMEOUT": "12"}, "numpy").split()
    assert used == threads
