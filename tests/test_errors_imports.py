"""Import errors: cycles, missing or unreadable files, clashes across files."""

import pytest

from cnnc.api import load, loads
from cnnc.errors import CnncError
from cnnc.scope import IMPORT_DEPTH_LIMIT

NET = "network n {\n  input 3x32x32\n  relu\n}\n"


def load_error(path) -> CnncError:
    with pytest.raises(CnncError) as info:
        load(path)
    return info.value


def test_import_cycle_between_two_files(tmp_path):
    (tmp_path / "a.cnn").write_text('import "b.cnn"\n' + NET)
    (tmp_path / "b.cnn").write_text('import "a.cnn"\nblock x { relu }\n')
    e = load_error(tmp_path / "a.cnn")
    assert e.message == "import cycle: a.cnn -> b.cnn -> a.cnn"
    assert (e.loc.file, e.loc.line, e.loc.column) == (str(tmp_path / "b.cnn"), 1, 1)


def test_file_that_imports_itself(tmp_path):
    (tmp_path / "s.cnn").write_text('import "s.cnn"\n' + NET)
    e = load_error(tmp_path / "s.cnn")
    assert e.message == "import cycle: s.cnn -> s.cnn"
    assert (e.loc.line, e.loc.column) == (1, 1)


def test_missing_import(tmp_path):
    (tmp_path / "a.cnn").write_text('# blocks\nimport "nope.cnn"\n' + NET)
    e = load_error(tmp_path / "a.cnn")
    assert e.message == f"cannot import 'nope.cnn': no such file ({tmp_path / 'nope.cnn'})"
    assert (e.loc.file, e.loc.line, e.loc.column) == (str(tmp_path / "a.cnn"), 2, 1)


def test_import_of_a_directory(tmp_path):
    (tmp_path / "d.cnn").mkdir()
    (tmp_path / "a.cnn").write_text('import "d.cnn"\n' + NET)
    e = load_error(tmp_path / "a.cnn")
    assert e.message == f"cannot import 'd.cnn': it is a directory ({tmp_path / 'd.cnn'})"
    assert (e.loc.line, e.loc.column) == (1, 1)


def test_import_path_too_long(tmp_path):
    long_name = "a" * 300 + ".cnn"
    with pytest.raises(CnncError) as info:
        loads(f'import "{long_name}"\n' + NET, file=str(tmp_path / "a.cnn"))
    e = info.value
    assert e.message == f"cannot import '{long_name}': File name too long"
    assert (e.loc.line, e.loc.column) == (1, 1)


def test_import_of_a_non_utf8_file_points_into_that_file(tmp_path):
    (tmp_path / "bad.cnn").write_bytes(b"block b { relu }\n\xff\n")
    (tmp_path / "a.cnn").write_text('import "bad.cnn"\n' + NET)
    e = load_error(tmp_path / "a.cnn")
    assert e.message == "not UTF-8 text: byte 0xff"
    assert (e.loc.file, e.loc.line, e.loc.column) == (str(tmp_path / "bad.cnn"), 2, 1)


def test_syntax_error_in_an_imported_file(tmp_path):
    (tmp_path / "lib.cnn").write_text("block b {\n  rleu\n}\n")
    (tmp_path / "a.cnn").write_text('import "lib.cnn"\n' + NET.replace("relu", "b"))
    e = load_error(tmp_path / "a.cnn")
    assert e.message == "unknown layer or block 'rleu'"
    assert (e.loc.file, e.loc.line, e.loc.column) == (str(tmp_path / "lib.cnn"), 2, 3)


def test_block_defined_in_two_files(tmp_path):
    (tmp_path / "lib.cnn").write_text("block b { relu }\n")
    (tmp_path / "a.cnn").write_text('import "lib.cnn"\nblock b { relu }\n' + NET)
    e = load_error(tmp_path / "a.cnn")
    assert e.message == f"block 'b' is defined twice; the first is at {tmp_path / 'lib.cnn'}:1:1"
    assert (e.loc.file, e.loc.line, e.loc.column) == (str(tmp_path / "a.cnn"), 2, 1)


def test_a_file_imported_twice_is_read_once(tmp_path):
    (tmp_path / "lib.cnn").write_text("block b { relu }\n")
    (tmp_path / "mid.cnn").write_text('import "lib.cnn"\n')
    (tmp_path / "a.cnn").write_text('import "lib.cnn"\nimport "mid.cnn"\n' + NET.replace("relu", "b"))
    assert len(load(tmp_path / "a.cnn").nodes) == 2


def test_import_chain_too_deep(tmp_path):
    depth = IMPORT_DEPTH_LIMIT + 5
    for i in range(depth):
        (tmp_path / f"f{i}.cnn").write_text(f'import "f{i + 1}.cnn"\n')
    (tmp_path / f"f{depth}.cnn").write_text("block b { relu }\n")
    (tmp_path / "a.cnn").write_text('import "f0.cnn"\n' + NET)
    e = load_error(tmp_path / "a.cnn")
    assert e.message == f"imports nest deeper than {IMPORT_DEPTH_LIMIT} files"
    assert e.loc.line == 1
