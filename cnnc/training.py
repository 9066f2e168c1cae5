"""The train { } section: validated into a plain dict of training defaults."""

from __future__ import annotations

from . import ast
from .errors import CnncError, did_you_mean
from .scope import Evaluator

LOSSES = ("cross_entropy", "mse", "bce")
AUGMENTATIONS = ("crop", "flip")
# learning-rate schedules, as `cnnc train --schedule` spells them (the rules: backend.cpu.optim.parse_schedule)
SCHEDULES = ("none", "step", "cosine")

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
        return _choice(setting, LOSSES, "loss")
    if name == "optimizer":
        return _optimizer(setting, ev)
    if name == "augment":
        return _augment(setting)
    if name == "schedule":
        return _schedule(setting, ev)
    if name in INTEGER_SETTINGS:
        return ev.integer(setting.value, {}, name)
    low, high = RATE_SETTINGS[name]
    return ev.number(setting.value, {}, name, low, high)


def _choice(setting, choices, what):
    return _known(setting.value, setting.value_loc or setting.loc, choices, what)


def _known(value, loc, choices, what, hint=None):
    if value not in choices:
        hint = did_you_mean(value, choices) or hint or "choose one of " + ", ".join(choices)
        raise CnncError(f"unknown {what} '{value}'", loc, hint)
    return value


def _optimizer(setting: ast.Setting, ev: Evaluator) -> dict:
    name = _choice(setting, tuple(OPTIMIZERS), "optimizer")
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


# augment and schedule lower to the text of their command-line flags (`crop,flip`,
# `step:10:0.5`), so that the file and the flag mean the same by construction and the
# run's config.json reads the same whichever gave them.


AUGMENT_HINT = "choose crop, flip or both (augment crop flip), or none"


def _augment(setting: ast.Setting) -> str:
    names: list[str] = []
    for flag in setting.options:
        _known(flag.name, flag.loc, AUGMENTATIONS + ("none",), "augmentation", AUGMENT_HINT)
        if flag.name in names:
            raise CnncError(f"augmentation '{flag.name}' is given twice", flag.loc)
        names.append(flag.name)
    if "none" in names and len(names) > 1:
        none = setting.options[names.index("none")]
        raise CnncError("'none' turns augmentation off: it cannot go with crop or flip", none.loc)
    return ",".join(names)


def _schedule(setting: ast.Setting, ev: Evaluator) -> str:
    name = _choice(setting, SCHEDULES, "schedule")
    options: dict = {}
    for option in setting.options:
        if name != "step":
            what = "gamma" if option.name == "gamma" else "step size"
            raise CnncError(f"schedule {name} takes no {what}", option.loc, "only step does: schedule step N [gamma G]")
        if option.name in options:
            raise CnncError(f"option '{option.name}' is given twice", option.loc)
        options[option.name] = option.value
    if name != "step":
        return name
    if "step" not in options:
        raise CnncError(
            "schedule step needs a step size", setting.loc, "e.g. schedule step 10: lr x 0.1 every 10 epochs"
        )
    text = f"step:{ev.integer(options['step'], {}, 'step size')}"
    if "gamma" in options:  # else the flag's default, 0.1
        text += f":{ev.number(options['gamma'], {}, 'gamma', 0.0)!r}"
    return text
