"""Optimizers and learning-rate schedules: in-place updates of {layer: {param: array}}.

Each rule is torch.optim's single-tensor update for the same hyper-parameters
(torch 2.x, ``maximize=False``, ``foreach=False``), written with numpy in-place
operations in the same order, so that float64 runs agree to rounding:

- sgd: v = g (first step) else momentum*v + g; nesterov: g + momentum*v
- adagrad: s += g^2; p -= lr * g / (sqrt(s) + eps)     (Duchi et al., 2011)
- adadelta: Zeiler, 2012, with torch's lr factor (default 1.0)
- rmsprop: a = alpha*a + (1-alpha) g^2; p -= lr * g / (sqrt(a) + eps)  (Hinton, 2012)
- adam: Kingma and Ba, 2015, bias-corrected as in torch

``l2`` is torch's ``weight_decay`` (g += l2*p, i.e. a penalty l2/2 * |p|^2);
``l1`` adds the subgradient l1*sign(p) (a penalty l1 * |p|_1). Both apply to
every learnable tensor, as torch's weight_decay does in one parameter group.

The update kernels live here, under the backend, as the architecture places
them (``backend/<device>/optim.py``): numpy in-place arithmetic is already
memory-bound and needs no Numba; a CUDA backend gives the same names.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import CnncError

# optimizer -> its options' defaults (torch's), lr included
DEFAULTS = {
    "sgd": {"lr": 1e-3, "momentum": 0.0, "nesterov": False},
    "adagrad": {"lr": 1e-2, "eps": 1e-10},
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
    "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0},
    "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


def _sgd(p, g, state, t, lr, momentum, nesterov):
    if momentum:
        if t == 1:
            buf = state["momentum"] = g.copy()  # torch starts the buffer at the first gradient
        else:
            buf = state["momentum"]
            buf *= momentum
            buf += g
        g = g + momentum * buf if nesterov else buf
    p -= lr * g


def _adagrad(p, g, state, t, lr, eps):
    total = state.setdefault("sum", np.zeros_like(p))
    total += g * g
    p -= lr * (g / (np.sqrt(total) + eps))


def _adadelta(p, g, state, t, lr, rho, eps):
    square_avg = state.setdefault("square_avg", np.zeros_like(p))
    acc_delta = state.setdefault("acc_delta", np.zeros_like(p))
    square_avg *= rho
    square_avg += (1 - rho) * (g * g)
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
    acc_delta *= rho
    acc_delta += (1 - rho) * (delta * delta)
    p -= lr * delta


def _rmsprop(p, g, state, t, lr, alpha, eps, momentum):
    square_avg = state.setdefault("square_avg", np.zeros_like(p))
    square_avg *= alpha
    square_avg += (1 - alpha) * (g * g)
    avg = np.sqrt(square_avg) + eps
    if momentum:
        buf = state.setdefault("momentum", np.zeros_like(p))
        buf *= momentum
        buf += g / avg
        p -= lr * buf
    else:
        p -= lr * (g / avg)


def _adam(p, g, state, t, lr, beta1, beta2, eps):
    m = state.setdefault("exp_avg", np.zeros_like(p))
    v = state.setdefault("exp_avg_sq", np.zeros_like(p))
    m += (g - m) * (1 - beta1)  # torch's lerp_: m + (1-beta1)(g - m)
    v *= beta2
    v += (1 - beta2) * (g * g)
    step_size = lr / (1 - beta1**t)
    denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
    p -= step_size * (m / denom)


RULES = {"sgd": _sgd, "adagrad": _adagrad, "adadelta": _adadelta, "rmsprop": _rmsprop, "adam": _adam}


class Optimizer:
    """``opt.step(grads)`` updates ``params`` in place; ``state_dict``/``load_state_dict`` round-trip."""

    def __init__(self, params: dict, name: str = "sgd", l1: float = 0.0, l2: float = 0.0, **options):
        if name not in RULES:
            raise CnncError(f"unknown optimizer '{name}'; choose one of {', '.join(RULES)}")
        unknown = set(options) - set(DEFAULTS[name])
        if unknown:
            raise CnncError(f"optimizer {name} has no option '{sorted(unknown)[0]}'")
        self.name, self.params, self.l1, self.l2 = name, params, l1, l2
        self.options = {**DEFAULTS[name], **{k: v for k, v in options.items() if v is not None}}
        self.base_lr = self.options["lr"]
        self.t = 0  # steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {}  # "layer.param" -> {slot: array}

    @property
    def lr(self) -> float:
        return self.options["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        self.options["lr"] = value

    def step(self, grads: dict) -> None:
        self.t += 1
        rule = RULES[self.name]
        for layer, tensors in self.params.items():
            for name, p in tensors.items():
                g = self._penalised(p, grads[layer][name])
                rule(p, g, self.state.setdefault(f"{layer}.{name}", {}), self.t, **self.options)

    def _penalised(self, p, g):
        if self.l2:
            g = g + self.l2 * p
        if self.l1:
            g = g + self.l1 * np.sign(p)
        return g

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat {name: array}: "step", "lr" and "layer.param/slot" buffers, for .npz files."""
        flat = {"step": np.array(self.t, dtype=np.int64), "lr": np.array(self.lr, dtype=np.float64)}
        for key, slots in self.state.items():
            for slot, array in slots.items():
                flat[f"{key}/{slot}"] = array
        return flat

    def load_state_dict(self, flat: dict) -> None:
        self.t, self.lr = int(flat["step"]), float(flat["lr"])
        self.state = {}
        for key, array in flat.items():
            if "/" in key:
                tensor, slot = key.rsplit("/", 1)
                self.state.setdefault(tensor, {})[slot] = np.array(array, dtype=_dtype_of(self.params, tensor))


def _dtype_of(params: dict, tensor: str):
    layer, name = tensor.rsplit(".", 1)
    try:
        return params[layer][name].dtype
    except KeyError:
        raise CnncError(f"optimizer state names '{tensor}', which is not a parameter of this network") from None


# --- learning-rate schedules, per epoch (0-based) ---------------------------


def step_lr(base_lr: float, epoch: int, step_size: int, gamma: float = 0.1) -> float:
    """torch.optim.lr_scheduler.StepLR: lr * gamma^(epoch // step_size)."""
    return base_lr * gamma ** (epoch // step_size)


def cosine_lr(base_lr: float, epoch: int, t_max: int, eta_min: float = 0.0) -> float:
    """CosineAnnealingLR's closed form (Loshchilov and Hutter, 2017, without restarts)."""
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / t_max)) / 2


def parse_schedule(text: str | None, epochs: int):
    """'none', 'step:N[:GAMMA]' or 'cosine' -> f(base_lr, epoch) -> lr."""
    if not text or text == "none":
        return lambda base, epoch: base
    name, *args = text.split(":")
    try:
        if name == "step" and 1 <= len(args) <= 2 and int(args[0]) > 0:
            gamma = float(args[1]) if len(args) == 2 else 0.1
            if not gamma >= 0:  # a negative factor would make the learning rate negative
                raise CnncError(f"schedule '{text}': gamma must be at least 0, got {args[1]}")
            return lambda base, epoch: step_lr(base, epoch, int(args[0]), gamma)
        if name == "cosine" and not args:
            return lambda base, epoch: cosine_lr(base, epoch, max(epochs, 1))
    except ValueError:
        pass
    raise CnncError(f"unknown schedule '{text}'; use none, step:EPOCHS[:GAMMA] or cosine")
