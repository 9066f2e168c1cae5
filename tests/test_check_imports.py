"""`cnnc check` stays light: it never imports the code generator's heavy libraries.

(Its wall time on a ResNet-50-sized file is measured by hand, not asserted.)
"""

import subprocess
import sys

from tests.conftest import ROOT

CHECK = """
import sys, cnnc.cli
status = cnnc.cli.main(['check', 'examples/vgg16.cnn'])
assert status == 0, status
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'llvmlite', 'torch'})
assert not heavy, heavy
"""


def test_check_does_not_import_numba():
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("examples/vgg16.cnn: vgg16: 3x224x224 -> 1000")
