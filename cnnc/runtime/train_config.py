"""The resolved training configuration and the run directory's files.

Precedence: built-in defaults < the network's ``train { }`` section < the
command line (or keyword arguments of ``cnnc.train``). The resolved config is
written to config.json, so that ``--resume`` continues with exactly it.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

from ..backend.cpu.optim import DEFAULTS as OPTIMIZER_DEFAULTS
from ..backend.cpu.optim import parse_schedule
from ..errors import CnncError
from ..training import LOSSES
from .batches import parse_augment
from .checkpoint import write_atomic

DEFAULTS = {
    "data": "digits",
    "loss": "cross_entropy",
    "optimizer": "sgd",
    "lr": None,  # the optimizer's own default (torch's)
    "batch": 32,
    "epochs": 10,
    "l1": 0.0,
    "l2": 0.0,
    "early_stop": 0,  # epochs without a better validation loss before stopping; 0: never
    "augment": "",
    "val_split": 0.1,
    "seed": 0,
    "schedule": "none",
}

METRICS = ("epoch", "lr", "loss", "accuracy", "val_loss", "val_accuracy", "time_s", "images_per_s")


def resolve_config(section: dict | None, overrides: dict) -> dict:
    section = dict(section or {})
    from_file = section.pop("optimizer", {"name": DEFAULTS["optimizer"]})
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise CnncError(f"unknown training setting '{sorted(unknown)[0]}'; settings: {', '.join(DEFAULTS)}")
    config = {**DEFAULTS, "optimizer": from_file["name"], **section}
    config.update({k: v for k, v in overrides.items() if v is not None})
    name = config.pop("optimizer")
    if name not in OPTIMIZER_DEFAULTS:
        raise CnncError(f"unknown optimizer '{name}'; choose one of {', '.join(OPTIMIZER_DEFAULTS)}")
    same = name == from_file["name"]  # the file's options only apply to the file's optimizer
    options = {k: v for k, v in from_file.items() if k not in ("name", "lr")} if same else {}
    if config["lr"] is None:
        config["lr"] = from_file.get("lr") if same and "lr" in from_file else OPTIMIZER_DEFAULTS[name]["lr"]
    config["optimizer"] = {"name": name, **options}
    _validate(config)
    return config


def _validate(config: dict) -> None:
    for key in ("batch", "epochs"):
        if not isinstance(config[key], int) or config[key] < 1:
            raise CnncError(f"{key} must be a positive integer, not {config[key]!r}")
    if not isinstance(config["early_stop"], int) or config["early_stop"] < 0:
        raise CnncError(f"early_stop must be a whole number of epochs, not {config['early_stop']!r}")
    for key in ("lr", "l1", "l2"):
        if not config[key] >= 0:
            raise CnncError(f"{key} must be a number >= 0, not {config[key]!r}")
    if not 0 <= config["val_split"] < 1:
        raise CnncError(f"val_split must be in [0, 1), not {config['val_split']}")
    if config["early_stop"] and not config["val_split"]:
        raise CnncError("early stopping watches the validation loss: it needs a val_split above 0")
    if config["loss"] not in LOSSES:
        raise CnncError(f"unknown loss '{config['loss']}'; choose one of {', '.join(LOSSES)}")
    parse_augment(config["augment"])
    parse_schedule(config["schedule"], config["epochs"])


# --- the run directory ------------------------------------------------------


def default_out(graph_name: str) -> Path:
    return Path("runs") / f"{graph_name}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_out(out) -> Path:
    """Create the folder and prove it writable now, before minutes of training."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / ".cnnc-write-test", b"")
        (out / ".cnnc-write-test").unlink()
    except OSError as error:
        raise CnncError(f"cannot write to the run folder {out}: {error.strerror}") from None
    return out


def write_config(out: Path, config: dict, source: str) -> None:
    write_atomic(out / "config.json", (json.dumps({"network": source, **config}, indent=2) + "\n").encode())


def read_config(out: Path) -> tuple[dict, str]:
    try:
        config = json.loads((Path(out) / "config.json").read_text())
    except FileNotFoundError:
        raise CnncError(f"{out}: no config.json; is it a cnnc run folder?") from None
    except (OSError, ValueError) as error:
        raise CnncError(f"{out}/config.json: not readable ({error})") from None
    return config, config.pop("network")


def write_metrics(out: Path, history: list[dict]) -> None:
    """The whole table each epoch (atomically), so that it always matches the checkpoint after a resume."""
    text = io.StringIO()
    writer = csv.DictWriter(text, METRICS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _cell(row.get(k)) for k in METRICS})
    write_atomic(out / "metrics.csv", text.getvalue().encode())


def _cell(value):
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else value


def plot_curves(out: Path, history: list[dict]) -> Path:
    # matplotlib's object API: no pyplot, so the user's backend is left alone
    # and the import costs about half as much
    from matplotlib.figure import Figure

    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(9, 3.5))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for axes, key, label in ((loss_axes, "loss", "loss"), (accuracy_axes, "accuracy", "accuracy (%)")):
        axes.plot(epochs, [row[key] for row in history], label="train")
        if any(row.get(f"val_{key}") is not None for row in history):
            axes.plot(epochs, [row.get(f"val_{key}") for row in history], label="validation")
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.legend()
    figure.tight_layout()
    path = out / "curves.png"
    figure.savefig(path, dpi=100)
    return path
