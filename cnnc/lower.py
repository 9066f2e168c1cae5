"""AST to graph IR: blocks inlined with their arguments, repeats unrolled.

Layer names come from the block path: the second conv inside the third use of
block `stage` is `stage3/conv2`; concat branches are `concat1/branch2/...`,
residual bodies `residual1/...` and their shortcuts `residual1/shortcut/...`.
Before anything is built the node count is estimated, so that a resource bomb
(`repeat 1000000000 { ... }`) is refused at once.
"""

from __future__ import annotations

from . import ast
from .errors import CnncError, did_you_mean
from .inline import NodeBudget, bind_call
from .ir import Graph, make_node, verify
from .ops.size import same_padding
from .scope import Evaluator, Program
from .training import lower_train


class Scope:
    """Hands out unique layer names under one block path prefix."""

    def __init__(self, prefix: str, used: set[str]):
        self.prefix, self.used, self.counts = prefix, used, {}

    def name(self, kind: str) -> str:
        while True:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            joint = "_" if kind[-1].isdigit() else ""  # block dl2, first use: dl2_1
            name = f"{self.prefix}{kind}{joint}{self.counts[kind]}"
            if name not in self.used:
                self.used.add(name)
                return name

    def child(self, name: str) -> Scope:
        return Scope(name + "/", self.used)


def lower_network(program: Program, network: ast.Network, input_shape: tuple | None = None) -> Graph:
    return Lowerer(program).network(network, input_shape)


class Lowerer:
    def __init__(self, program: Program):
        self.program = program
        self.ev = Evaluator(program)
        self.nodes = []
        self.calls: list[str] = []  # blocks being inlined, outermost first
        self.repeats: list[tuple] = []  # (loc, iteration, count, scope prefix) of open repeats
        self.scopes: dict[str, dict] = {}  # see record_scope

    # --- the network ------------------------------------------------------

    def network(self, network: ast.Network, input_shape: tuple | None) -> Graph:
        body = list(network.body)
        if not body or not isinstance(body[0], ast.Input):
            where = body[0].loc if body else network.loc
            late = next((s for s in body if isinstance(s, ast.Input)), None)
            if late is not None:
                hint = f"move it above line {where.line}, the network's first statement"
                raise CnncError("'input' must be the first statement of a network", late.loc, hint)
            raise CnncError(
                f"network '{network.name}' must start with an input statement",
                where,
                "begin the network with `input CxHxW`, e.g. `input 3x224x224`",
            )
        train = body.pop() if isinstance(body[-1], ast.Train) else None
        layers = body[1:]
        NodeBudget(self).check(layers)
        shape = input_shape or tuple(self.ev.integer(d, {}, "input size") for d in body[0].dims)
        if len(shape) not in (1, 3):
            raise CnncError("input must be CxHxW (or N for a vector)", body[0].loc)
        x = self.emit("input", [], {"shape": shape}, body[0], "input")
        self.statements(layers, x, Scope("", {"input"}), {})
        graph = Graph(network.name, self.program.root, self.nodes)
        graph.train = lower_train(train, self.ev) if train else {}
        graph.meta["scopes"] = self.scopes
        verify(graph)
        return graph

    def emit(self, op: str, inputs, attrs: dict, stmt, name: str):
        node = make_node(name, op, inputs, attrs, stmt.loc)
        self.nodes.append(node)
        return node

    def statements(self, stmts, x, scope: Scope, env: dict):
        for stmt in stmts:
            x = LOWERINGS[type(stmt)](self, stmt, x, scope, env)
        return x

    # --- values -----------------------------------------------------------

    def pair(self, dims, env, what, minimum=1) -> tuple[int, int]:
        values = [self.ev.integer(d, env, what, minimum) for d in dims]
        if len(values) == 1:
            return (values[0], values[0])
        if len(values) != 2:
            raise CnncError(f"{what} must be N or HxW, got {len(values)} factors", dims[0].loc)
        return tuple(values)

    # --- layers -----------------------------------------------------------

    def conv(self, s: ast.Conv, x, scope, env):
        opts = options(s.options)
        kernel = self.pair(s.kernel, env, "kernel size")
        stride = self.pair(opts["stride"].value, env, "stride") if "stride" in opts else (1, 1)
        dilation = self.pair(opts["dilation"].value, env, "dilation") if "dilation" in opts else (1, 1)
        attrs = {
            "out_channels": self.ev.integer(s.channels, env, "channel count"),
            "kernel": kernel,
            "stride": stride,
            "pad": self.padding(opts.get("pad"), kernel, stride, dilation, env),
            "dilation": dilation,
            "groups": self.ev.integer(opts["groups"].value, env, "groups") if "groups" in opts else 1,
            "bias": "nobias" not in opts,
        }
        return self.emit("conv", [x], attrs, s, scope.name("conv"))

    def padding(self, option, kernel, stride, dilation, env) -> tuple[int, int]:
        if option is None or option.value == "valid":
            return (0, 0)
        if option.value != "same":
            try:
                return self.pair(option.value, env, "padding", minimum=0)
            except CnncError as error:
                raise with_pad_words(error) from None
        pads = [same_padding(k, d, s) for k, d, s in zip(kernel, dilation, stride, strict=True)]
        for pad in pads:
            if isinstance(pad, str):
                raise CnncError(pad, option.loc)
        return tuple(pads)

    def pool(self, s: ast.Pool, x, scope, env):
        opts = options(s.options)
        if s.kernel is None:
            if opts:
                raise CnncError("global pooling takes no options", next(iter(opts.values())).loc)
            attrs = {"mode": s.mode, "global": True}
        else:
            kernel = self.pair(s.kernel, env, "pool size")
            stride = self.pair(opts["stride"].value, env, "stride") if "stride" in opts else kernel
            attrs = {
                "mode": s.mode,
                "global": False,
                "kernel": kernel,
                "stride": stride,
                "pad": self.padding(opts.get("pad"), kernel, stride, (1, 1), env),
                "ceil": "ceil" in opts,
            }
        return self.emit("pool", [x], attrs, s, scope.name("pool"))

    def fc(self, s: ast.FC, x, scope, env):
        opts = options(s.options)
        attrs = {"units": self.ev.integer(s.units, env, "fc size"), "bias": "nobias" not in opts}
        return self.emit("fc", [x], attrs, s, scope.name("fc"))

    def activation(self, s: ast.Activation, x, scope, env):
        return self.emit(s.kind, [x], {}, s, scope.name(s.kind))

    def maxout(self, s: ast.Maxout, x, scope, env):
        attrs = {"k": self.ev.integer(s.k, env, "maxout group size")}
        return self.emit("maxout", [x], attrs, s, scope.name("maxout"))

    def bn(self, s: ast.BN, x, scope, env):
        opts = options(s.options)
        attrs = {
            "eps": self.option_number(opts, "eps", 1e-5, env, low=0.0, high=None),
            "momentum": self.option_number(opts, "momentum", 0.1, env, low=0.0, high=1.0),
        }
        return self.emit("bn", [x], attrs, s, scope.name("bn"))

    def lrn(self, s: ast.LRN, x, scope, env):
        opts = options(s.options)
        attrs = {
            "size": self.ev.integer(s.size, env, "lrn size"),
            "alpha": self.option_number(opts, "alpha", 1e-4, env),
            "beta": self.option_number(opts, "beta", 0.75, env),
            "k": self.option_number(opts, "k", 1.0, env),
        }
        return self.emit("lrn", [x], attrs, s, scope.name("lrn"))

    def option_number(self, opts, name, default, env, low=None, high=None):
        if name not in opts:
            return default
        return self.ev.number(opts[name].value, env, name, low, high)

    def dropout(self, s: ast.Dropout, x, scope, env):
        p = self.ev.number(s.p, env, "dropout probability", 0.0, 1.0, open_high=True)
        return self.emit("dropout", [x], {"p": p}, s, scope.name("dropout"))

    # --- structure --------------------------------------------------------

    def call(self, s: ast.Call, x, scope, env):
        block, block_env = bind_call(self, s, env)
        name = scope.name(block.name)
        self.record_scope(name, "block", s, block=block.name, args=tuple(block_env.values()))
        self.calls.append(block.name)
        out = self.statements(block.body, x, scope.child(name), block_env)
        self.calls.pop()
        return out

    def repeat(self, s: ast.Repeat, x, scope, env):
        count = self.ev.integer(s.count, env, "repeat count")
        for i in range(count):
            self.repeats.append((s.loc, i, count, scope.prefix))
            before = len(self.nodes)
            x = self.statements(s.body, x, scope, env)
            self.repeats.pop()
            if len(self.nodes) == before:
                break  # the body emits nothing (`repeat 1000000000 { }`): nor will it again
        return x

    def concat(self, s: ast.Concat, x, scope, env):
        name = scope.name("concat")
        self.record_scope(name, "concat", s)
        outputs = []
        for i, branch in enumerate(s.branches, 1):
            if isinstance(branch, ast.IdentityBranch):
                outputs.append(x)
            else:
                self.record_scope(f"{name}/branch{i}", "branch", branch)
                outputs.append(self.statements(branch.body, x, scope.child(f"{name}/branch{i}"), env))
        return self.emit("concat", outputs, {}, s, name)

    def residual(self, s: ast.Residual, x, scope, env):
        name = scope.name("residual")
        self.record_scope(name, "residual", s)
        body = self.statements(s.body, x, scope.child(name), env)
        shortcut = x
        if s.shortcut is not None:
            self.record_scope(f"{name}/shortcut", "shortcut", s)
            shortcut = self.statements(s.shortcut, x, scope.child(f"{name}/shortcut"), env)
        return self.emit("add", [body, shortcut], {}, s, name)

    def record_scope(self, path: str, kind: str, stmt, **info):
        """What a path prefix of layer names stands for, for reports and renders.

        ``repeat`` is (loc of the repeat statement, iteration, count) when the
        scope is made directly by a repeat's body, so renders can draw it once.
        """
        parent = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
        top = self.repeats[-1] if self.repeats else None
        repeat = top[:3] if top and top[3] == parent else None
        self.scopes[path] = {"kind": kind, "loc": stmt.loc, "repeat": repeat, **info}

    def misplaced(self, s, x, scope, env):
        what = "input" if isinstance(s, ast.Input) else "train"
        where = "the first" if what == "input" else "the last"
        raise CnncError(f"'{what}' must be {where} statement of a network", s.loc)


def simple(op: str):
    """Lowering of a statement without attributes (flatten, prelu, identity)."""

    def lower(self, s, x, scope, env):
        return self.emit(op, [x], {}, s, scope.name(op))

    return lower


def with_alpha(op: str, default: float):
    """Lowering of leaky_relu and elu, whose one attribute is an optional alpha."""

    def lower(self, s, x, scope, env):
        alpha = default if s.alpha is None else self.ev.number(s.alpha, env, f"{op} alpha")
        return self.emit(op, [x], {"alpha": alpha}, s, scope.name(op))

    return lower


def options(opts: list[ast.Option]) -> dict[str, ast.Option]:
    """Options by name; each may be given once."""
    table = {}
    for opt in opts:
        if opt.name in table:
            raise CnncError(f"option '{opt.name}' is given twice", opt.loc)
        table[opt.name] = opt
    return table


LOWERINGS = {
    ast.Conv: Lowerer.conv,
    ast.Pool: Lowerer.pool,
    ast.FC: Lowerer.fc,
    ast.Flatten: simple("flatten"),
    ast.Activation: Lowerer.activation,
    ast.LeakyRelu: with_alpha("leaky_relu", 0.01),
    ast.Elu: with_alpha("elu", 1.0),
    ast.PRelu: simple("prelu"),
    ast.Maxout: Lowerer.maxout,
    ast.BN: Lowerer.bn,
    ast.LRN: Lowerer.lrn,
    ast.Dropout: Lowerer.dropout,
    ast.Identity: simple("identity"),
    ast.Call: Lowerer.call,
    ast.Repeat: Lowerer.repeat,
    ast.Concat: Lowerer.concat,
    ast.Residual: Lowerer.residual,
    ast.Input: Lowerer.misplaced,
    ast.Train: Lowerer.misplaced,
}


def with_pad_words(error: CnncError) -> CnncError:
    """An unknown name where a padding goes may be a misspelled 'same' or 'valid' (`pad sam`)."""
    unknown = "unknown name '"
    hint = error.message.startswith(unknown) and did_you_mean(error.message[len(unknown) : -1], ("same", "valid"))
    return CnncError(error.message, error.loc, hint) if hint and not error.diagnostic.hint else error
