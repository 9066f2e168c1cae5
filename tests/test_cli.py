"""Command-line behaviour shared by all commands."""

import subprocess
import sys

from tests.conftest import ROOT


def test_a_reader_that_goes_away_is_not_an_internal_error():
    command = [sys.executable, "-m", "cnnc", "report", "examples/googlenet.cnn", "--format", "json"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # as `| head` does once it has its lines
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert "internal error" not in stderr and "Traceback" not in stderr
