"""Fuzzing the front end: whatever the text, only a CnncError may come out.

(a) texts generated from the grammar itself, raw (tokens glued together, any
characters in comments and names) and spaced (keywords, names and numbers
drawn from small sets, so that most texts parse and reach the later passes);
(b) valid example files with tokens deleted, duplicated, swapped or replaced,
characters inserted, or the text cut short.

Runs are derandomized (the same examples every run) and kept to about ten
seconds; CNNC_FUZZ_SCALE=20 runs twenty times as many, CNNC_FUZZ_SEED=N random ones.
"""

import os
import re
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark
from lark.lexer import PatternStr

from cnnc.api import loads
from cnnc.errors import CnncError
from cnnc.syntax import grammar_path
from cnnc.words import RESERVED
from tests.conftest import ROOT

SCALE = float(os.environ.get("CNNC_FUZZ_SCALE", "1"))  # e.g. 20 for a long hunt
SEED = os.environ.get("CNNC_FUZZ_SEED")  # set: random runs from that seed instead of the fixed ones


def fuzz(examples: int):
    return settings(
        max_examples=int(examples * SCALE),
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


NAMES = ["c", "k", "x", "n", "stage", "b", "width", "stride", "pad", "groups", "eps", "lr", "_a1"]
NUMBERS = ["0", "1", "2", "3", "7", "16", "64", "224", "100000", "1000000000", "9" * 30]
NUMBERS += ["0.5", "1e-3", "2.5", ".5", "1e308", "1e309", "0.0"]


def compile_only_cnnc_errors(text: str, file: str) -> None:
    """Compile ``text``; a CnncError is fine (and must print), anything else fails."""
    try:
        loads(text, file=file)
    except CnncError as error:
        assert str(error).splitlines()  # the diagnostic prints, source excerpt and all
        assert error.loc is None or (error.loc.line >= 1 and error.loc.column >= 1)


@cache
def grammar() -> Lark:
    """A plain Lark object for hypothesis to read (the parser's own is cached on disk)."""
    return Lark.open(str(grammar_path()), parser="lalr", lexer="contextual")


STRINGS = ['"missing.cnn"', '""', '"fuzz.cnn"', '"lib.cnn"', '"."', '"lib.cnn\x00"']
SEPARATORS = ["\n", ";", "\n\n  # comment\n  ", ";;\n"]


@cache
def raw_terminals() -> dict[str, st.SearchStrategy[str]]:
    """Regex terminals as the grammar says, but for imports (no reading random paths)
    and separators (whose lookahead makes generating them by regex slow)."""
    return {"STRING": st.sampled_from(STRINGS), "_SEP": st.sampled_from(SEPARATORS)}


def spaced(word: str) -> st.SearchStrategy[str]:
    return st.just(f" {word} ")


@cache
def spaced_terminals() -> dict[str, st.SearchStrategy[str]]:
    """Every keyword and punctuation with spaces around it, names and numbers from small sets."""
    explicit = {
        t.name: spaced(t.pattern.value)
        for t in grammar().terminals
        if isinstance(t.pattern, PatternStr) and not t.name.startswith("__")
    }
    explicit.update(
        NAME=st.sampled_from(NAMES + sorted(RESERVED)).map(lambda name: f" {name} "),
        INT=st.sampled_from([n for n in NUMBERS if n.isdigit()]).map(lambda n: f" {n} "),
        FLOAT=st.sampled_from([n for n in NUMBERS if not n.isdigit()]).map(lambda n: f" {n} "),
        DIMS=st.sampled_from(["3x3", "1x1", "7x7", "3x32x32", "1x7", "0x3", "3x224x224", "2x2"]).map(
            lambda d: f" {d} "
        ),
        STRING=st.sampled_from(STRINGS).map(lambda s: f" {s} "),
        _SEP=st.sampled_from(SEPARATORS),
    )
    return explicit


@cache
def fuzz_dir():
    """A folder with a file to import (so `import "lib.cnn"` can succeed)."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="cnnc-fuzz-"))
    (folder / "lib.cnn").write_text("let c = 3\nblock stage(n) { repeat n { conv 3x3/c pad 1; relu } }\n")
    return folder


@fuzz(80)
@given(st.deferred(lambda: from_lark(grammar(), start="start", explicit=raw_terminals())))
def test_raw_grammar_texts(text):
    compile_only_cnnc_errors(text, str(fuzz_dir() / "fuzz.cnn"))


@fuzz(80)
@given(st.deferred(lambda: from_lark(grammar(), start="start", explicit=spaced_terminals())))
def test_spaced_grammar_texts(text):
    compile_only_cnnc_errors(text, str(fuzz_dir() / "fuzz.cnn"))


@fuzz(120)
@given(st.deferred(lambda: from_lark(grammar(), start="start", explicit=spaced_terminals())))
def test_spaced_grammar_texts_inside_a_network(statements):
    """Top-level items as a network's statements: the layer rules get exercised too."""
    text = "network n {\n  input 3x32x32\n" + statements + "\n}\n"
    compile_only_cnnc_errors(text, str(fuzz_dir() / "fuzz.cnn"))


# --- mutations of valid files ----------------------------------------------------

TOKEN = re.compile(r"[ \t]+|\n|#[^\n]*|\w+|.", re.S)
SOURCES = {path.name: path.read_text() for path in sorted((ROOT / "examples").glob("*.cnn"))}
INSERTS = list("{}()[];\n/x*+-,.#\"'=@$\\\t\x00é") + ["relu", "repeat", "input", "0", "-1", "1000000000", "stride"]


@st.composite
def mutated(draw) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(SOURCES)))
    tokens = TOKEN.findall(SOURCES[name])
    for _ in range(draw(st.integers(1, 4))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace", "truncate"]))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "insert":
            tokens.insert(i, draw(st.sampled_from(INSERTS) | st.characters()))
        elif op == "replace":
            tokens[i] = draw(st.sampled_from(INSERTS + sorted(RESERVED) + NUMBERS))
        else:
            tokens = tokens[:i]
    return name, "".join(tokens)


@fuzz(500)
@given(mutated())
def test_mutated_examples(case):
    name, text = case
    compile_only_cnnc_errors(text, str(ROOT / "examples" / f"mutated-{name}"))


def test_the_examples_themselves_compile():
    for name, text in SOURCES.items():
        loads(text, file=str(ROOT / "examples" / f"mutated-{name}"))
