"""`cnnc check` on bad input: exit status 1, one positioned error, no traceback."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

GOOD = "network good {\n  input 3x32x32\n  conv 3x3/8 pad 1\n  relu\n}\n"
SUMMARY = "good.cnn: good: 3x32x32 -> 8x32x32, 2 layers, 224 params, 221,184 MACs"

# file text, the line of its error
MALFORMED = {
    "keyword": ("network n {\n  input 3x32x32\n  rleu\n}\n", 3),
    "option": ("network n {\n  input 3x32x32\n  conv 3x3/64 strid 2\n}\n", 3),
    "unclosed": ("network n {\n  input 3x32x32\n  residual {\n    relu\n\n  relu\n}\n", 3),
    "unmatched": ("network n {\n  input 3x32x32\n}\n}\n", 4),
    "no_input": ("\n\nnetwork n {\n  relu\n}\n", 4),
    "shape": ("network n {\n  input 3x5x5\n  conv 7x7/8\n}\n", 3),
    "residual": ("network n {\n  input 3x8x8\n  residual { conv 3x3/4 pad 1 }\n}\n", 3),
    "recursion": ("block a { b }\nblock b { a }\nnetwork n {\n  input 3x8x8\n  a\n}\n", 2),
    "bomb": ("network n {\n  input 3x8x8\n  repeat 1000000000 { relu }\n}\n", 3),
    "nesting": ("network n {\n  input 3x8x8\n  " + "repeat 1 {" * 2000 + "relu" + "}" * 2000 + "\n}\n", 3),
    "sum": ("let c = " + "+".join(["1"] * 10_000) + "\nnetwork n {\n  input 3x8x8\n  fc c\n}\n", 1),
    "train": ("network n {\n  input 3x8x8\n  fc 2\n  train { loss hinge }\n}\n", 4),
    "character": ("network n {\n  input 3x8x8\n  fc 2 @\n}\n", 3),
}


def cnnc(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "cnnc", "check", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def assert_one_error(result: subprocess.CompletedProcess, first_line: str):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.count("error:") == 1, result.stderr
    assert re.fullmatch(first_line, result.stderr.splitlines()[0]), result.stderr


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file(tmp_path, name):
    text, line = MALFORMED[name]
    (tmp_path / f"{name}.cnn").write_text(text)
    result = cnnc(f"{name}.cnn", cwd=tmp_path)
    assert_one_error(result, rf"{name}\.cnn:{line}:\d+: error: .+")
    assert result.stderr.splitlines()[1].startswith(f"{line:>5} | ")  # the source line, then the caret
    assert result.stdout == ""


def test_missing_file(tmp_path):
    assert_one_error(cnnc("nope.cnn", cwd=tmp_path), r"error: nope\.cnn: no such file")


def test_directory(tmp_path):
    (tmp_path / "d.cnn").mkdir()
    assert_one_error(cnnc("d.cnn", cwd=tmp_path), r"error: d\.cnn: is a directory, not a \.cnn file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_file_is_refused_not_read_forever(tmp_path):
    assert_one_error(cnnc("/dev/zero", cwd=tmp_path), r"error: /dev/zero: larger than 16 MiB; not a \.cnn file")


def test_a_file_past_the_size_cap_is_refused(tmp_path, monkeypatch):
    from cnnc import syntax
    from cnnc.errors import CnncError

    monkeypatch.setattr(syntax, "MAX_FILE_BYTES", 64)
    (tmp_path / "big.cnn").write_text("# " + "x" * 100 + "\nnetwork n { input 3x3x3 }\n")
    (tmp_path / "small.cnn").write_text("network n { input 3x3x3 }\n")
    with pytest.raises(CnncError, match="larger than 0 MiB"):
        syntax.parse_file(tmp_path / "big.cnn")
    assert syntax.parse_file(tmp_path / "small.cnn")


def test_not_utf8(tmp_path):
    (tmp_path / "bad.cnn").write_bytes(b"network n {\n  input 3x3x3 # \xff\n}\n")
    result = cnnc("bad.cnn", cwd=tmp_path)
    assert_one_error(result, r"bad\.cnn:2:17: error: not UTF-8 text: byte 0xff")
    assert result.stderr.splitlines()[1] == "  hint: save the file as UTF-8"


@pytest.mark.parametrize(
    ("text", "summary"),
    [("", "0 blocks, 0 constants"), ("# only a comment\n", "0 blocks, 0 constants"),
     ("block b { relu }\nlet c = 3\n", "1 block, 1 constant")],
)  # fmt: skip
def test_file_without_a_network_is_a_library(tmp_path, text, summary):
    # The contract: a file holds any number of blocks, constants and networks.
    (tmp_path / "lib.cnn").write_text(text)
    result = cnnc("lib.cnn", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"lib.cnn: no network; {summary}\n"


def test_naming_a_network_in_a_library_is_an_error(tmp_path):
    (tmp_path / "lib.cnn").write_text("block b { relu }\n")
    result = cnnc("lib.cnn", "--network", "x", cwd=tmp_path)
    assert_one_error(result, r"error: lib\.cnn: no network named 'x'")


@pytest.mark.parametrize("value", ["3x0x4", "abc", "3x4", "-3", "3x²x4", "3.0x4x4"])
def test_bad_input_shape(tmp_path, value):
    (tmp_path / "good.cnn").write_text(GOOD)
    result = cnnc("good.cnn", "--input", value, cwd=tmp_path)
    message = rf"error: bad input shape '{re.escape(value)}': expected CxHxW with positive integers, like 3x224x224"
    assert_one_error(result, message)
    assert result.stdout == ""


def test_input_shape_that_breaks_the_network(tmp_path):
    (tmp_path / "good.cnn").write_text(GOOD)
    result = cnnc("good.cnn", "--input", "3x1x1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # 3x3 conv with pad 1 on 1x1 still gives 1x1
    result = cnnc("good.cnn", "--input", "16", cwd=tmp_path)
    assert_one_error(result, r"good\.cnn:3:3: error: conv1: conv needs a CxHxW input, got the vector 16")


def test_unknown_network_name(tmp_path):
    (tmp_path / "good.cnn").write_text(GOOD)
    result = cnnc("good.cnn", "--network", "goood", cwd=tmp_path)
    assert_one_error(result, r"error: good\.cnn: no network named 'goood'")
    assert result.stderr.splitlines()[1] == "  hint: did you mean 'good'?"


def test_good_files_still_print_their_summaries(tmp_path):
    (tmp_path / "good.cnn").write_text(GOOD)
    (tmp_path / "bad.cnn").write_text(MALFORMED["keyword"][0])
    result = cnnc("good.cnn", "bad.cnn", "missing.cnn", "good.cnn", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [SUMMARY, SUMMARY]
    assert result.stderr.count("error:") == 2
    assert result.stderr.startswith("bad.cnn:3:3: error: unknown layer or block 'rleu'\n")
    assert "Traceback" not in result.stderr


def test_strict_turns_the_dropped_rows_warning_into_an_error(tmp_path):
    (tmp_path / "drops.cnn").write_text("network n {\n  input 3x32x32\n  conv 3x3/8 stride 2\n}\n")
    result = cnnc("drops.cnn", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr.startswith("drops.cnn:3:3: warning: conv1: drops the last 1 row")
    assert result.stdout == "drops.cnn: n: 3x32x32 -> 8x15x15, 1 layer, 224 params, 48,600 MACs\n"
    result = cnnc("drops.cnn", "--strict", cwd=tmp_path)
    assert_one_error(result, r"drops\.cnn:3:3: error: conv1: drops the last 1 row .+")
    assert result.stderr.splitlines()[-1] == "  hint: --strict makes this an error"
    assert result.stdout == ""
