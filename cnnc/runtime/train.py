"""cnnc.train: mini-batch training of a compiled Net, with checkpoints that resume bit for bit.

Everything random comes from three numpy Generators seeded from ``seed``
(shuffle, augmentation, dropout), each saved in the checkpoint, so a resumed
run draws exactly what the uninterrupted run would have drawn.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np

from ..backend.cpu.loss import loss_for, target_for
from ..backend.cpu.optim import Optimizer, parse_schedule
from ..errors import CnncError
from .batches import Batches, augment, parse_augment
from .checkpoint import NAME as CHECKPOINT
from .checkpoint import load_checkpoint, save_checkpoint
from .data import load_data
from .evaluate import check_labels, evaluate, predictions
from .progress import Progress
from .train_config import (
    default_out,
    plot_curves,
    prepare_out,
    read_config,
    resolve_config,
    write_config,
    write_metrics,
)


class Interrupted(Exception):
    """SIGINT or SIGTERM: a checkpoint was written after the current step; str() says how to continue."""

    def __init__(self, where: str):
        super().__init__(where)
        self.where, self.out, self.source = where, None, None

    def __str__(self) -> str:
        return (
            f"cnnc: interrupted at {self.where}; checkpoint saved in {self.out}/{CHECKPOINT}\n"
            f"continue with: cnnc train {self.source} --resume {self.out}"
        )


def train(source, *, out=None, resume=None, quiet: bool = True, network=None, **settings) -> dict:
    """Train the network of ``source`` (a .cnn path); keyword settings override its train section.

    Returns {"out", "history", "test", "stopped"}. ``resume=DIR`` continues the run in DIR.
    """
    from ..api import load

    if resume is not None:
        config, source = _resume_config(resume, settings)
        out = Path(resume)
    graph = load(source, network)
    if resume is None:
        config = resolve_config(graph.train, settings)
    session = Session(graph, config)  # data and shapes are checked before any folder is made
    if resume is None:
        out = prepare_out(out if out is not None else default_out(graph.name))
        write_config(out, config, str(source))
    state = session.fresh_state()
    if resume is not None:
        state = load_checkpoint(out, session.net, session.optimizer)
        session.restore(state)
    report = Progress(quiet, config["epochs"], len(session.batches))
    try:
        stopped = _with_signals(session, lambda: session.run(state, out, report))
    except Interrupted as interrupted:
        interrupted.out, interrupted.source = out, source
        raise
    test = evaluate(session.net, session.data.x_test, session.data.y_test, config["loss"])
    if state["history"]:
        plot_curves(out, state["history"])
    report.finish(test, out)
    return {"out": out, "history": state["history"], "test": test, "stopped": stopped}


def _resume_config(folder, settings) -> tuple[dict, str]:
    config, source = read_config(folder)
    other = sorted(k for k, v in settings.items() if v is not None and k != "epochs")
    if other:
        raise CnncError(f"--resume continues with {folder}/config.json; it takes no --{other[0].replace('_', '-')}")
    if settings.get("epochs"):
        config["epochs"] = settings["epochs"]  # continuing for longer is allowed
    return config, source


class Session:
    def __init__(self, graph, config: dict):
        from ..passes import run_passes
        from .execute import Net
        from .weights import init_weights

        self.graph, self.config = graph, config
        self.data = load_data(config["data"], graph.input.meta["shape"], config["val_split"])
        self.outputs = int(np.prod(graph.output.meta["shape"]))
        check_labels(self.data.y_train, self.outputs, config["loss"], config["data"])
        graph.weights = init_weights(graph, config["seed"])
        run_passes(graph, level=2, training=True)  # BN and conv fused with their add and ReLU
        self.net = Net(graph, graph.weights, seed=config["seed"])
        seed = config["seed"]
        self.net.rng = np.random.default_rng([seed, 2])  # dropout: a stream apart from the init's
        self.augment_rng = np.random.default_rng([seed, 1])
        self.batches = Batches(len(self.data.x_train), config["batch"], np.random.default_rng([seed, 0]))
        options = {k: v for k, v in config["optimizer"].items() if k != "name"}
        self.optimizer = Optimizer(
            self.net.params, config["optimizer"]["name"], config["l1"], config["l2"], lr=config["lr"], **options
        )
        self.schedule = parse_schedule(config["schedule"], config["epochs"])
        self.augmentations = parse_augment(config["augment"])
        self.loss_fn = loss_for(config["loss"], graph)
        self.stop_requested = False

    def fresh_state(self) -> dict:
        return {"epoch": 0, "step": 0, "in_epoch": False, "sums": None, "history": [], "best": None, "bad": 0}

    def snapshot(self, state: dict) -> dict:
        rngs = {"augment": self.augment_rng.bit_generator.state, "dropout": self.net.rng.bit_generator.state}
        return {**state, "batches": self.batches.state(), "rng": rngs}

    def restore(self, state: dict) -> None:
        self.augment_rng.bit_generator.state = state["rng"]["augment"]
        self.net.rng.bit_generator.state = state["rng"]["dropout"]
        if state["batches"]["epoch_rng"] is not None:
            self.batches.restore(state["batches"])

    def run(self, state: dict, out: Path, report) -> str:
        config = self.config
        while state["epoch"] < config["epochs"]:
            self.optimizer.lr = self.schedule(config["lr"], state["epoch"])
            if not state["in_epoch"]:
                self.batches.start_epoch()
                state.update(in_epoch=True, sums={"loss": 0.0, "correct": 0, "seen": 0, "time": 0.0})
            self._epoch(state, out, report)
            row = self._finish_epoch(state)
            save_checkpoint(out, self.net, self.optimizer, self.snapshot(state))
            write_metrics(out, state["history"])
            self.net.save(out / "weights.safetensors")
            report.epoch(row)
            if config["early_stop"] and state["bad"] >= config["early_stop"]:
                return "early"
        return "done"

    def _epoch(self, state: dict, out: Path, report) -> None:
        sums, started = state["sums"], time.perf_counter()
        report.start_epoch(state["epoch"], self.batches.position)
        while (index := self.batches.next()) is not None:
            loss, correct = self._step(index, state)
            state["step"] += 1
            sums["loss"] += loss * len(index)
            sums["correct"] += correct
            sums["seen"] += len(index)
            report.step(len(index), sums)
            if self.stop_requested:
                sums["time"] += time.perf_counter() - started
                save_checkpoint(out, self.net, self.optimizer, self.snapshot(state))
                report.close()
                raise Interrupted(f"epoch {state['epoch'] + 1}, step {self.batches.position} of {len(self.batches)}")
        sums["time"] += time.perf_counter() - started
        report.close()

    def _step(self, index, state: dict) -> tuple[float, int]:
        x, y = self.data.x_train[index], self.data.y_train[index]
        if self.augmentations:
            x = augment(x, self.augmentations, self.augment_rng)
        out = self.net(x, training=True)
        flat = out.reshape(len(out), -1)
        loss, grad = self.loss_fn(flat, target_for(self.config["loss"], y, flat.shape[1], flat.dtype))
        if not np.isfinite(loss):
            self._non_finite(f"the loss is {loss}", state)
        self.net.zero_grad()
        self.net.backward(grad.reshape(out.shape), input_grad=False)
        for layer, tensors in self.net.grads.items():
            for name, g in tensors.items():
                if not np.isfinite(np.sum(g)):
                    self._non_finite(f"the gradient of {layer}.{name} is not finite", state)
        self.optimizer.step(self.net.grads)
        predicted = predictions(flat, self.config["loss"], self.graph.output.op == "sigmoid")
        return loss, int(np.sum(predicted == y))

    def _non_finite(self, what: str, state: dict):
        kept = f"the checkpoint of epoch {state['epoch']} is kept" if state["epoch"] else "no checkpoint was written"
        raise CnncError(
            f"{what} at epoch {state['epoch'] + 1}, step {self.batches.position}: training stopped; {kept}"
            " (try a lower learning rate)"
        )

    def _finish_epoch(self, state: dict) -> dict:
        sums = state["sums"]
        val = evaluate(self.net, self.data.x_val, self.data.y_val, self.config["loss"])
        row = {
            "epoch": state["epoch"] + 1,
            "lr": self.optimizer.lr,
            "loss": sums["loss"] / sums["seen"],
            "accuracy": 100.0 * sums["correct"] / sums["seen"],
            "val_loss": val["loss"],
            "val_accuracy": val["accuracy"],
            "time_s": sums["time"],
            "images_per_s": sums["seen"] / max(sums["time"], 1e-9),
        }
        state["history"].append(row)
        if val["loss"] is not None and (state["best"] is None or val["loss"] < state["best"]):
            state["best"], state["bad"] = val["loss"], 0
        else:
            state["bad"] += 1
        state.update(epoch=state["epoch"] + 1, in_epoch=False, sums=None)
        return row


def _with_signals(session: Session, work):
    """Run ``work`` with SIGINT/SIGTERM turned into a checkpoint after the current step."""

    def request_stop(signum, frame):
        session.stop_requested = True

    try:
        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals stay as they are
        previous = {}
    try:
        return work()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
