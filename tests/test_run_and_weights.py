"""cnnc run, and weights files: names from layer paths, checked on load, never pickle."""

import subprocess
import sys

import numpy as np
import pytest

from cnnc.errors import CnncError
from cnnc.runtime.reference import run_reference
from cnnc.runtime.weights import init_weights, load_weights, save_weights
from tests.conftest import ROOT, net

DIGITS = str(ROOT / "examples" / "digits.cnn")


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_weights_round_trip_with_layer_path_names(tmp_path, suffix):
    graph = net("conv 3x3/4; bn; relu; fc 3", "2x6x6")
    weights = init_weights(graph, seed=3)
    path = tmp_path / f"w{suffix}"
    save_weights(weights, path)
    loaded = load_weights(graph, path)
    assert sorted(f"{k}.{t}" for k, v in loaded.items() for t in v) == [
        "bn1.running_mean", "bn1.running_var", "bn1.scale", "bn1.shift",
        "conv1.bias", "conv1.weight", "fc1.bias", "fc1.weight",
    ]  # fmt: skip
    for layer, tensors in weights.items():
        for name, array in tensors.items():
            np.testing.assert_array_equal(loaded[layer][name], array)
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was renamed into place


def test_mismatched_weights_name_the_tensor_and_both_shapes(tmp_path):
    small, big = net("conv 3x3/4", "2x6x6"), net("conv 3x3/5", "2x6x6")
    path = tmp_path / "w.npz"
    save_weights(init_weights(small), path)
    with pytest.raises(CnncError, match=r"tensor 'conv1.weight' has shape 4x2x3x3, the network needs 5x2x3x3"):
        load_weights(big, path)
    with pytest.raises(CnncError, match=r"no tensor 'fc1.weight' and 1 more for network 't'"):
        load_weights(net("conv 3x3/4; fc 2", "2x6x6"), path)
    with pytest.raises(CnncError, match=r"tensor 'conv1.bias' is not a parameter"):
        load_weights(net("conv 3x3/4 nobias", "2x6x6"), path)


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_truncated_missing_and_pickled_weights_files_are_clear_errors(tmp_path, suffix):
    graph = net("conv 3x3/4", "2x6x6")
    path = tmp_path / f"w{suffix}"
    save_weights(init_weights(graph), path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CnncError, match="not a readable"):
        load_weights(graph, path)
    with pytest.raises(CnncError, match="no such weights file"):
        load_weights(graph, tmp_path / f"missing{suffix}")
    with pytest.raises(CnncError, match="are .safetensors or .npz"):
        load_weights(graph, tmp_path / "w.pt")


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, **{"conv1.weight": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(CnncError, match="not a readable"):
        load_weights(net("conv 3x3/4", "2x6x6"), path)


def cnnc(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cnnc", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_run_with_weights_matches_the_reference(tmp_path):
    from cnnc.api import load

    graph = load(DIGITS)
    weights = init_weights(graph, seed=5)
    save_weights(weights, tmp_path / "w.safetensors")
    x = np.random.default_rng(0).normal(size=(3, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    expected = run_reference(graph, x.astype(np.float64), weights)
    for flags, rtol in [((), 1e-4), (("--dtype", "float64"), 1e-5), (("--reference",), 1e-5)]:
        args = ("run", DIGITS, "--input", "x.npy", "--weights", "w.safetensors", "-o", "y.npy", *flags)
        result = cnnc(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=rtol, atol=1e-5, err_msg=str(flags))


def test_cli_run_uses_the_compiled_net_unless_told(tmp_path, monkeypatch):
    """The default executor is the Numba backend (float32 output), --reference the numpy one."""
    import cnnc.runtime.reference as reference
    from cnnc.cli import main

    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), np.float32))
    calls = []
    real = reference.run_reference
    monkeypatch.setattr(reference, "run_reference", lambda *a, **k: calls.append(1) or real(*a, **k))
    for flags in [(), ("--reference",)]:
        assert (
            main(["run", str(DIGITS), "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y.npy"), *flags]) == 0
        )
    assert calls == [1]


def test_cli_run_single_image_and_bad_inputs(tmp_path):
    np.save(tmp_path / "one.npy", np.zeros((1, 8, 8)))
    result = cnnc("run", DIGITS, "--input", "one.npy", cwd=tmp_path)
    assert result.returncode == 0 and "seeded random init" in result.stderr
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 8, 8)))
    (tmp_path / "junk.npy").write_text("not numpy")
    for name, message in [
        ("bad.npy", "takes Nx1x8x8"),
        ("junk.npy", "not a .npy array"),
        ("nope.npy", "no such file"),
        ("", "--input needs the path of a .npy array"),
        ("one.npy --reference --dtype float64", "--dtype is the compiled net's; --reference always runs in float64"),
    ]:
        result = cnnc("run", DIGITS, "--input", *name.split(" "), cwd=tmp_path)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
