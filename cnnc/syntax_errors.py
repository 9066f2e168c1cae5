"""Lark's parse errors as positioned CnncErrors, with hints (did you mean ...?)."""

from __future__ import annotations

import contextlib
import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from .errors import CnncError, Loc, did_you_mean
from .words import OPTION_LINE_HINT, OPTION_WORDS, RESERVED, WORD, token_loc


def syntax_error(error: UnexpectedInput, text: str, file: str, recent: list, terminal_text: dict) -> CnncError:
    """The CnncError for a Lark error; ``recent``: the last tokens the lexer gave."""
    found = _syntax_error(error, text, file, recent, terminal_text)
    hint = _flag_spelling_hint(text, found.loc)
    if hint:
        found.diagnostic.hint = hint
    return found


# `augment crop,flip` and `schedule step:10` are the spellings of the command-line flags
FLAG_SPELLINGS = {
    ",": ("augment", "list them with spaces: augment crop flip"),
    ":": ("schedule", "schedule step N [gamma G], e.g. schedule step 10 gamma 0.5"),
}


def _flag_spelling_hint(text: str, loc: Loc | None) -> str | None:
    lines = text.split("\n")
    if loc is None or loc.line > len(lines):  # an error at the end of the file
        return None
    line = lines[loc.line - 1]
    setting, hint = FLAG_SPELLINGS.get(line[loc.column - 1 : loc.column], (None, None))
    before = line[: loc.column - 1]
    return hint if setting and re.search(rf"\b{setting}\s+[^;{{}}]*$", before) else None


def _syntax_error(error: UnexpectedInput, text: str, file: str, recent: list, terminal_text: dict) -> CnncError:
    expected = _expected_words(error, terminal_text)
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
    misspelled = _misspelled_statement(token, file, recent, text)
    if misspelled:
        return misspelled
    if token.type == "$END":
        return CnncError("unexpected end of file", _end_loc(text, file), _expect_hint(expected))
    shown = "end of statement" if token.type == "_SEP" else f"'{token.value}'"
    word = token.value if token.type == "NAME" else None
    return _unexpected(shown, word, expected, token_loc(file, token))


def _misspelled_statement(token: Token, file: str, recent: list, text: str) -> CnncError | None:
    """`inptu 3x32x32`: a name that starts a statement, then what no block use
    takes; when the name is close to a keyword, that is the likelier mistake."""
    if recent[-1] is not None and recent[-1].start_pos == token.start_pos:
        recent = [None, *recent[:-1]]  # the parser, not the lexer, refused the token
    before, name = recent[-2], recent[-1]
    if name is None or name.type != "NAME" or token.type in ("_SEP", "RBRACE", "LPAR", "$END"):
        return None
    if before is None or before.type not in ("_SEP", "LBRACE") or token.value in RESERVED:
        return None  # `b relu`: a separator is missing, not a keyword misspelled
    if name.value in OPTION_WORDS and not re.search(rf"\bblock\s+{name.value}\b", text):
        return CnncError(f"'{name.value}' is an option, not a statement", token_loc(file, name), OPTION_LINE_HINT)
    defined = re.search(rf"\bblock\s+{name.value}\b", text)
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


def _expected_words(error: UnexpectedInput, text: dict) -> list[str]:
    names = getattr(error, "expected", None) or getattr(error, "allowed", None) or ()
    parser = getattr(error, "interactive_parser", None)
    if parser is not None:  # what the parser state takes, not the lexer's (merged) lookahead
        with contextlib.suppress(Exception):  # else the lexer's set
            names = parser.accepts()
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
