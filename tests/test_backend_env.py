"""The CPU backend makes OpenMP threads spin briefly, then wait passively, unless the user chose."""

import os
import subprocess
import sys

CODE = "import os, cnnc.backend.cpu; print(os.environ['OMP_WAIT_POLICY'], os.environ.get('GOMP_SPINCOUNT'))"


def run(env):
    result = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_short_spins_then_passive_waits_by_default_and_the_users_settings_win():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    assert run(env) == "PASSIVE 3000"
    assert run({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE None"
    assert run({**env, "GOMP_SPINCOUNT": "0"}) == "PASSIVE 0"


LAYER = """
import ctypes, ctypes.util, os
{preload}
import cnnc.backend.cpu
from numba import config
print(config.THREADING_LAYER)
"""


def layer(env, preload: bool) -> str:
    gomp = "ctypes.CDLL(ctypes.util.find_library('gomp') or 'libgomp.so.1')" if preload else ""
    code = LAYER.format(preload=gomp)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_numbas_own_pool_where_an_openmp_runtime_loaded_before_cnnc():
    """OMP_WAIT_POLICY reaches an OpenMP runtime only when it loads: one loaded earlier (PyTorch
    imported first) would spin, so the parallel kernels run on Numba's workqueue instead."""
    import ctypes.util

    if ctypes.util.find_library("gomp") is None:
        import pytest

        pytest.skip("no libgomp to load first")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "NUMBA_THREADING_LAYER")}
    assert layer(env, preload=False).strip() == "default"
    assert layer(env, preload=True).strip() == "workqueue"
    assert layer({**env, "OMP_WAIT_POLICY": "PASSIVE"}, preload=True).strip() == "default"
    assert layer({**env, "NUMBA_THREADING_LAYER": "omp"}, preload=True).strip() == "omp"
