"""cnnc time: per-layer clocks for every layer, end to end measured apart."""

import subprocess
import sys

import cnnc
from cnnc.runtime.timing import format_timings, time_net
from tests.conftest import ROOT

DIGITS = ROOT / "examples" / "digits.cnn"


def test_every_layer_is_timed_forward_and_backward_and_clocks_are_removed():
    net = cnnc.compile(DIGITS, opt=0)
    kernels = net.kernels
    timings = time_net(net, batch=4, train=True, repeats=2)
    layers = [n.name for n in net.graph.layers()]
    assert sorted(timings.forward) == sorted(layers)
    assert set(timings.backward) <= set(layers) and "fc1" in timings.backward
    assert timings.end_to_end > 0 and timings.first_call > 0
    assert net.kernels is kernels  # the clocked kernels were only for the per-layer run
    table = format_timings(net, timings)
    assert table.splitlines()[0].split()[:4] == ["layer", "op", "forward", "ms"]
    assert "end to end:" in table and "images/s" in table


def test_cli_time_runs_optimized_inference_and_training_with_its_safe_passes():
    run = [sys.executable, "-m", "cnnc", "time", str(DIGITS), "--batch", "2", "--repeat", "1"]
    result = subprocess.run(run, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "first step:" in result.stdout and "conv 3x3/16 p1 + relu" in result.stdout  # BN folded, ReLU fused
    result = subprocess.run([*run, "--train"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "bn + relu" in result.stdout and "p1 + relu" not in result.stdout  # BN kept, its ReLU fused
