"""The CPU backend makes OpenMP threads wait passively unless the user chose."""

import os
import subprocess
import sys

CODE = "import os, cnnc.backend.cpu; print(os.environ['OMP_WAIT_POLICY'])"


def run(env):
    result = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_passive_waits_by_default_and_the_users_setting_wins():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert run(env) == "PASSIVE"
    assert run({**env, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
