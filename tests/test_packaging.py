"""An installed wheel carries the grammar and works outside the source tree."""

import subprocess
import sys
import zipfile

from tests.conftest import ROOT


def test_wheel_ships_the_grammar_and_parses_outside_the_checkout(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("cnnc-*.whl")
    assert "cnnc/grammars/cnn.lark" in zipfile.ZipFile(wheel).namelist()
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        f"import cnnc.syntax as s; p = s.grammar_path(); assert str(p).startswith({str(target)!r}), p; "
        "print(s.parse('network n { input 1x4x4; relu }').networks[0].name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target)}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "n"
