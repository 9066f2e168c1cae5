"""The Lark parse tree to AST: one method per grammar alias, each building its class."""

from __future__ import annotations

from lark import Token, v_args
from lark.visitors import Transformer_NonRecursive

from . import ast
from .errors import CnncError, Loc
from .words import OPTION_WORDS, RESERVED, SETTING_WORDS, token_loc


@v_args(meta=True)
class ASTBuilder(Transformer_NonRecursive):  # deep nesting must not hit the recursion limit
    """One method per grammar alias, each returning the AST class of that name."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _loc(self, meta) -> Loc:
        return Loc(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _name(self, token: Token, what: str) -> str:
        if token.value in RESERVED:
            raise CnncError(
                f"'{token.value}' is a reserved word and cannot name a {what}",
                token_loc(self.file, token),
            )
        return token.value

    # top level
    def start(self, meta, items):
        module = ast.Module(self.file, [], [], [], [])
        kinds = {ast.Import: module.imports, ast.Let: module.lets, ast.Block: module.blocks}
        for item in items:
            kinds.get(type(item), module.networks).append(item)
        return module

    def import_(self, meta, children):
        return ast.Import(self._loc(meta), children[0].value[1:-1])

    def let(self, meta, children):
        name, value = children
        return ast.Let(self._loc(meta), self._name(name, "constant"), value)

    def block(self, meta, children):
        name, *params, body = children
        params = [self._name(p, "block parameter") for p in params]
        seen = set()
        for token, param in zip(children[1:-1], params, strict=False):
            if param in seen:
                raise CnncError(f"parameter '{param}' is listed twice", token_loc(self.file, token))
            seen.add(param)
        return ast.Block(self._loc(meta), self._name(name, "block"), params, body)

    def network(self, meta, children):
        name, body = children
        return ast.Network(self._loc(meta), self._name(name, "network"), body)

    def body(self, meta, statements):
        return list(statements)

    # layers
    def input(self, meta, children):
        return ast.Input(self._loc(meta), children[0])

    def conv(self, meta, children):
        kernel, channels, *options = children
        return ast.Conv(self._loc(meta), kernel, channels, options)

    def pool(self, meta, children):
        mode, kernel, *options = children
        kernel = None if kernel == "global" else kernel
        return ast.Pool(self._loc(meta), mode, kernel, options)

    def pool_mode(self, meta, children):
        return children[0].value

    def pad_mode(self, meta, children):
        return children[0].value

    def global_(self, meta, children):
        return "global"

    def fc(self, meta, children):
        units, *options = children
        return ast.FC(self._loc(meta), units, options)

    def flatten(self, meta, children):
        return ast.Flatten(self._loc(meta))

    def activation(self, meta, children):
        return ast.Activation(self._loc(meta), children[0].value)

    def leaky_relu(self, meta, children):
        return ast.LeakyRelu(self._loc(meta), children[0] if children else None)

    def elu(self, meta, children):
        return ast.Elu(self._loc(meta), children[0] if children else None)

    def prelu(self, meta, children):
        return ast.PRelu(self._loc(meta))

    def maxout(self, meta, children):
        return ast.Maxout(self._loc(meta), children[0])

    def bn(self, meta, children):
        return ast.BN(self._loc(meta), children)

    def lrn(self, meta, children):
        size, *options = children
        return ast.LRN(self._loc(meta), size, options)

    def dropout(self, meta, children):
        return ast.Dropout(self._loc(meta), children[0])

    def identity(self, meta, children):
        return ast.Identity(self._loc(meta))

    def call(self, meta, children):
        name, *args = children
        has_parens = meta.end_pos > name.end_pos
        return ast.Call(self._loc(meta), name.value, args, has_parens)

    def repeat(self, meta, children):
        count, body = children
        return ast.Repeat(self._loc(meta), count, body)

    def concat(self, meta, branches):
        return ast.Concat(self._loc(meta), branches)

    def branch(self, meta, children):
        return ast.Branch(self._loc(meta), children[0])

    def identity_branch(self, meta, children):
        return ast.IdentityBranch(self._loc(meta))

    def residual(self, meta, children):
        body, *shortcut = children
        return ast.Residual(self._loc(meta), body, shortcut[0] if shortcut else None)

    # options: `stride 2` -> Option("stride", dims); flags -> Option(name, True)
    def _option(self, name):
        def build(meta, children):
            value = children[0] if children else True
            return ast.Option(self._loc(meta), str(name), value)

        return build

    def __default__(self, data, children, meta):
        if data in OPTION_RULES:
            return self._option(data)(meta, children)
        return super().__default__(data, children, meta)

    # training section
    def train(self, meta, children):
        settings = []
        for child in children:
            if isinstance(child, ast.Option):
                child = ast.Setting(child.loc, child.name, child.value)
            settings.append(child)
        return ast.Train(self._loc(meta), settings)

    def loss(self, meta, children):
        name = children[0]
        return ast.Setting(self._loc(meta), "loss", name.value, value_loc=token_loc(self.file, name))

    def optimizer(self, meta, children):
        name, *options = children
        return ast.Setting(self._loc(meta), "optimizer", name.value, options, token_loc(self.file, name))

    def augment(self, meta, names):
        # each name a flag option, as `nesterov` is, so that each error points at its own word
        flags = [ast.Option(token_loc(self.file, name), name.value, True) for name in names]
        return ast.Setting(self._loc(meta), "augment", True, flags)

    def schedule(self, meta, children):
        # `schedule step 10 gamma 0.5`: the step size becomes an option named step
        name, *rest = children
        options = [ast.Option(c.loc, "step", c) if not isinstance(c, ast.Option) else c for c in rest]
        return ast.Setting(self._loc(meta), "schedule", name.value, options, token_loc(self.file, name))

    # sizes and expressions
    def dims(self, meta, children):
        factors = []
        for child in children:
            if isinstance(child, Token):  # DIMS like 3x224x224: one IntLit per factor
                column = child.column
                if len(child.value) > 200:
                    raise CnncError("size too long", token_loc(self.file, child))
                for part in child.value.split("x"):
                    loc = Loc(self.file, child.line, column, child.line, column + len(part))
                    factors.append(ast.IntLit(loc, int(part)))
                    column += len(part) + 1
            else:
                factors.append(child)
        return tuple(factors)

    def int_lit(self, meta, children):
        token = children[0]
        if len(token.value) > 100:
            raise CnncError("number too long", token_loc(self.file, token))
        return ast.IntLit(self._loc(meta), int(token.value))

    def float_lit(self, meta, children):
        return ast.FloatLit(self._loc(meta), float(children[0].value))

    def name_ref(self, meta, children):
        return ast.NameRef(self._loc(meta), children[0].value)

    def _binary(op):
        def build(self, meta, children):
            return ast.BinOp(self._loc(meta), op, children[0], children[1])

        return build

    add = _binary("+")
    sub = _binary("-")
    mul = _binary("*")
    floordiv = _binary("//")

    def neg(self, meta, children):
        return ast.Neg(self._loc(meta), children[0])


OPTION_RULES = OPTION_WORDS | SETTING_WORDS
