"""AST of the .cnn language: one dataclass per grammar alias, each with its Loc.

The AST is what was written, unevaluated: sizes are expressions, blocks are
not inlined. ``cnnc.lower`` evaluates and inlines it into the graph IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import Loc

# --- expressions ------------------------------------------------------------


@dataclass
class Expr:
    loc: Loc


@dataclass
class IntLit(Expr):
    value: int


@dataclass
class FloatLit(Expr):
    value: float


@dataclass
class NameRef(Expr):
    name: str


@dataclass
class BinOp(Expr):
    op: str  # one of + - * //
    left: Expr
    right: Expr


@dataclass
class Neg(Expr):
    operand: Expr


# --- options and statements -------------------------------------------------

Dims = tuple  # tuple[Expr, ...]: the factors of 3x3 or (k)x(k) or 3x224x224


@dataclass
class Option:
    """``stride 2``, ``pad same``, ``nobias``: value is Dims, Expr, str or True."""

    loc: Loc
    name: str
    value: object


@dataclass
class Stmt:
    loc: Loc


@dataclass
class Input(Stmt):
    dims: Dims


@dataclass
class Conv(Stmt):
    kernel: Dims
    channels: Expr
    options: list[Option]


@dataclass
class Pool(Stmt):
    mode: str  # max | avg | l2
    kernel: Dims | None  # None for global pooling
    options: list[Option]


@dataclass
class FC(Stmt):
    units: Expr
    options: list[Option]


@dataclass
class Flatten(Stmt):
    pass


@dataclass
class Activation(Stmt):
    """Parameterless activations (relu, relu6, sigmoid, tanh, selu, softmax)."""

    kind: str


@dataclass
class LeakyRelu(Stmt):
    alpha: Expr | None


@dataclass
class Elu(Stmt):
    alpha: Expr | None


@dataclass
class PRelu(Stmt):
    pass


@dataclass
class Maxout(Stmt):
    k: Expr


@dataclass
class BN(Stmt):
    options: list[Option]


@dataclass
class LRN(Stmt):
    size: Expr
    options: list[Option]


@dataclass
class Dropout(Stmt):
    p: Expr


@dataclass
class Identity(Stmt):
    pass


@dataclass
class Call(Stmt):
    name: str
    args: list[Expr]
    has_parens: bool


@dataclass
class Repeat(Stmt):
    count: Expr
    body: list[Stmt]


@dataclass
class Branch(Stmt):
    body: list[Stmt]


@dataclass
class IdentityBranch(Stmt):
    pass


@dataclass
class Concat(Stmt):
    branches: list[Stmt]  # Branch | IdentityBranch


@dataclass
class Residual(Stmt):
    body: list[Stmt]
    shortcut: list[Stmt] | None


@dataclass
class Setting:
    """One line of a train section: ``batch 64``, ``optimizer sgd momentum 0.9``."""

    loc: Loc
    name: str
    value: object  # Expr, str (loss/optimizer/schedule name) or True (augment: its names are options)
    options: list[Option] = field(default_factory=list)
    value_loc: Loc | None = None  # where a loss, optimizer or schedule name is written


@dataclass
class Train(Stmt):
    settings: list[Setting]


# --- top level --------------------------------------------------------------


@dataclass
class Import:
    loc: Loc
    path: str


@dataclass
class Let:
    loc: Loc
    name: str
    value: Expr


@dataclass
class Block:
    loc: Loc
    name: str
    params: list[str]
    body: list[Stmt]


@dataclass
class Network:
    loc: Loc
    name: str
    body: list[Stmt]


@dataclass
class Module:
    """One parsed .cnn file."""

    path: str
    imports: list[Import]
    lets: list[Let]
    blocks: list[Block]
    networks: list[Network]
