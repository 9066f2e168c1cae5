"""The words of the language: reserved statement keywords and option words."""

from __future__ import annotations

import re

from .errors import Loc

# Words that start a statement or a definition; they can't name a block, a
# constant, a parameter or a network. (Option words like `stride` or `k` are
# only keywords where an option may stand, so they stay usable as names.)
RESERVED = frozenset(
    (
        "network",
        "block",
        "let",
        "import",
        "input",
        "conv",
        "pool",
        "fc",
        "flatten",
        "relu",
        "relu6",
        "sigmoid",
        "tanh",
        "selu",
        "softmax",
        "leaky_relu",
        "elu",
        "prelu",
        "maxout",
        "bn",
        "lrn",
        "dropout",
        "identity",
        "repeat",
        "concat",
        "branch",
        "residual",
        "shortcut",
        "train",
    )
)

OPTION_LINE_HINT = "options stay on their statement's line: move it up to the end of the line before"

OPTION_WORDS = frozenset(
    (
        "stride",
        "pad",
        "dilation",
        "groups",
        "nobias",
        "ceil",
        "eps",
        "momentum",
        "alpha",
        "beta",
        "k",
        "lr",
        "nesterov",
        "beta1",
        "beta2",
        "rho",
        "gamma",
    )
)

# Settings of the train section; with the option words, the grammar rules that build an ast.Option.
SETTING_WORDS = frozenset(("batch", "epochs", "lr", "l1", "l2", "early_stop"))

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def token_loc(file: str, token) -> Loc:
    """The Loc of a Lark token."""
    return Loc(file, token.line, token.column, token.end_line, token.end_column)
