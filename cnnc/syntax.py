"""Text to AST: the Lark LALR parser and separator handling.

Error mapping is in cnnc.syntax_errors, the tree-to-AST transformer in
cnnc.ast_builder.

The parser is built once per process (and its tables cached on disk by Lark),
so ``cnnc check`` stays fast. Every Lark error becomes a positioned CnncError.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedInput, VisitError
from lark.lexer import PatternStr

from . import ast
from .ast_builder import ASTBuilder
from .errors import SOURCES, CnncError, Loc, did_you_mean
from .syntax_errors import syntax_error
from .words import OPTION_WORDS, WORD, token_loc

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


_POSTLEXER = SeparatorPostLexer()
# The one cached parser shares this post-lexer, whose state belongs to the
# text being parsed: parses from several threads take turns.
_PARSING = threading.Lock()


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
    with _PARSING:
        _POSTLEXER.file, _POSTLEXER.text = file, text
        try:
            tree = lark.parse(text)
        except UnexpectedInput as error:
            raise syntax_error(error, text, file, _POSTLEXER.recent, _terminal_text()) from None
    try:
        return ASTBuilder(file).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, CnncError):
            raise error.orig_exc from None
        raise


# A .cnn file is a page of text (GoogLeNet with every block written out is
# 20 KB); reading is capped so that /dev/zero or a mistaken multi-GB file is
# an error, not a hang that fills the memory.
MAX_FILE_BYTES = 16 << 20


def parse_file(path: str | Path) -> ast.Module:
    path = Path(path)
    try:
        with path.open("rb") as source:
            raw = source.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise CnncError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB; not a .cnn file")
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is not text
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


@lru_cache(maxsize=1)
def keyword_words() -> frozenset[str]:
    """Every keyword of the language (the grammar's word literals)."""
    return frozenset(w for w in _terminal_text().values() if WORD.fullmatch(w))
