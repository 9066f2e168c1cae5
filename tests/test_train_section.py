"""`augment` and `schedule` in the train section: what they lower to, the flags override them, errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from cnnc.api import loads
from cnnc.runtime.train import train as train_net
from cnnc.runtime.train_config import resolve_config
from tests.conftest import ROOT, digits_npz
from tests.test_errors import assert_error
from tests.test_errors_semantic import train

NET = """network tiny {
  input 1x8x8
  fc 10
  train {
    optimizer sgd lr 0.05
    epochs 2
    augment crop flip
    schedule step 1 gamma 0.5
  }
}
"""


@pytest.fixture
def tiny(tmp_path):
    """An fc-only net and 120 digits, so that an epoch takes well under a second."""
    digits_npz(tmp_path, 100, 20)
    (tmp_path / "tiny.cnn").write_text(NET)
    return tmp_path


def _section(*settings: str) -> dict:
    return loads(train(*settings), file="net.cnn").train


@pytest.mark.parametrize(
    ("setting", "flag"),
    [
        ("augment crop", "crop"),
        ("augment flip", "flip"),
        ("augment crop flip", "crop,flip"),
        ("augment none", "none"),
        ("schedule none", "none"),
        ("schedule cosine", "cosine"),
        ("schedule step 10", "step:10"),
        ("schedule step 10 gamma 0.5", "step:10:0.5"),
        ("schedule step (5 * 2) gamma 1", "step:10:1.0"),
    ],
)
def test_augment_and_schedule_lower_to_the_text_of_their_flags(setting, flag):
    name = setting.split()[0]
    assert _section(setting) == {name: flag}
    assert resolve_config(_section(setting), {})[name] == flag


def test_the_command_line_overrides_the_files_augment_and_schedule():
    section = _section("augment crop flip", "schedule step 1 gamma 0.5")
    assert (resolve_config(section, {})["augment"], resolve_config(section, {})["schedule"]) == (
        "crop,flip",
        "step:1:0.5",
    )
    config = resolve_config(section, {"augment": "none", "schedule": "cosine", "lr": None})
    assert (config["augment"], config["schedule"]) == ("none", "cosine")


def test_the_files_schedule_and_augmentation_drive_a_run(tiny):
    train_net(tiny / "tiny.cnn", data=f"npz:{tiny / 'small.npz'}", out=tiny / "run")
    config = json.loads((tiny / "run" / "config.json").read_text())
    assert (config["augment"], config["schedule"]) == ("crop,flip", "step:1:0.5")
    with open(tiny / "run" / "metrics.csv") as metrics:
        assert [float(row["lr"]) for row in csv.DictReader(metrics)] == [0.05, 0.025]  # halved after epoch 1


def test_cnnc_train_flags_override_the_section(tiny):
    data = f"npz:{tiny / 'small.npz'}"
    args = ["train", tiny / "tiny.cnn", "--data", data, "--out", tiny / "run", "--quiet", "--epochs", "1"]
    args += ["--augment", "none", "--schedule", "cosine"]
    done = subprocess.run(
        [sys.executable, "-m", "cnnc", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    config = json.loads((tiny / "run" / "config.json").read_text())
    assert (config["augment"], config["schedule"], config["epochs"]) == ("none", "cosine", 1)


# --- errors -----------------------------------------------------------------

AUGMENT_HINT = "choose crop, flip or both (augment crop flip), or none"
STEP_HINT = "only step does: schedule step N [gamma G]"


@pytest.mark.parametrize(
    ("setting", "message", "column", "hint"),
    [
        ("augment rotate", "unknown augmentation 'rotate'", 13, AUGMENT_HINT),
        ("augment crp", "unknown augmentation 'crp'", 13, "did you mean 'crop'?"),
        ("augment crop crop", "augmentation 'crop' is given twice", 18, None),
        ("augment crop none", "'none' turns augmentation off: it cannot go with crop or flip", 18, None),
        ("augment crop,flip", "unexpected ','", 17, "list them with spaces: augment crop flip"),
        ("schedule linear", "unknown schedule 'linear'", 14, "choose one of none, step, cosine"),
        ("schedule cosin", "unknown schedule 'cosin'", 14, "did you mean 'cosine'?"),
        ("schedule step", "schedule step needs a step size", 5, "e.g. schedule step 10: lr x 0.1 every 10 epochs"),
        ("schedule step 0", "step size must be positive, got 0", 19, None),
        ("schedule step 2.5", "step size must be a whole number, got 2.5", 19, None),
        ("schedule step 10 gamma (-1)", "gamma must be at least 0, got -1", 29, None),
        ("schedule step 10 gamma 0.5 gamma 0.2", "option 'gamma' is given twice", 32, None),
        ("schedule step 10 gama 0.5", "unknown option 'gama'", 22, "did you mean 'gamma'?"),
        ("schedule cosine 5", "schedule cosine takes no step size", 21, STEP_HINT),
        ("schedule cosine gamma 0.5", "schedule cosine takes no gamma", 21, STEP_HINT),
        (
            "schedule step:10",
            "unexpected character ':'",
            18,
            "schedule step N [gamma G], e.g. schedule step 10 gamma 0.5",
        ),
    ],
)
def test_bad_augment_or_schedule_is_one_positioned_error(setting, message, column, hint):
    assert_error(train(setting), message, 5, column, hint)


def test_setting_augment_twice_is_an_error():
    assert_error(train("augment crop", "augment flip"), "'augment' is set twice in the train section", 6, 5)


@pytest.mark.parametrize(
    ("setting", "first_line"),
    [
        ("augment rotate", "bad.cnn:4:19: error: unknown augmentation 'rotate'"),
        ("schedule step 0", "bad.cnn:4:25: error: step size must be positive, got 0"),
    ],
)
def test_cnnc_train_reports_a_bad_setting_with_its_place_and_exits_1(tmp_path, setting, first_line):
    (tmp_path / "bad.cnn").write_text(f"network n {{\n  input 1x8x8\n  fc 10\n  train {{ {setting} }}\n}}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "cnnc", "train", "bad.cnn"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == first_line
