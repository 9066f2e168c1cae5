"""Every optimizer equals torch.optim's update over 5 steps (float64, same params and gradients)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnc.backend.cpu.optim import Optimizer, cosine_lr, parse_schedule, step_lr
from cnnc.errors import CnncError

torch = pytest.importorskip("torch")

STEPS = 5
SHAPES = {"conv1": {"weight": (4, 3, 3, 3), "bias": (4,)}, "fc": {"weight": (10, 36)}}

# (our name, our options, torch class name, torch options)
CASES = [
    ("sgd", {"lr": 0.1}, "SGD", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}, "SGD", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("adagrad", {"lr": 0.1}, "Adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.1, "eps": 1e-3}, "Adagrad", {"lr": 0.1, "eps": 1e-3}),
    ("adadelta", {}, "Adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4}, "Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4}),
    ("rmsprop", {"lr": 0.01}, "RMSprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5}, "RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5}),
    ("adam", {"lr": 0.01}, "Adam", {"lr": 0.01}),
    (
        "adam",
        {"lr": 0.003, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
        "Adam",
        {"lr": 0.003, "betas": (0.8, 0.99), "eps": 1e-6},
    ),
]


def _sequences(seed=0):
    rng = np.random.default_rng(seed)
    params = {layer: {k: rng.normal(size=s) for k, s in t.items()} for layer, t in SHAPES.items()}
    grads = [
        {layer: {k: rng.normal(size=s) for k, s in t.items()} for layer, t in SHAPES.items()} for _ in range(STEPS)
    ]
    return params, grads


def _torch_run(cls, options, params, grads, l1=0.0):
    tensors = {f"{layer}.{k}": torch.tensor(v.copy()) for layer, t in params.items() for k, v in t.items()}
    for t in tensors.values():
        t.requires_grad_(True)
    opt = getattr(torch.optim, cls)(list(tensors.values()), **options)
    for step in grads:
        for name, tensor in tensors.items():
            layer, k = name.rsplit(".", 1)
            g = torch.tensor(step[layer][k])
            tensor.grad = g + l1 * torch.sign(tensor.detach()) if l1 else g  # L1 as an added subgradient
        opt.step()
    return {name: t.detach().numpy() for name, t in tensors.items()}


def _ours(name, options, params, grads, **penalties):
    opt = Optimizer(params, name, **penalties, **options)
    for step in grads:
        opt.step(step)
    return {f"{layer}.{k}": v for layer, t in params.items() for k, v in t.items()}, opt


def _max_relative_error(ours, theirs):
    return max(float(np.max(np.abs(ours[k] - theirs[k]) / np.maximum(np.abs(theirs[k]), 1e-300))) for k in theirs)


@pytest.mark.parametrize(("name", "options", "cls", "torch_options"), CASES)
def test_optimizer_matches_torch_over_five_steps(name, options, cls, torch_options):
    params, grads = _sequences()
    expected = _torch_run(cls, torch_options, params, grads)
    ours, _ = _ours(name, options, params, grads)
    assert _max_relative_error(ours, expected) < 1e-10


@pytest.mark.parametrize(("name", "options", "cls", "torch_options"), [CASES[2], CASES[5], CASES[8], CASES[9]])
def test_l2_is_torch_weight_decay_and_l1_an_added_subgradient(name, options, cls, torch_options):
    params, grads = _sequences(1)
    expected = _torch_run(cls, {**torch_options, "weight_decay": 0.01}, params, grads, l1=0.003)
    ours, _ = _ours(name, options, params, grads, l1=0.003, l2=0.01)
    assert _max_relative_error(ours, expected) < 1e-10


@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[6], CASES[8], CASES[10]])
def test_state_dict_round_trip_continues_identically(case):
    name, options, *_ = case
    params, grads = _sequences(2)
    straight, _ = _ours(name, options, {k: {n: a.copy() for n, a in t.items()} for k, t in params.items()}, grads)
    first = Optimizer(params, name, **options)
    for step in grads[:2]:
        first.step(step)
    saved = {k: np.array(v) for k, v in first.state_dict().items()}
    second = Optimizer(params, name, **options)
    second.load_state_dict(saved)
    for step in grads[2:]:
        second.step(step)
    for layer, tensors in params.items():
        for k, v in tensors.items():
            assert np.array_equal(v, straight[f"{layer}.{k}"])


def test_step_and_cosine_schedules_match_torch():
    p = torch.nn.Parameter(torch.zeros(1))
    for make, ours in (
        (lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), lambda e: step_lr(0.1, e, 3, 0.5)),
        (lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10), lambda e: cosine_lr(0.1, e, 10)),
    ):
        opt = torch.optim.SGD([p], lr=0.1)
        schedule = make(opt)
        for epoch in range(10):
            assert abs(opt.param_groups[0]["lr"] - ours(epoch)) <= 1e-12
            opt.step()
            schedule.step()


def test_parse_schedule_forms_and_errors():
    assert parse_schedule(None, 10)(0.1, 5) == 0.1
    assert parse_schedule("step:2:0.5", 10)(0.1, 5) == pytest.approx(0.025)
    assert parse_schedule("cosine", 10)(0.1, 10) == pytest.approx(0.0)
    with pytest.raises(CnncError, match="unknown schedule 'step:x'"):
        parse_schedule("step:x", 10)
    for bad in ("step:2:-1", "step:2:nan"):
        with pytest.raises(CnncError, match="gamma must be at least 0"):
            parse_schedule(bad, 10)


def test_unknown_optimizer_and_option_are_clear_errors():
    with pytest.raises(CnncError, match="unknown optimizer 'adamw'"):
        Optimizer({}, "adamw")
    with pytest.raises(CnncError, match="optimizer adam has no option 'momentum'"):
        Optimizer({}, "adam", momentum=0.9)
