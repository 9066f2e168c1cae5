"""Every layer statement of the contract: its shape, params, buffers, MACs, FLOPs."""

import pytest

from tests.conftest import compile_text, net, totals


def only_layer(body, input_shape="3x32x32"):
    graph = net(body, input_shape)
    return graph.output.meta


def test_conv_counts_weights_bias_and_macs():
    meta = only_layer("conv 3x3/64 pad 1")
    assert meta["shape"] == (64, 32, 32)
    assert meta["params"] == {"weight": (64, 3, 3, 3), "bias": (64,)}
    assert meta["param_count"] == 3 * 3 * 3 * 64 + 64
    assert meta["macs"] == 64 * 32 * 32 * 27
    assert meta["flops"] == 2 * meta["macs"] + 64 * 32 * 32  # one per element for the bias


def test_conv_rectangle_stride_dilation_and_nobias():
    meta = only_layer("conv 1x7/8 stride 2x1 pad 0x3 nobias", "4x17x17")
    assert meta["shape"] == (8, 9, 17)
    assert meta["param_count"] == 8 * 4 * 7
    meta = only_layer("conv 3x3/8 dilation 2 pad 2", "4x17x17")
    assert meta["shape"] == (8, 17, 17)


def test_grouped_and_depthwise_conv():
    meta = only_layer("conv 3x3/64 groups 2 pad 1", "32x8x8")
    assert meta["param_count"] == 64 * 16 * 9 + 64
    assert meta["macs"] == 64 * 8 * 8 * 16 * 9
    meta = only_layer("conv 3x3/32 groups 32 pad 1 nobias", "32x8x8")
    assert meta["param_count"] == 32 * 9


def test_pad_same_and_valid():
    assert only_layer("conv 5x5/4 pad same")["shape"] == (4, 32, 32)
    assert only_layer("conv 3x3/4 dilation 3 pad same")["shape"] == (4, 32, 32)
    assert only_layer("conv 5x5/4 pad valid")["shape"] == (4, 28, 28)


@pytest.mark.parametrize(
    ("stmt", "shape", "flops"),
    [
        ("pool max 2x2", (3, 16, 16), 3 * 16 * 16 * 4),
        ("pool avg 3x3 stride 2 pad 1", (3, 16, 16), 3 * 16 * 16 * 9),
        ("pool l2 3x3 stride 2", (3, 15, 15), 3 * 15 * 15 * 9),
        ("pool max 3x3 stride 2 ceil", (3, 16, 16), 3 * 16 * 16 * 9),
        ("pool avg global", (3, 1, 1), 3 * 32 * 32),
        ("pool max global", (3, 1, 1), 3 * 32 * 32),
    ],
)
def test_pooling_shapes_and_window_flops(stmt, shape, flops):
    meta = only_layer(stmt)
    assert meta["shape"] == shape
    assert meta["params"] == {} and meta["macs"] == 0
    assert meta["flops"] == flops


def test_pool_stride_defaults_to_its_size():
    assert only_layer("pool max 4x4")["shape"] == (3, 8, 8)


def test_fc_flattens_and_counts():
    meta = only_layer("fc 10")
    assert meta["shape"] == (10,)
    assert meta["param_count"] == 3 * 32 * 32 * 10 + 10
    assert meta["macs"] == 3 * 32 * 32 * 10
    assert only_layer("fc 10 nobias")["param_count"] == 3 * 32 * 32 * 10
    assert only_layer("flatten")["shape"] == (3 * 32 * 32,)


@pytest.mark.parametrize("act", ["relu", "relu6", "sigmoid", "tanh", "selu", "softmax", "leaky_relu", "elu"])
def test_activations_keep_the_shape_and_cost_one_flop_per_element(act):
    meta = only_layer(act)
    assert meta["shape"] == (3, 32, 32)
    assert meta["param_count"] == 0
    assert meta["flops"] == 3 * 32 * 32


def test_activation_alphas_and_defaults():
    graph = net("leaky_relu; leaky_relu 0.2; elu; elu 0.5")
    assert [n.attrs["alpha"] for n in graph.layers()] == [0.01, 0.2, 1.0, 0.5]


def test_prelu_has_one_slope_per_channel():
    assert only_layer("prelu")["params"] == {"slope": (3,)}
    assert only_layer("fc 7; prelu")["params"] == {"slope": (7,)}


def test_maxout_divides_channels():
    assert only_layer("conv 1x1/12; maxout 3")["shape"] == (4, 32, 32)


def test_bn_params_and_buffers():
    meta = only_layer("conv 1x1/16; bn eps 1e-3 momentum 0.01")
    assert meta["params"] == {"scale": (16,), "shift": (16,)}
    assert meta["buffers"] == {"running_mean": (16,), "running_var": (16,)}
    assert meta["param_count"] == 32 and meta["buffer_count"] == 32
    graph = net("bn")
    assert dict(graph.output.attrs) == {"eps": 1e-5, "momentum": 0.1}


def test_lrn_defaults_and_options():
    graph = net("lrn 5; lrn 5 alpha 1e-4 beta 0.75 k 2")
    assert dict(graph.nodes[1].attrs) == {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 1.0}
    assert graph.nodes[2].attrs["k"] == 2.0


def test_dropout_and_identity_pass_through():
    graph = net("dropout 0.5; identity")
    assert [n.meta["shape"] for n in graph.layers()] == [(3, 32, 32), (3, 32, 32)]
    assert graph.nodes[1].attrs["p"] == 0.5


def test_concat_stacks_channels_and_identity_branch_passes_input():
    graph = net("concat { identity; branch { conv 3x3/5 pad 1 } branch { pool max 3x3 stride 1 pad 1 } }")
    assert graph.output.meta["shape"] == (3 + 5 + 3, 32, 32)


def test_residual_adds_and_counts_one_flop_per_element():
    graph = net("conv 3x3/8 pad 1; residual { conv 3x3/8 pad 1; relu } ")
    assert graph.output.op == "add"
    assert graph.output.meta["flops"] == 8 * 32 * 32
    graph = net("residual { conv 3x3/8 stride 2 pad 1 } shortcut { conv 1x1/8 stride 2 }")
    assert graph.output.meta["shape"] == (8, 16, 16)


def test_expressions_lets_and_block_parameters():
    graph = compile_text(
        """
        let width = 16
        let half = width // 2
        block b(c, k) { conv (k)x(k)/(c * 2 - half) pad ((k - 1) // 2) }
        network t { input 3x9x9; b(width, 3); b(width, 5) }
        """
    )
    assert graph.output.meta["shape"] == (24, 9, 9)
    assert graph.output.attrs["kernel"] == (5, 5)


def test_input_override_and_vector_input():
    assert net("conv 3x3/4", input_shape_override=(3, 10, 10)).output.meta["shape"] == (4, 8, 8)
    assert compile_text("network m { input 784; fc 10 }").output.meta["param_count"] == 7850


def test_totals_sum_the_layers():
    t = totals(net("conv 3x3/4 pad 1; bn; relu; fc 2"))
    assert t.layers == 4
    assert t.params == (27 * 4 + 4) + 8 + (4 * 32 * 32 * 2 + 2)
    assert t.buffers == 8
    assert t.macs == 4 * 32 * 32 * 27 + 4 * 32 * 32 * 2
