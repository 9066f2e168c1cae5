"""The train { } section: validated into a plain dict of training defaults."""

from __future__ import annotations

from . import ast
from .errors import CnncError, did_you_mean
from .scope import Evaluator

LOSSES = ("cross_entropy", "mse", "bce")

# optimizer -> the options it takes (beyond lr, which all take)
OPTIMIZERS = {
    "sgd": ("momentum", "nesterov"),
    "adagrad": ("eps",),
    "adadelta": ("rho", "eps"),
    "rmsprop": ("alpha", "eps", "momentum"),
    "adam": ("beta1", "beta2", "eps"),
}

INTEGER_SETTINGS = ("batch", "epochs", "early_stop")
RATE_SETTINGS = {"lr": (0.0, None), "l1": (0.0, None), "l2": (0.0, None)}


def lower_train(train: ast.Train, ev: Evaluator) -> dict:
    config: dict = {}
    for setting in train.settings:
        if setting.name in config:
            raise CnncError(f"'{setting.name}' is set twice in the train section", setting.loc)
        config[setting.name] = _value(setting, ev)
        if "lr" in config and "lr" in config.get("optimizer", {}):
            raise CnncError(
                "the learning rate is set twice: by 'lr' and on the optimizer line",
                setting.loc,
                "keep one of them",
            )
    return config


def _value(setting: ast.Setting, ev: Evaluator):
    name = setting.name
    if name == "loss":
        return _choice(setting, setting.value, LOSSES, "loss")
    if name == "optimizer":
        return _optimizer(setting, ev)
    if name in INTEGER_SETTINGS:
        return ev.integer(setting.value, {}, name)
    low, high = RATE_SETTINGS[name]
    return ev.number(setting.value, {}, name, low, high)


def _choice(setting, value, choices, what):
    if value not in choices:
        hint = did_you_mean(value, choices) or "choose one of " + ", ".join(choices)
        raise CnncError(f"unknown {what} '{value}'", setting.value_loc or setting.loc, hint)
    return value


def _optimizer(setting: ast.Setting, ev: Evaluator) -> dict:
    name = _choice(setting, setting.value, tuple(OPTIMIZERS), "optimizer")
    config = {"name": name}
    allowed = ("lr",) + OPTIMIZERS[name]
    for option in setting.options:
        if option.name not in allowed:
            raise CnncError(
                f"optimizer {name} has no option '{option.name}'",
                option.loc,
                f"{name} takes: {', '.join(allowed)}",
            )
        if option.name in config:
            raise CnncError(f"option '{option.name}' is given twice", option.loc)
        if option.value is True:
            config[option.name] = True
        else:
            high = 1.0 if option.name in ("momentum", "beta1", "beta2", "rho", "alpha") else None
            config[option.name] = ev.number(option.value, {}, option.name, 0.0, high)
    if config.get("nesterov") and not config.get("momentum"):
        raise CnncError("nesterov needs a momentum above 0", setting.loc, "e.g. optimizer sgd momentum 0.9 nesterov")
    return config
