"""Text to AST: the Lark LALR parser, separator handling and error mapping.

The parser is built once per process (and its tables cached on disk by Lark),
so ``cnnc check`` stays fast. Every Lark error becomes a positioned CnncError.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError
from lark.lexer import PatternStr
from lark.visitors import Transformer_NonRecursive

from . import ast
from .errors import SOURCES, CnncError, Loc, did_you_mean

# Words that start a statement or a definition; they can't name a block, a
# constant, a parameter or a network. (Option words like `stride` or `k` are
# only keywords where an option may stand, so they stay usable as names.)
RESERVED = frozenset(
    [
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
    ]
)

TERMINAL_WORDS = {
    "_SEP": "end of statement",
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "DIMS": "a size like 3x3",
    "STRING": 'a quoted path like "blocks.cnn"',
    "POOL_MODE": "max, avg or l2",
    "PAD_MODE": "same or valid",
    "$END": "end of file",
}


def grammar_path() -> Path:
    """The grammar file, in a source checkout or inside an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "grammars" / "cnn.lark", here / "grammars" / "cnn.lark"):
        if candidate.is_file():
            return candidate
    raise CnncError("cannot find the grammar file cnn.lark; the installation is broken")


class SeparatorPostLexer:
    """Drops the _SEP tokens that separate nothing: at the start, after '{', in (...).

    Also matches brackets, so that an unclosed '{' is reported where it was
    opened rather than at the end of the file.
    """

    always_accept = ("_SEP",)

    def __init__(self):
        self.file = "<string>"  # set by parse() before each run
        self.text = ""
        self.pairs: list[tuple[Token, Token]] = []
        self.recent: list[Token | None] = [None, None, None]

    def process(self, stream):
        open_brackets: list[Token] = []
        self.pairs = []  # matched '{' '}', for _misindented
        self.recent = [None, None, None]  # the last three tokens passed on, for _misspelled_statement
        for token in stream:
            previous = self.recent[-1]
            if token.type == "_SEP":
                inside_parens = open_brackets and open_brackets[-1].type == "LPAR"
                if inside_parens or previous is None or previous.type == "LBRACE":
                    continue
            else:
                self._match_bracket(token, open_brackets)
                self._refuse_split_word(token)
            self.recent = [*self.recent[1:], token]
            yield token
        if open_brackets:
            opener = self._misindented() or open_brackets[-1]
            closer = "}" if opener.type == "LBRACE" else ")"
            raise CnncError(
                f"'{opener.value}' is never closed",
                token_loc(self.file, opener),
                f"add the matching '{closer}'",
            )

    def _refuse_split_word(self, token):
        """'stridex 2' lexes as the keyword 'stride' and the name 'x' where no
        plain name may stand; report the whole word instead."""
        if token.type in ("NAME", "INT", "DIMS", "FLOAT") or not token.value.isidentifier():
            return
        following = self.text[token.end_pos : token.end_pos + 1]
        if not (following.isalnum() or following == "_"):
            return
        if token.value == "x" and following.isdigit():  # (k)x3
            return
        word = WORD.match(self.text, token.start_pos).group()
        loc = Loc(self.file, token.line, token.column, token.line, token.column + len(word))
        what = "option" if token.value in OPTION_WORDS else "word"
        hint = did_you_mean(word, keyword_words())
        raise CnncError(f"unknown {what} '{word}'", loc, hint)

    def _match_bracket(self, token, open_brackets):
        if token.type in ("LBRACE", "LPAR"):
            open_brackets.append(token)
        elif token.type in ("RBRACE", "RPAR"):
            if token.type == "RBRACE" and open_brackets and open_brackets[-1].type == "LPAR":
                opener = open_brackets[-1]  # `conv 3x3/(c + 1 }`
                raise CnncError("'(' is never closed", token_loc(self.file, opener), "add the matching ')'")
            if not open_brackets or (token.type == "RPAR" and open_brackets[-1].type != "LPAR"):
                raise CnncError(f"unmatched '{token.value}'", token_loc(self.file, token))
            opener = open_brackets.pop()
            if token.type == "RBRACE":
                self.pairs.append((opener, token))

    def _misindented(self) -> Token | None:
        """The first '{' whose '}' stands left of the '{' line's indentation: the
        '}' that closed it probably belongs to an enclosing block."""
        lines = self.text.split("\n")

        def indent(line: int) -> int:
            text = lines[line - 1].expandtabs(1)
            return len(text) - len(text.lstrip())

        for opener, closer in sorted(self.pairs, key=lambda pair: pair[0].start_pos):
            starts_line = indent(closer.line) == closer.column - 1
            if closer.line > opener.line and starts_line and indent(closer.line) < indent(opener.line):
                return opener
        return None


def token_loc(file: str, token: Token) -> Loc:
    return Loc(file, token.line, token.column, token.end_line, token.end_column)


_POSTLEXER = SeparatorPostLexer()


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark.open(
        str(grammar_path()),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        postlex=_POSTLEXER,
        maybe_placeholders=False,
        cache=True,
    )


@lru_cache(maxsize=1)
def _terminal_text() -> dict[str, str]:
    """Terminal name -> what a user would type (keywords, punctuation)."""
    names = dict(TERMINAL_WORDS)
    for terminal in _lark().terminals:
        if isinstance(terminal.pattern, PatternStr):
            names[terminal.name] = terminal.pattern.value
    return names


def parse(text: str, file: str = "<string>") -> ast.Module:
    """Parse .cnn source text into an ast.Module; raise CnncError on bad input."""
    SOURCES[file] = text
    lark = _lark()
    _POSTLEXER.file, _POSTLEXER.text = file, text
    try:
        tree = lark.parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(error, text, file) from None
    try:
        return ASTBuilder(file).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, CnncError):
            raise error.orig_exc from None
        raise


def parse_file(path: str | Path) -> ast.Module:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a leading byte-order mark is not text
    except FileNotFoundError:
        raise CnncError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CnncError(f"{path}: is a directory, not a .cnn file") from None
    except UnicodeDecodeError as error:
        raise _not_utf8(path, error) from None
    except OSError as error:
        raise CnncError(f"{path}: cannot read: {error.strerror}") from None
    return parse(text, str(path))


def _not_utf8(path: Path, error: UnicodeDecodeError) -> CnncError:
    """The line and column of the first byte that is not UTF-8."""
    raw = error.object
    line_start = raw.rfind(b"\n", 0, error.start) + 1
    column = len(raw[line_start : error.start].decode("utf-8")) + 1
    loc = Loc(str(path), raw.count(b"\n", 0, error.start) + 1, column)
    return CnncError(f"not UTF-8 text: byte 0x{raw[error.start]:02x}", loc, "save the file as UTF-8")


# --- syntax errors ----------------------------------------------------------

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _syntax_error(error: UnexpectedInput, text: str, file: str) -> CnncError:
    expected = _expected_words(error)
    if isinstance(error, UnexpectedEOF):
        return CnncError("unexpected end of file", _end_loc(text, file))
    if isinstance(error, UnexpectedCharacters):
        word, column = _word_at(text, error.pos_in_stream, error.column)
        if word:
            loc = Loc(file, error.line, column, error.line, column + len(word))
            return _unexpected(f"'{word}'", word, expected, loc)
        char = text[error.pos_in_stream]
        loc = Loc(file, error.line, error.column)
        return _unexpected(f"character {char!r}", None, expected, loc)
    token = error.token
    misspelled = _misspelled_statement(token, file)
    if misspelled:
        return misspelled
    if token.type == "$END":
        return CnncError("unexpected end of file", _end_loc(text, file), _expect_hint(expected))
    shown = "end of statement" if token.type == "_SEP" else f"'{token.value}'"
    word = token.value if token.type == "NAME" else None
    return _unexpected(shown, word, expected, token_loc(file, token))


def _misspelled_statement(token: Token, file: str) -> CnncError | None:
    """`inptu 3x32x32`: a name that starts a statement, then what no block use
    takes; when the name is close to a keyword, that is the likelier mistake."""
    recent = _POSTLEXER.recent
    if recent[-1] is not None and recent[-1].start_pos == token.start_pos:
        recent = [None, *recent[:-1]]  # the parser, not the lexer, refused the token
    before, name = recent[-2], recent[-1]
    if name is None or name.type != "NAME" or token.type in ("_SEP", "RBRACE", "LPAR", "$END"):
        return None
    if before is None or before.type not in ("_SEP", "LBRACE") or token.value in RESERVED:
        return None  # `b relu`: a separator is missing, not a keyword misspelled
    if name.value in OPTION_WORDS and not re.search(rf"\bblock\s+{name.value}\b", _POSTLEXER.text):
        return CnncError(f"'{name.value}' is an option, not a statement", token_loc(file, name), OPTION_LINE_HINT)
    defined = re.search(rf"\bblock\s+{name.value}\b", _POSTLEXER.text)
    hint = None if defined else did_you_mean(name.value, RESERVED)
    if hint:
        return CnncError(f"unknown layer or block '{name.value}'", token_loc(file, name), hint)
    if token.type in ("INT", "FLOAT", "NAME"):
        hint = f"arguments of a block go in parentheses: {name.value}({token.value})"
        return CnncError(f"unexpected '{token.value}'", token_loc(file, token), hint)
    return None


def _unexpected(shown: str, word, expected: list[str], loc: Loc) -> CnncError:
    keywords = [w for w in expected if WORD.fullmatch(w)]
    hint = did_you_mean(word, keywords) if word else None
    options = [k for k in keywords if k != "x"]  # `pool max 2x2` may go on `x 2`
    if word and options and all(k in OPTION_WORDS for k in options):
        return CnncError(f"unknown option '{word}'", loc, hint or _expect_hint(expected))
    return CnncError(f"unexpected {shown}", loc, hint or _expect_hint(expected))


OPTION_LINE_HINT = "options stay on their statement's line: move it up to the end of the line before"

OPTION_WORDS = frozenset(
    [
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
    ]
)


@lru_cache(maxsize=1)
def keyword_words() -> frozenset[str]:
    """Every keyword of the language (the grammar's word literals)."""
    return frozenset(w for w in _terminal_text().values() if WORD.fullmatch(w))


def _expected_words(error: UnexpectedInput) -> list[str]:
    names = getattr(error, "expected", None) or getattr(error, "allowed", None) or ()
    parser = getattr(error, "interactive_parser", None)
    if parser is not None:  # what the parser state takes, not the lexer's (merged) lookahead
        with contextlib.suppress(Exception):  # else the lexer's set
            names = parser.accepts()
    text = _terminal_text()
    return sorted({text.get(name, name) for name in names if name in text or not name.startswith("__")})


def _expect_hint(expected: list[str]) -> str | None:
    if not expected:
        return None
    if len(expected) > 12:
        return None
    return "expected " + ", ".join(expected[:-1]) + (" or " if len(expected) > 1 else "") + expected[-1]


def _word_at(text: str, pos: int, column: int) -> tuple[str | None, int]:
    """The identifier around ``pos`` (a lexer stop inside 'stridex' means 'stridex')."""
    start = pos
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    match = WORD.match(text, start)
    if not match or match.end() <= pos:
        return None, column
    return match.group(), column - (pos - start)


def _end_loc(text: str, file: str) -> Loc:
    lines = text.split("\n")
    return Loc(file, len(lines), len(lines[-1]) + 1)


# --- tree to AST ------------------------------------------------------------


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


OPTION_RULES = frozenset(
    [
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
        "batch",
        "epochs",
        "lr",
        "l1",
        "l2",
        "early_stop",
        "nesterov",
        "beta1",
        "beta2",
        "rho",
    ]
)
