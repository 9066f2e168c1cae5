"""Block uses and the node budget.

``bind_call`` resolves a block use (unknown names, recursion, depth, argument
count) and binds its parameters. ``NodeBudget`` counts the layers a network
will have without building it, so a resource bomb is refused at once.
"""

from __future__ import annotations

from . import ast
from .errors import CnncError, did_you_mean
from .words import OPTION_LINE_HINT, OPTION_WORDS, RESERVED

NODE_LIMIT = 100_000  # layers per network; ResNet-152 has about 500
CALL_DEPTH_LIMIT = 100  # nested block uses
REFUSED = "cnnc refuses graphs this large; check the repeat counts"
NESTING_LIMIT = 100  # nested repeat, concat, residual and block uses: bounds the recursion


def bind_call(lowerer, call: ast.Call, env: dict):
    """The block a call uses and its parameters bound to the argument values."""
    block = lowerer.program.blocks.get(call.name)
    if block is None:
        if call.name in OPTION_WORDS and not call.args:
            raise CnncError(f"'{call.name}' is an option, not a statement", call.loc, OPTION_LINE_HINT)
        hint = did_you_mean(call.name, list(lowerer.program.blocks) + sorted(RESERVED))
        raise CnncError(f"unknown layer or block '{call.name}'", call.loc, hint)
    if block.name in lowerer.calls:
        chain = " -> ".join(lowerer.calls[lowerer.calls.index(block.name) :] + [block.name])
        raise CnncError(f"block '{block.name}' uses itself: {chain}", call.loc, "blocks cannot be recursive")
    if len(lowerer.calls) >= CALL_DEPTH_LIMIT:
        raise CnncError(f"blocks nest deeper than {CALL_DEPTH_LIMIT} levels", call.loc)
    if len(call.args) != len(block.params):
        wanted = f"{len(block.params)} argument{'s' if len(block.params) != 1 else ''}"
        params = f" ({', '.join(block.params)})" if block.params else ""
        raise CnncError(
            f"block '{block.name}' takes {wanted}{params}, but {len(call.args)} {'was' if len(call.args) == 1 else 'were'} given",
            call.loc,
            f"'{block.name}' is defined at {block.loc}",
        )
    values = [lowerer.ev.value(arg, env) for arg in call.args]
    return block, dict(zip(block.params, values, strict=True))


class NodeBudget:
    """Counts the nodes a network will have without building it (resource bombs).

    Also counts block uses (a block that emits nothing, used 2**60 times, is a
    bomb too) and bounds the nesting depth, which bounds the recursion of the
    lowering that follows.
    """

    def __init__(self, lowerer):  # a cnnc.lower.Lowerer: its program, evaluator and call stack
        self.lowerer = lowerer
        self.memo: dict[tuple, tuple[int, int]] = {}  # (block, arguments) -> (nodes, uses)

    def check(self, stmts) -> int:
        return self.count(stmts, {}, 0)[0]

    def count(self, stmts, env, depth: int) -> tuple[int, int]:
        """(nodes, block uses) of the statements, ``depth`` structures deep."""
        if stmts and depth > NESTING_LIMIT:
            raise CnncError(
                f"statements nest deeper than {NESTING_LIMIT} levels",
                stmts[0].loc,
                "repeat, concat, residual and block uses count as levels",
            )
        nodes = uses = 0
        for stmt in stmts:
            more_nodes, more_uses = self.count_one(stmt, env, depth)
            nodes, uses = nodes + more_nodes, uses + more_uses
            if nodes > NODE_LIMIT or uses > NODE_LIMIT:
                what = "have over {:,} layers" if nodes > NODE_LIMIT else "use blocks over {:,} times"
                raise CnncError(
                    f"the network would {what.format(NODE_LIMIT)}",
                    stmt.loc,
                    REFUSED,
                )
        return nodes, uses

    def count_one(self, stmt, env, depth) -> tuple[int, int]:
        if isinstance(stmt, ast.Repeat):
            times = self.lowerer.ev.integer(stmt.count, env, "repeat count")
            nodes, uses = self.count(stmt.body, env, depth + 1)
            return (times * nodes, times * uses) if nodes else (0, uses)  # see Lowerer.repeat
        if isinstance(stmt, ast.Call):
            block, block_env = bind_call(self.lowerer, stmt, env)
            key = (block.name, tuple(sorted(block_env.items())))
            if key not in self.memo:
                if len(self.memo) >= NODE_LIMIT:  # each is used at least once: stop before counting on
                    raise CnncError(f"the network would use blocks over {NODE_LIMIT:,} times", stmt.loc, REFUSED)
                self.lowerer.calls.append(block.name)
                self.memo[key] = self.count(block.body, block_env, depth + 1)
                self.lowerer.calls.pop()
            nodes, uses = self.memo[key]
            return nodes, uses + 1
        parts = []
        if isinstance(stmt, ast.Concat):
            parts = [b.body for b in stmt.branches if isinstance(b, ast.Branch)]
        elif isinstance(stmt, ast.Residual):
            parts = [stmt.body, stmt.shortcut or []]
        counts = [self.count(part, env, depth + 1) for part in parts]
        return 1 + sum(c[0] for c in counts), sum(c[1] for c in counts)
