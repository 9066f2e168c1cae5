"""Programs and names: imports, the block and constant tables, expression values.

A Program is the root file plus everything it imports (transitively). Blocks
and constants of all its files share one namespace; its networks are the root
file's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from . import ast
from .errors import CnncError, did_you_mean
from .syntax import parse, parse_file


@dataclass
class Program:
    root: str
    networks: list[ast.Network]
    blocks: dict[str, ast.Block] = field(default_factory=dict)
    lets: dict[str, ast.Let] = field(default_factory=dict)


def load_program(path: str | Path) -> Program:
    return _assemble(parse_file(path), Path(path))


def load_source(text: str, file: str = "<string>") -> Program:
    """A program from text; its imports resolve relative to ``file``'s folder."""
    return _assemble(parse(text, file), Path(file))


def _assemble(module: ast.Module, path: Path) -> Program:
    program = Program(module.path, [])
    modules = _with_imports(module, path, [path.resolve()], {})
    for mod in modules:
        for block in mod.blocks:
            _define(program.blocks, block.name, block, "block")
        for let in mod.lets:
            _define(program.lets, let.name, let, "constant")
    names: dict[str, ast.Network] = {}
    for network in module.networks:
        _define(names, network.name, network, "network")
    program.networks = module.networks
    return program


def _define(table: dict, name: str, item, what: str) -> None:
    if name in table:
        raise CnncError(f"{what} '{name}' is defined twice; the first is at {table[name].loc}", item.loc)
    table[name] = item


IMPORT_DEPTH_LIMIT = 100  # files in one chain of imports


def _shown_path(path: Path) -> Path:
    """The path as messages show it: relative to the working folder when inside it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _with_imports(module: ast.Module, path: Path, stack: list[Path], done: dict) -> list[ast.Module]:
    """The module and every module it imports, each once, imported ones first."""
    result = []
    for imp in module.imports:
        target, problem = _import_target(path, imp)
        if target in stack:
            cycle = " -> ".join(p.name for p in stack[stack.index(target) :] + [target])
            raise CnncError(f"import cycle: {cycle}", imp.loc)
        if target in done:
            continue
        if problem:
            raise CnncError(f"cannot import '{imp.path}': {problem} ({target})", imp.loc)
        if len(stack) > IMPORT_DEPTH_LIMIT:
            raise CnncError(f"imports nest deeper than {IMPORT_DEPTH_LIMIT} files", imp.loc)
        try:
            child = parse_file(_shown_path(target))
        except CnncError as error:
            if error.loc is not None:
                raise
            raise CnncError(f"cannot import '{imp.path}': {error.message}", imp.loc) from None
        done[target] = child
        result += _with_imports(child, target, stack + [target], done)
        result.append(child)
    return result + [module] if len(stack) == 1 else result


def _import_target(path: Path, imp: ast.Import) -> tuple[Path, str | None]:
    """The file an import names, and what is wrong with it (None: a readable file)."""
    try:
        target = (path.parent / imp.path).resolve()
        if target.is_file():
            return target, None
        return target, "it is a directory" if target.is_dir() else "not a file" if target.exists() else "no such file"
    except (OSError, ValueError) as error:  # a name too long, a NUL byte
        reason = getattr(error, "strerror", None) or str(error)
        raise CnncError(f"cannot import '{imp.path}': {reason}", imp.loc) from None


# --- values -----------------------------------------------------------------

EXPR_DEPTH_LIMIT = 100  # nested operators and constants in one value: bounds the recursion
INT_LIMIT = 2**63  # no size or count is larger; stops `let b = a*a` chains from growing without end

OPERATORS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "//": lambda a, b: a // b,
}


class Evaluator:
    """Evaluates expressions; constants lazily and once, with cycle detection."""

    def __init__(self, program: Program):
        self.program = program
        self.constants: dict[str, int | float] = {}
        self.evaluating: list[str] = []
        self.depth = 0  # operators and constants being evaluated, for EXPR_DEPTH_LIMIT

    def value(self, expr: ast.Expr, env: dict) -> int | float:
        if isinstance(expr, (ast.IntLit, ast.FloatLit)):
            return expr.value
        if isinstance(expr, ast.NameRef):
            return self._name(expr, env)
        self._deeper(expr)
        try:
            if isinstance(expr, ast.Neg):
                return -self.value(expr.operand, env)
            left, right = self.value(expr.left, env), self.value(expr.right, env)
            if expr.op == "//" and right == 0:
                shown = None if isinstance(expr.right, (ast.IntLit, ast.FloatLit)) else f"{_text(expr.right)} = 0"
                raise CnncError("division by zero", expr.right.loc, shown)
            try:
                result = OPERATORS[expr.op](left, right)
            except OverflowError:
                raise CnncError("number too large", expr.loc) from None
            if isinstance(result, int) and abs(result) > INT_LIMIT:
                raise CnncError("number too large", expr.loc, "cnnc's whole numbers stop at 2**63")
            return result
        finally:
            self.depth -= 1

    def _deeper(self, expr: ast.Expr) -> None:
        self.depth += 1
        if self.depth > EXPR_DEPTH_LIMIT:
            self.depth -= 1
            hint = "counting the constants it uses; simplify it or split it with let"
            raise CnncError(f"expression nests deeper than {EXPR_DEPTH_LIMIT} levels", expr.loc, hint)

    def _name(self, ref: ast.NameRef, env: dict):
        if ref.name in env:
            return env[ref.name]
        if ref.name in self.constants:
            return self.constants[ref.name]
        let = self.program.lets.get(ref.name)
        if let is None:
            hint = did_you_mean(ref.name, list(env) + list(self.program.lets))
            raise CnncError(f"unknown name '{ref.name}'", ref.loc, hint)
        if ref.name in self.evaluating:
            chain = " -> ".join(self.evaluating[self.evaluating.index(ref.name) :] + [ref.name])
            raise CnncError(f"constant '{ref.name}' depends on itself: {chain}", let.loc)
        self._deeper(ref)
        self.evaluating.append(ref.name)
        try:
            self.constants[ref.name] = self.value(let.value, {})
        finally:
            self.evaluating.pop()
            self.depth -= 1
        return self.constants[ref.name]

    def integer(self, expr: ast.Expr, env: dict, what: str, minimum: int = 1) -> int:
        """A whole number >= minimum (a size, channel count, stride, ...)."""
        value = self.value(expr, env)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise CnncError(f"{what} must be a finite number, got {value:g}", expr.loc, _shown(expr, value))
            if not value.is_integer():
                raise CnncError(f"{what} must be a whole number, got {value:g}", expr.loc, _shown(expr, value))
            value = int(value)
        if value < minimum:
            kind = "positive" if minimum == 1 else f"at least {minimum}"
            raise CnncError(f"{what} must be {kind}, got {value}", expr.loc, _shown(expr, value))
        if value > INT_LIMIT:
            raise CnncError(f"{what} is too large", expr.loc, f"{value:.3g} is beyond 2**63")
        return value

    def number(self, expr: ast.Expr, env: dict, what: str, low=None, high=None, open_high=False) -> float:
        try:
            value = float(self.value(expr, env))
        except OverflowError:
            raise CnncError(f"{what} is too large", expr.loc) from None
        if not math.isfinite(value):
            raise CnncError(f"{what} must be a finite number, got {value:g}", expr.loc, _shown(expr, value))
        too_high = high is not None and (value >= high if open_high else value > high)
        if (low is not None and value < low) or too_high:
            bound = f"in [{low}, {high})" if open_high else f"in [{low}, {high}]"
            if high is None:
                bound = f"at least {low:g}"
            raise CnncError(f"{what} must be {bound}, got {value:g}", expr.loc, _shown(expr, value))
        return value


def _text(expr: ast.Expr) -> str:
    if isinstance(expr, (ast.IntLit, ast.FloatLit)):
        return f"{expr.value:g}" if isinstance(expr.value, float) else str(expr.value)
    if isinstance(expr, ast.NameRef):
        return expr.name
    if isinstance(expr, ast.Neg):
        return f"-{_text(expr.operand)}"
    return f"({_text(expr.left)} {expr.op} {_text(expr.right)})"


def _shown(expr: ast.Expr, value) -> str | None:
    """'(c // 3) = 21.3' style hint when the expression is not a plain literal."""
    literal = expr.operand if isinstance(expr, ast.Neg) else expr  # (-1) is a literal too
    if isinstance(literal, (ast.IntLit, ast.FloatLit)):
        return None
    return f"{_text(expr)} = {value:g}" if isinstance(value, float) else f"{_text(expr)} = {value}"
