"""Every fenced block of docs/*.md and README.md is run; a failure names the file and line.

Kinds of block (the fence's info string):

- ``cnn``: a complete file; ``cnnc check`` must succeed. ``cnn file=NAME``
  also writes it as NAME next to the other snippets of its document, so that
  ``import "NAME"`` and ``$ cnnc check NAME`` can use it.
- ``cnn-fragment``: statements; run inside ``network t { input 3x32x32 ... }``,
  or the input a first line ``# input: CxHxW`` names.
- ``cnn-error``: a complete file that must fail; its last line is
  ``# error: LINE:COL: MESSAGE`` (or ``# error: MESSAGE`` for an error with no
  place), the first line cnnc prints, checked exactly.
- ``console``: ``$ cnnc ...`` lines, each followed by its exact output
  (stdout and stderr as a terminal shows them), run in a folder holding
  examples/ and the document's ``file=`` snippets.
- ``python``: run; it checks itself with ``assert``.
- Any other language is shown, not run (``sh`` for set-up commands); a fence
  with no info string is refused where it holds .cnn code or a ``$`` command,
  so nothing runnable goes untested by mistake.

In ``cnn`` and ``cnn-fragment`` blocks, comment lines ``# output: LINE`` give
the summary lines (without the file name) and ``# warning: LINE:COL: MESSAGE``
the warnings, in order; a warning that is not listed fails the test.
``# flags: ...`` adds command-line flags to ``cnnc check``.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from cnnc.cli import main
from cnnc.scope import load_program

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
RUN = ("cnn", "cnn-fragment", "cnn-error", "console", "python")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(.*)$")
DIRECTIVE = re.compile(r"^#\s*(output|warning|error|flags):\s?(.*)$")
SNIPPET = "snippet.cnn"
DEFAULT_INPUT = "3x32x32"


@dataclass
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    kind: str
    options: dict
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def fenced_blocks(doc: Path) -> list[Block]:
    blocks, lines, i = [], doc.read_text(encoding="utf-8").split("\n"), 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = match.groups()
        body, j = [], i + 1
        while j < len(lines) and not re.match(rf"^\s*{fence[0]}{{{len(fence)},}}\s*$", lines[j]):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        kind, *words = info.split() or [""]
        options = dict(word.split("=", 1) for word in words if "=" in word)
        blocks.append(Block(doc, i + 1, kind, options, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


ALL_BLOCKS = [block for doc in DOCUMENTS if doc.is_file() for block in fenced_blocks(doc)]


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"output": [], "warning": [], "error": [], "flags": []}
    for line in text.splitlines():
        match = DIRECTIVE.match(line.strip())
        if match:
            found[match.group(1)].append(match.group(2))
    return found


def run_cnnc(argv: list[str], cwd: Path, merged: bool = False) -> tuple[int, str, str]:
    """cnnc's command line, in this process (fast); merged puts stderr into stdout."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out if merged else err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def first_line(message: str, file: str) -> str:
    """'FILE:L:C: error: M' -> 'L:C: M'; 'error: M' -> 'M' (the form of # error: and # warning:)."""
    line = message.splitlines()[0] if message else ""
    located = re.match(rf"^{re.escape(file)}:(\d+:\d+): (?:error|warning): (.*)$", line)
    if located:
        return f"{located.group(1)}: {located.group(2)}"
    return re.sub(r"^(error|warning): ", "", line)


def workspace(block: Block, tmp_path: Path) -> Path:
    """A folder with examples/ and every `file=` snippet of the block's document."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for other in fenced_blocks(block.doc):
        if "file" in other.options:
            target = tmp_path / other.options["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(other.text, encoding="utf-8")
    return tmp_path


def check_compiles(block: Block, text: str, line_offset: int, cwd: Path) -> None:
    name = block.options.get("file", SNIPPET)
    (cwd / name).write_text(text, encoding="utf-8")
    wanted = directives(block.text)
    flags = shlex.split(" ".join(wanted["flags"]))
    if "file" in block.options and not load_program(cwd / name).networks:
        return  # a library for other snippets to import: it loads, and they use it
    status, out, err = run_cnnc(["check", name, *flags], cwd)
    assert status == 0, f"{block.where}: the snippet does not compile:\n{err}"
    warnings = [first_line(w, name) for w in re.split(r"\n(?=\S+:\d+:\d+: warning: )", err) if w]
    warnings = [re.sub(r"^(\d+)", lambda m: str(int(m.group(1)) - line_offset), w) for w in warnings]
    assert warnings == wanted["warning"], f"{block.where}: warnings differ from the # warning: lines:\n{err}"
    if wanted["output"]:
        summaries = [line.removeprefix(f"{name}: ") for line in out.splitlines()]
        assert summaries == wanted["output"], f"{block.where}: cnnc printed:\n" + "\n".join(summaries)


def check_cnn(block: Block, cwd: Path) -> None:
    check_compiles(block, block.text, 0, cwd)


def check_fragment(block: Block, cwd: Path) -> None:
    lines = block.text.rstrip("\n").split("\n")
    chosen = re.match(r"^#\s*input:\s*(\S+)\s*$", lines[0])
    header = f"network t {{ input {chosen.group(1) if chosen else DEFAULT_INPUT}"
    if chosen:
        lines[0] = header  # so the fragment's line numbers stay as written
    else:
        lines.insert(0, header)
    check_compiles(block, "\n".join(lines) + "\n}\n", 0 if chosen else 1, cwd)


def check_error(block: Block, cwd: Path) -> None:
    last = block.text.rstrip("\n").split("\n")[-1]
    expected = DIRECTIVE.match(last.strip())
    assert expected and expected.group(1) == "error", f"{block.where}: the last line must be '# error: ...'"
    name = block.options.get("file", SNIPPET)
    (cwd / name).write_text(block.text, encoding="utf-8")
    flags = shlex.split(" ".join(directives(block.text)["flags"]))
    status, _, err = run_cnnc(["check", name, *flags], cwd)
    assert status == 1, f"{block.where}: expected an error (status 1), got status {status}:\n{err}"
    assert first_line(err, name) == expected.group(2), f"{block.where}: cnnc said:\n{err}"


def check_console(block: Block, cwd: Path) -> None:
    sessions = re.split(r"^\$ ", block.text, flags=re.M)
    assert not sessions[0].strip(), f"{block.where}: a console block starts with a '$ ' command line"
    for session in sessions[1:]:
        command, _, expected = session.partition("\n")
        argv = shlex.split(command)
        assert argv[0] == "cnnc", f"{block.where}: only cnnc commands can be checked; show others as ```sh"
        for arg in argv[1:]:
            if arg.endswith(".cnn"):
                assert (cwd / arg).is_file(), f"{block.where}: {arg} is neither in examples/ nor a file= snippet"
        _, output, _ = run_cnnc(argv[1:], cwd, merged=True)
        assert output.rstrip("\n") == expected.rstrip("\n"), f"{block.where}: `{command}` printed:\n{output}"


def check_python(block: Block, cwd: Path) -> None:
    with contextlib.chdir(cwd):
        exec(compile(block.text, block.where, "exec"), {"__name__": "__docs__"})


CHECKS = {
    "cnn": check_cnn,
    "cnn-fragment": check_fragment,
    "cnn-error": check_error,
    "console": check_console,
    "python": check_python,
}


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.kind in RUN], ids=lambda b: b.where)
def test_doc_snippet(block, tmp_path):
    CHECKS[block.kind](block, workspace(block, tmp_path))


def test_runnable_looking_fences_say_what_they_hold():
    """A fence without an info string is not run: it may not hold .cnn code or a $ command."""
    runnable = re.compile(r"^(\$ |\s*(network|block|let|import)\b)", re.M)
    unlabelled = [b.where for b in ALL_BLOCKS if not b.kind and runnable.search(b.text)]
    assert not unlabelled, f"label these fences cnn, cnn-fragment, cnn-error or console (or sh): {unlabelled}"
    unknown = [f"{b.where} ({b.kind})" for b in ALL_BLOCKS if b.kind.startswith("cnn") and b.kind not in RUN]
    assert not unknown, f"unknown cnn block kinds: {unknown}"


def test_the_language_guide_has_runnable_snippets():
    kinds = {b.kind for b in ALL_BLOCKS if b.doc.name == "language.md"}
    assert {"cnn", "cnn-fragment", "cnn-error", "console"} <= kinds
