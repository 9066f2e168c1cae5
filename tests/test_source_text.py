"""Source files as the contract describes them: UTF-8 text."""

from cnnc.api import load


def test_utf8_file_with_byte_order_mark_compiles(tmp_path):
    # Editors on Windows often save UTF-8 with a leading byte-order mark; it is
    # still UTF-8 text, so it must not be reported as an unexpected character.
    path = tmp_path / "bom.cnn"
    path.write_bytes("\ufeffnetwork t {\n  input 3x8x8\n  conv 3x3/4 # café\n}\n".encode())
    graph = load(path)
    assert graph.output.meta["shape"] == (4, 6, 6)
    assert graph.nodes[1].loc.line == 3 and graph.nodes[1].loc.column == 3
