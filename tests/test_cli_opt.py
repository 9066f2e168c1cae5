"""`cnnc opt`, `cnnc report --opt` and `cnnc render --opt`: reports and renders of optimized graphs."""

from cnnc.api import load
from cnnc.passes import run_passes
from cnnc.render import to_dot
from cnnc.text import describe
from tests.conftest import ROOT, net
from tests.test_docs import run_cnnc

GOOGLENET_TABLE = """\
                                    before          after
  nodes                                142             93
  kernel launches                      141             66
  params                         6,998,552      6,998,552
  MACs                       1,582,671,872  1,582,671,872
  activations, naive              38.4 MiB       26.1 MiB
  activations, planned peak        7.5 MiB        6.9 MiB"""


def test_opt_prints_each_pass_and_the_before_after_table():
    status, out, err = run_cnnc(["opt", "examples/googlenet.cnn", "-O2"], ROOT)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "examples/googlenet.cnn: googlenet at -O2"
    assert "  fuse_horizontal: 9 groups, 27 convs -> 9" in lines
    assert out.rstrip("\n").endswith(GOOGLENET_TABLE)


def test_opt_O1_on_resnet18_folds_every_bn():
    status, out, _ = run_cnnc(["opt", "examples/resnet18.cnn", "-O1"], ROOT)
    assert status == 0
    assert "  fold_bn: 20 BN folded" in out.splitlines()
    assert "fuse_vertical" not in out


def test_opt_with_named_passes_disabled_passes_and_the_ir():
    argv = ["opt", "examples/digits.cnn", "--passes", "fold_bn,fuse_vertical", "--disable-pass", "fuse_vertical"]
    status, out, _ = run_cnnc([*argv, "--print-ir"], ROOT)
    assert status == 0
    assert out.splitlines()[:2] == [
        "examples/digits.cnn: digits at passes fold_bn,fuse_vertical",
        "  fold_bn: 3 BN folded",
    ]
    assert "network digits  # examples/digits.cnn" in out and " = bn(" not in out


def test_opt_print_after_prints_the_ir_after_that_pass():
    status, out, _ = run_cnnc(["opt", "examples/digits.cnn", "--print-after", "fold_bn"], ROOT)
    assert status == 0 and out.count("# IR after fold_bn") == 1


def test_an_unknown_pass_is_an_error_naming_the_close_one():
    status, _, err = run_cnnc(["opt", "examples/digits.cnn", "--disable-pass", "fold_nb"], ROOT)
    assert status == 1
    assert err == "error: unknown pass 'fold_nb'\n  hint: did you mean 'fold_bn'?\n"


def test_report_opt_reports_the_optimized_graph():
    status, plain, _ = run_cnnc(["report", "examples/digits.cnn"], ROOT)
    status, optimized, _ = run_cnnc(["report", "examples/digits.cnn", "--opt", "-O2"], ROOT)
    assert status == 0
    assert "conv 3x3/16 s1 p1 + relu" in optimized and " bn " not in optimized
    assert "conv 3x3/16 s1 p1 + relu" not in plain
    _, level_one, _ = run_cnnc(["report", "examples/digits.cnn", "-O1"], ROOT)
    assert "+ relu" not in level_one and " bn " not in level_one


def test_fused_nodes_are_described_with_what_they_absorbed():
    graph = net("conv 3x3/4 pad 1; residual { conv 3x3/4 pad 1 }; relu; fc 10; leaky_relu 0.1", "3x8x8")
    run_passes(graph, level=2)
    assert [describe(n) for n in graph.layers()] == [
        "conv 3x3/4 p1",
        "conv 3x3/4 p1 + add + relu",
        "fc 10 + leaky_relu 0.1",
    ]


def test_optimized_googlenet_renders_a_node_per_layer_in_the_conv_colour():
    graph = load(ROOT / "examples" / "googlenet.cnn")
    run_passes(graph, level=2)
    source = to_dot(graph).source
    assert source.count("conv 1x1/176 + relu") == 1  # the stacked head of inception 3a
    assert source.count("slice ") == 27


def test_render_opt_draws_the_optimized_graph(tmp_path):
    output = tmp_path / "net.dot"
    status, out, _ = run_cnnc(["render", "examples/inception_bottleneck.cnn", "--opt", "-o", str(output)], ROOT)
    assert status == 0 and out.strip() == str(output)
    source = output.read_text()
    assert "conv 1x1/256 + relu" in source and source.count("slice ") == 3
