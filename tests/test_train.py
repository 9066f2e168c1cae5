"""cnnc train: config precedence, run folder, resume bit for bit (SIGKILL, SIGTERM), NaN stop, clear errors."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cnnc.errors import CnncError
from cnnc.runtime.progress import Progress
from cnnc.runtime.train import train
from cnnc.runtime.train_config import resolve_config
from tests.conftest import digits_npz

ROOT = Path(__file__).resolve().parent.parent

TINY = """network tiny {
  input 1x8x8
  conv 3x3/4 pad 1 nobias; bn; relu
  pool max 2x2
  fc 16; relu
  dropout 0.2
  fc 10
  train {
    loss cross_entropy
    optimizer sgd lr 0.05 momentum 0.9 nesterov
    batch 8
    epochs 3
  }
}
"""


@pytest.fixture
def tiny(tmp_path):
    """A small net and 200 digits (160 train, 20 validation, 20 test), so that a run takes seconds."""
    digits_npz(tmp_path, 180, 20)
    (tmp_path / "tiny.cnn").write_text(TINY)
    return tmp_path


def _cli(*args, cwd=None):
    return subprocess.Popen(
        [sys.executable, "-m", "cnnc", *map(str, args)],
        cwd=cwd or ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _train_args(folder, out, *extra):
    return ("train", folder / "tiny.cnn", "--data", f"npz:{folder / 'small.npz'}", "--out", out, "--quiet", *extra)


def _checkpoint_state(run: Path) -> dict:
    with np.load(run / "checkpoint.npz") as data:
        return json.loads(data["state"].tobytes().decode())


def test_command_line_overrides_the_train_section_which_overrides_defaults():
    section = {"optimizer": {"name": "sgd", "momentum": 0.9, "lr": 0.05}, "batch": 8}
    config = resolve_config(section, {"epochs": 2, "lr": None})
    assert (config["optimizer"], config["lr"], config["batch"], config["epochs"]) == (
        {"name": "sgd", "momentum": 0.9},
        0.05,
        8,
        2,
    )
    other = resolve_config(section, {"optimizer": "adam"})
    assert other["optimizer"] == {"name": "adam"} and other["lr"] == 1e-3  # the sgd options do not carry over
    with pytest.raises(CnncError, match="early stopping watches the validation loss"):
        resolve_config({}, {"early_stop": 2, "val_split": 0.0})


def test_run_folder_holds_metrics_config_weights_checkpoint_and_curves(tiny):
    result = train(tiny / "tiny.cnn", data=f"npz:{tiny / 'small.npz'}", out=tiny / "run", epochs=2, augment="crop,flip")
    names = {p.name for p in (tiny / "run").iterdir()}
    assert {"metrics.csv", "config.json", "weights.safetensors", "checkpoint.npz", "curves.png"} <= names
    lines = (tiny / "run" / "metrics.csv").read_text().splitlines()
    assert lines[0] == "epoch,lr,loss,accuracy,val_loss,val_accuracy,time_s,images_per_s" and len(lines) == 3
    config = json.loads((tiny / "run" / "config.json").read_text())
    assert config["augment"] == "crop,flip" and config["optimizer"] == {
        "name": "sgd",
        "momentum": 0.9,
        "nesterov": True,
    }
    assert result["test"]["count"] == 20 and result["stopped"] == "done"


def test_resume_after_sigkill_mid_epoch_gives_byte_identical_weights(tiny):
    straight = _cli(*_train_args(tiny, tiny / "straight"))
    assert straight.wait(timeout=300) == 0, straight.stderr.read()
    killed = _cli(*_train_args(tiny, tiny / "killed"))
    checkpoint = tiny / "killed" / "checkpoint.npz"
    deadline = time.time() + 300
    while not checkpoint.exists() and time.time() < deadline:
        time.sleep(0.01)  # the first checkpoint is written at the end of epoch 1: kill in epoch 2
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert _checkpoint_state(tiny / "killed")["epoch"] < 3  # the run did not finish
    resumed = _cli("train", tiny / "tiny.cnn", "--resume", tiny / "killed", "--quiet")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    straight_bytes = (tiny / "straight" / "weights.safetensors").read_bytes()
    assert (tiny / "killed" / "weights.safetensors").read_bytes() == straight_bytes
    assert (tiny / "killed" / "metrics.csv").read_text().count("\n") == 4


def test_sigterm_checkpoints_mid_epoch_and_resume_matches(tiny):
    straight = train(tiny / "tiny.cnn", data=f"npz:{tiny / 'small.npz'}", out=tiny / "straight")
    stopped = _cli(*_train_args(tiny, tiny / "stopped", "--epochs", "3"))
    deadline = time.time() + 300
    while not (tiny / "stopped" / "checkpoint.npz").exists() and time.time() < deadline:
        time.sleep(0.01)
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(timeout=120) == 130
    message = stopped.stderr.read()
    assert "cnnc: interrupted at epoch" in message and "--resume" in message and "Traceback" not in message
    state = _checkpoint_state(tiny / "stopped")
    assert state["in_epoch"] or state["epoch"] in (1, 2)
    train(tiny / "tiny.cnn", resume=tiny / "stopped")
    assert (tiny / "stopped" / "weights.safetensors").read_bytes() == (
        straight["out"] / "weights.safetensors"
    ).read_bytes()


def test_nan_loss_stops_naming_epoch_and_step_and_keeps_the_last_good_checkpoint(tiny, monkeypatch):
    import cnnc.runtime.train as training

    calls = {"n": 0}
    real = training.loss_for("cross_entropy", None)

    def poisoned(name, graph):
        def loss(out, target):
            calls["n"] += 1
            value, grad = real(out, target)
            return (float("nan"), grad) if calls["n"] == 28 else (value, grad)  # 23 steps an epoch: epoch 2, step 5

        return loss

    monkeypatch.setattr(training, "loss_for", poisoned)
    with pytest.raises(
        CnncError, match=r"the loss is nan at epoch 2, step 5: training stopped; the checkpoint of epoch 1 is kept"
    ):
        train(tiny / "tiny.cnn", data=f"npz:{tiny / 'small.npz'}", out=tiny / "run", val_split=0.0)
    assert _checkpoint_state(tiny / "run")["epoch"] == 1
    assert (tiny / "run" / "metrics.csv").read_text().count("\n") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--data", "idx:/no/such/folder"), "error: /no/such/folder: no such data folder"),
        (("--data", "cifar10:{tmp}"), "error: {tmp}: no data_batch_1.bin (or data_batch_1.bin.gz)"),
        (("--out", "{tmp}/tiny.cnn/run"), "error: cannot write to the run folder {tmp}/tiny.cnn/run: Not a directory"),
        (("--resume", "{tmp}"), "error: {tmp}: no config.json; is it a cnnc run folder?"),
        (("--lr", "-1"), "argument --lr: expected a number >= 0, got '-1'"),
    ],
)
def test_bad_data_out_or_flags_are_one_clear_line(tiny, args, message):
    args = [a.replace("{tmp}", str(tiny)) for a in args]
    done = _cli("train", tiny / "tiny.cnn", "--quiet", *args)
    assert done.wait(timeout=120) in (1, 2)
    lines = done.stderr.read().strip().splitlines()
    assert lines[-1].endswith(message.replace("{tmp}", str(tiny))), lines
    assert not any("Traceback" in line for line in lines)


def test_network_and_data_shape_mismatch_is_one_line(tiny):
    (tiny / "wide.cnn").write_text("network wide {\n  input 3x32x32\n  fc 10\n}\n")
    done = _cli("train", tiny / "wide.cnn", "--quiet", "--out", tiny / "r")
    assert done.wait(timeout=120) == 1
    assert done.stderr.read() == "error: data 'digits' has images of 1x8x8, the network takes 3x32x32\n"


def test_eval_prints_loss_accuracy_and_confusion_matrix(tiny):
    train(tiny / "tiny.cnn", data=f"npz:{tiny / 'small.npz'}", out=tiny / "run", epochs=1)
    done = _cli(
        "eval",
        tiny / "tiny.cnn",
        "--weights",
        tiny / "run" / "weights.safetensors",
        "--data",
        f"npz:{tiny / 'small.npz'}",
    )
    assert done.wait(timeout=120) == 0, done.stderr.read()
    lines = done.stdout.read().splitlines()
    assert lines[0].endswith("test: 20 images") and lines[1].startswith("loss ")
    matrix = np.array([[int(v) for v in line.split()[1:]] for line in lines[3:]])
    assert matrix.shape == (10, 10) and matrix.sum() == 20


def test_non_tty_output_is_one_line_per_epoch_then_the_test_result(tiny):
    done = _cli("train", tiny / "tiny.cnn", "--data", f"npz:{tiny / 'small.npz'}", "--out", tiny / "r", "--epochs", "2")
    assert done.wait(timeout=300) == 0
    lines = done.stdout.read().splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert lines[2].startswith("test accuracy ") and lines[3] == f"run folder: {tiny / 'r'}"


def test_train_is_exposed_as_cnnc_train():
    import cnnc

    assert cnnc.train.__name__ == "train"


def test_digits_demo_reaches_98_5_percent(tmp_path):
    result = train(ROOT / "examples" / "digits.cnn", out=tmp_path / "run")  # as make demo
    assert result["test"]["accuracy"] >= 98.5


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_and_quiet_keeps_the_result():
    row = {"epoch": 1, "loss": 0.5, "accuracy": 90.0, "val_loss": None, "time_s": 1.0, "images_per_s": 100.0}
    test = {"count": 10, "accuracy": 90.0, "correct": 9, "loss": 0.4}
    outputs = {}
    for name, stream, quiet in (
        ("tty", _Terminal(), False),
        ("pipe", io.StringIO(), False),
        ("quiet", _Terminal(), True),
    ):
        progress = Progress(quiet, 1, 3, stream)
        progress.start_epoch(0, 0)
        for _ in range(3):
            progress.step(8, {"loss": 4.0, "correct": 7, "seen": 8})
        progress.close()
        progress.epoch(row)
        progress.finish(test, "runs/x")
        outputs[name] = stream.getvalue()
    assert "\repoch 1/1:" in outputs["tty"] and "batch/s" in outputs["tty"]  # the bar, redrawn in place
    assert outputs["pipe"].splitlines() == [
        "epoch 1/1  loss 0.5000  acc  90.00%  1.00s  100 img/s",
        "test accuracy 90.00% (9 of 10), loss 0.4000",
        "run folder: runs/x",
    ]
    assert outputs["quiet"].splitlines() == outputs["pipe"].splitlines()[1:]


def test_resume_refuses_settings_other_than_epochs(tiny):
    train(tiny / "tiny.cnn", data=f"npz:{tiny / 'small.npz'}", out=tiny / "run", epochs=1)
    with pytest.raises(CnncError, match=r"--resume continues with .*config.json; it takes no --lr"):
        train(tiny / "tiny.cnn", resume=tiny / "run", lr=0.1)
    result = train(tiny / "tiny.cnn", resume=tiny / "run", epochs=2)
    assert [row["epoch"] for row in result["history"]] == [1, 2]
