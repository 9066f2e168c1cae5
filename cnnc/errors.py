"""Diagnostics: one exception type for every user-facing error, and warnings.

A diagnostic carries a source location and prints as
``FILE:LINE:COL: error: MESSAGE``, the source line, a caret under the spot and
an optional hint. Source text is looked up in ``SOURCES`` (filled by the
parser), so a diagnostic never re-reads a file that may have changed.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES: dict[str, str] = {}


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class Diagnostic:
    severity: str  # "error" or "warning"
    message: str
    loc: Loc | None = None
    hint: str | None = None

    def format(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        lines = [f"{where}{self.severity}: {self.message}"]
        excerpt = source_excerpt(self.loc)
        if excerpt:
            lines.append(excerpt)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class CnncError(Exception):
    """The only exception cnnc lets reach a user: bad input, with its place."""

    def __init__(self, message: str, loc: Loc | None = None, hint: str | None = None):
        super().__init__(message)
        self.diagnostic = Diagnostic("error", message, loc, hint)

    @property
    def message(self) -> str:
        return self.diagnostic.message

    @property
    def loc(self) -> Loc | None:
        return self.diagnostic.loc

    @property
    def hint(self) -> str | None:
        return self.diagnostic.hint

    def __str__(self) -> str:
        return self.diagnostic.format()


def source_excerpt(loc: Loc | None) -> str:
    """The source line of ``loc`` with a caret (and tildes to its end) under it."""
    if loc is None or loc.file not in SOURCES:
        return ""
    lines = SOURCES[loc.file].split("\n")  # as the lexer counts: not at form feeds or U+2028
    if not 1 <= loc.line <= len(lines):
        return ""
    text = lines[loc.line - 1].rstrip("\r").expandtabs(1)
    width = 1
    if loc.end_line == loc.line and loc.end_column and loc.end_column > loc.column:
        width = loc.end_column - loc.column
    gutter = f"{loc.line:>5} | "
    marker = " " * (loc.column - 1) + "^" + "~" * (width - 1)
    return f"{gutter}{text}\n{' ' * (len(gutter) - 2)}| {marker}"


def did_you_mean(word: str, choices) -> str | None:
    """A hint naming the closest of ``choices`` to a misspelled ``word``."""
    import difflib

    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
