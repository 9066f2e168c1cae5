"""Every parallel loop's two twins give the same numbers, and small work runs serially.

The kernel tests run small tensors, hence the serial twins; here every
statement runs forward and backward (training mode) once with the serial twins
and once with SERIAL_BELOW = COMPILE_FROM = 0, so that every loop runs its parallel twin, in
float64. A last test checks that these statements reached every loop of the
backend, so a new loop cannot go untested in parallel.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import cnnc
from cnnc.backend.cpu import jit
from tests.kernel_check import make

STATEMENTS = [
    ("conv 3x3/4 stride 2 pad 1; relu", "3x9x9"),  # im2col, col2im, relu
    ("conv 3x3/3 groups 3 pad 1; leaky_relu 0.2", "3x9x9"),  # depthwise x3
    ("conv 3x3/4 pad 1; relu6; elu 0.5", "3x7x7"),
    ("pool max 3x3 stride 2 pad 1", "3x9x9"),
    ("pool avg 3x3 stride 2 pad 1 ceil", "3x9x9"),
    ("pool l2 2x2", "3x8x8"),
    ("pool max 2x2; pool avg 2x2", "3x8x8"),  # the 2x2 kernels (pool_2x2.py)
    ("bn; prelu", "4x5x5"),
    ("bn; relu", "4x5x5"),  # batch statistics in training; bn_apply in inference
    ("lrn 3 alpha 0.5 beta 1.5", "5x4x4"),
    ("maxout 2", "6x3x3"),
    ("dropout 0.4", "4x5x5"),
    ("residual { conv 3x3/3 pad 1; bn } ; relu", "3x6x6"),
    ("concat { branch { relu }; branch { tanh } }", "3x4x4"),
    ("conv 3x3/4 pad 1", "3x6x6"),
    ("fc 5; sigmoid", "3x2x2"),
    ("conv 3x3/4 pad 1; tanh", "3x6x6", 2),  # fused: the bias pass ("none") before numpy's tanh
]


def run(stmt, shape, training, opt=0):
    graph, net, weights, x = make(stmt, shape, 3, "float64")
    if opt:
        net = cnnc.compile(graph, opt=opt, dtype="float64", weights=weights)
    net.rng = np.random.default_rng(3)
    y = net(x, training=training)
    net.zero_grad()
    dx = net.backward(np.random.default_rng(4).normal(size=y.shape)) if training else None
    grads = {(layer, name): g.copy() for layer, names in net.grads.items() for name, g in names.items()}
    return y, dx, grads


@pytest.mark.parametrize("case", STATEMENTS, ids=[case[0] for case in STATEMENTS])
def test_parallel_twin_equals_serial_twin(case, monkeypatch):
    for training in (True, False):
        serial = run(*case[:2], training, *case[2:])
        monkeypatch.setattr(jit, "SERIAL_BELOW", 0)
        monkeypatch.setattr(jit, "COMPILE_FROM", 0)
        parallel = run(*case[:2], training, *case[2:])
        monkeypatch.undo()
        np.testing.assert_allclose(parallel[0], serial[0], rtol=1e-12, atol=1e-14)
        if training:
            np.testing.assert_allclose(parallel[1], serial[1], rtol=1e-12, atol=1e-14)
            for key, g in serial[2].items():
                np.testing.assert_allclose(parallel[2][key], g, rtol=1e-12, atol=1e-14, err_msg=str(key))


def all_loops():
    """Every Loop object of the backend's modules, by dotted name."""
    return {
        f"{name}.{attr}": value
        for name, module in list(sys.modules.items())
        if name.startswith("cnnc.backend.cpu.")
        for attr, value in vars(module).items()
        if isinstance(value, jit.Loop)
    }


def test_the_statements_reach_every_parallel_loop(monkeypatch):
    monkeypatch.setattr(jit, "SERIAL_BELOW", 0)
    monkeypatch.setattr(jit, "COMPILE_FROM", 0)
    for case in STATEMENTS:
        for training in (True, False):
            run(*case[:2], training, *case[2:])
    missing = sorted(name for name, loop in all_loops().items() if not loop.parallel.signatures)
    assert all_loops() and not missing, f"parallel twins no statement reached: {missing}"


def test_small_work_runs_serial_and_large_work_parallel(monkeypatch):
    loop = next(iter(all_loops().values()))
    monkeypatch.setattr(jit, "SERIAL_BELOW", 1000)
    monkeypatch.setattr(jit, "COMPILE_FROM", 1000)
    small, large = np.zeros(8), np.zeros(jit.SERIAL_BELOW)
    assert loop.pick((small, 1)) is loop.serial
    assert loop.pick((large, small)) is loop.parallel or jit.get_num_threads() == 1
    monkeypatch.setattr(jit, "get_num_threads", lambda: 1)
    assert loop.pick((large,)) is loop.serial


def test_a_parallel_twin_is_compiled_only_for_large_work_then_runs_from_the_lower_threshold(monkeypatch):
    """Between SERIAL_BELOW and COMPILE_FROM elements the parallel twin runs only once compiled."""

    class Dispatcher:
        signatures = []

    loop = jit.Loop.__new__(jit.Loop)
    loop.serial, loop.parallel = object(), Dispatcher()
    monkeypatch.setattr(jit, "SERIAL_BELOW", 100)
    monkeypatch.setattr(jit, "COMPILE_FROM", 1000)
    monkeypatch.setattr(jit, "get_num_threads", lambda: 2)
    middle, large = np.zeros(500), np.zeros(1000)
    assert loop.pick((middle,)) is loop.serial
    assert loop.pick((large,)) is loop.parallel
    Dispatcher.signatures = ["(float64[::1],)"]
    assert loop.pick((middle,)) is loop.parallel
    assert loop.pick((np.zeros(50),)) is loop.serial


def test_the_threshold_comes_from_the_environment_and_a_bad_one_is_a_clear_error():
    from cnnc.errors import CnncError

    assert jit._serial_below(None) == jit.DEFAULT_SERIAL_BELOW and jit._serial_below("4096") == 4096
    with pytest.raises(CnncError, match="CNNC_SERIAL_BELOW must be a whole number of elements, not 'lots'"):
        jit._serial_below("lots")
