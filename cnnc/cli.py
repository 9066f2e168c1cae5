"""The cnnc command line: argument parsing and printing; the work is elsewhere."""

from __future__ import annotations

import argparse
import os
import sys

from .cli_train import add_commands as add_train_commands
from .errors import CnncError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CnncError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cnnc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`cnnc report ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # noqa: BLE001 - a bug: say so, never a bare traceback
        return internal_error(error, getattr(args, "files", None) or getattr(args, "file", None))


def internal_error(error: Exception, inputs) -> int:
    print(
        f"cnnc: internal error while processing {inputs}: {type(error).__name__}: {error}\n"
        "This is a bug in cnnc; please report it with the input file.",
        file=sys.stderr,
    )
    return 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnnc", description="A compiler for convolutional networks.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="parse and shape-check .cnn files, print a summary per network")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--network", metavar="NAME", help="check only this network")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--print-ir", action="store_true", help="print the graph IR")
    check.add_argument("--input", metavar="CxHxW", help="override the input shape")
    check.set_defaults(run=run_check)

    report = commands.add_parser("report", help="per-layer table of shapes, memory, params, MACs and totals")
    report.add_argument("file", metavar="FILE")
    report.add_argument("--network", metavar="NAME", help="report only this network")
    report.add_argument("--format", choices=("text", "markdown", "json", "csv"), default="text")
    report.add_argument("--batch", type=positive_int, default=1, help="batch size for the training estimate")
    report.add_argument("--dtype", choices=("float32", "float16", "float64"), default="float32")
    report.add_argument("--depth", type=positive_int, help="fold layers into their blocks at this path depth")
    report.add_argument("--optimizer", choices=("sgd", "sgd+momentum", "adagrad", "adadelta", "rmsprop", "adam"))
    report.add_argument("-o", "--output", metavar="OUT", help="write to this file instead of stdout")
    add_input_and_opt(report, "report the optimized graph")
    report.set_defaults(run=run_report)

    render = commands.add_parser("render", help="draw the graph with Graphviz (.svg, .png, .pdf, or .dot source)")
    render.add_argument("file", metavar="FILE")
    render.add_argument("--network", metavar="NAME", help="the network to draw, when the file has several")
    render.add_argument("-o", "--output", metavar="OUT", help="output file, by suffix: .svg .png .pdf .dot (NAME.svg)")
    render.add_argument("--detail", choices=("layer", "block"), default="layer", help="a node per layer or per block")
    render.add_argument("--rankdir", choices=("TB", "LR"), default="TB", help="top to bottom or left to right")
    add_input_and_opt(render, "draw the optimized graph")
    render.set_defaults(run=run_render)

    opt = commands.add_parser("opt", help="run the optimizing passes: what each changed, before/after table")
    opt.add_argument("file", metavar="FILE")
    opt.add_argument("--network", metavar="NAME", help="optimize only this network")
    opt.add_argument("-O", dest="level", type=opt_level, default=2, metavar="LEVEL", help="-O0, -O1, -O2 (default)")
    opt.add_argument("--passes", metavar="A,B,...", help="run these passes in this order instead of a level's")
    opt.add_argument("--disable-pass", action="append", default=[], metavar="NAME", help="skip a pass (repeatable)")
    opt.add_argument("--print-ir", action="store_true", help="print the optimized IR")
    opt.add_argument("--print-after", metavar="PASS", help="print the IR after this pass (or 'all')")
    opt.set_defaults(run=run_opt)
    run = commands.add_parser("run", help="run a network on an input array (.npy)")
    run.add_argument("file", metavar="FILE")
    run.add_argument("--input", required=True, metavar="X.npy", help="NxCxHxW (or CxHxW) array")
    run.add_argument("--weights", metavar="W", help=".safetensors or .npz (default: seeded random init)")
    run.add_argument("--network", metavar="NAME")
    run.add_argument("--reference", action="store_true", help="use the numpy reference executor (float64)")
    run.add_argument("--dtype", choices=("float32", "float64"), help="of the compiled net (default float32)")
    run.add_argument("--train-mode", action="store_true", help="BN batch statistics and dropout, as in training")
    run.add_argument("--seed", type=int, default=0, help="seed of the random init and of dropout")
    run.add_argument("-o", "--output", metavar="Y.npy", help="save the output array here")
    run.set_defaults(run=run_run)
    timing = commands.add_parser("time", help="per-layer and end-to-end timings on the CPU backend")
    timing.add_argument("file", metavar="FILE")
    timing.add_argument("--network", metavar="NAME")
    timing.add_argument("--batch", type=positive_int, default=1)
    timing.add_argument("--train", action="store_true", help="time forward and backward (training mode)")
    timing.add_argument("--repeat", type=positive_int, default=5, help="runs to average over")
    timing.add_argument(
        "--opt",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="pass level (default 2; with --train its training-safe passes)",
    )
    timing.set_defaults(run=run_time)
    add_train_commands(commands)
    return parser


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return int(text)


def add_input_and_opt(command, opt_help: str) -> None:
    command.add_argument("--input", metavar="CxHxW", help="override the input shape")
    command.add_argument("--opt", nargs="?", const=2, type=opt_level, metavar="LEVEL", help=opt_help)
    command.add_argument("-O", dest="opt", type=opt_level, metavar="LEVEL", help=argparse.SUPPRESS)  # --opt -O1


def opt_level(text: str) -> int:
    if text not in ("0", "1", "2"):
        raise argparse.ArgumentTypeError(f"expected an optimization level 0, 1 or 2, got '{text}'")
    return int(text)


def run_check(args) -> int:
    from .analysis import totals
    from .api import compile_program, parse_shape
    from .ir import print_graph
    from .ops import fmt_shape
    from .scope import load_program

    input_shape = parse_shape(args.input) if args.input else None
    status = 0
    for file in args.files:
        try:
            program = load_program(file)
            if not program.networks and args.network is None:
                print(f"{file}: no network; {plural(len(program.blocks), 'block')}, "
                      f"{plural(len(program.lets), 'constant')}")  # fmt: skip
                continue
            graphs = compile_program(program, args.network, input_shape, args.strict)
        except CnncError as error:
            print(error, file=sys.stderr)
            status = 1
            continue
        for graph in graphs:
            for warning in graph.meta["warnings"]:
                print(warning.format(), file=sys.stderr)
            t = totals(graph)
            print(
                f"{file}: {graph.name}: {fmt_shape(graph.input.meta['shape'])} -> "
                f"{fmt_shape(graph.output.meta['shape'])}, {plural(t.layers, 'layer')}, "
                f"{t.params:,} params, {t.macs:,} MACs"
            )
            if args.print_ir:
                print(print_graph(graph))
    return status


def load_graphs(args, one: bool) -> list:
    """The file's networks (or the one named), warnings printed, optimized at --opt."""
    from .api import load_all, parse_shape

    input_shape = parse_shape(args.input) if args.input else None
    graphs = load_all(args.file, args.network, input_shape)
    if one and len(graphs) > 1:
        names = ", ".join(g.name for g in graphs)
        raise CnncError(f"{args.file} defines several networks ({names}); choose one with --network")
    for graph in graphs:
        for warning in graph.meta["warnings"]:
            print(warning.format(), file=sys.stderr)
        if args.opt is not None:
            from .passes import run_passes

            run_passes(graph, level=args.opt)
    return graphs


def run_report(args) -> int:
    from .report_format import FORMATS

    graphs = load_graphs(args, one=args.format in ("json", "csv"))
    texts = [FORMATS[args.format](g.report(args.batch, args.dtype, args.depth, args.optimizer)) for g in graphs]
    write_output("\n".join(texts), args.output)
    return 0


def run_render(args) -> int:
    from pathlib import Path

    from .render import output_format, render

    if args.output:
        output_format(Path(args.output))  # a bad name fails before the work
    (graph,) = load_graphs(args, one=True)
    print(render(graph, args.output or f"{graph.name}.svg", args.detail, args.rankdir))
    return 0


def run_opt(args) -> int:
    from .api import load_all
    from .ir import print_graph
    from .optimize import optimize

    only = [name.strip() for name in args.passes.split(",") if name.strip()] if args.passes is not None else None
    for graph in load_all(args.file, args.network):
        for warning in graph.meta["warnings"]:
            print(warning.format(), file=sys.stderr)
        print(optimize(graph, args.level, only, args.disable_pass, args.print_after), end="")
        if args.print_ir:
            print(print_graph(graph))
    return 0


def write_output(text: str, path: str | None) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as error:
        raise CnncError(f"cannot write {path}: {error.strerror}") from None
    print(f"wrote {path}", file=sys.stderr)


def run_run(args) -> int:
    import numpy as np

    from .api import load
    from .runtime.weights import init_weights, load_weights

    graph = load(args.file, args.network)
    x = read_array(args.input)
    if x.ndim == len(graph.input.meta["shape"]):
        x = x[None]  # a single image
    if args.weights:
        weights = load_weights(graph, args.weights)
    else:
        print(f"cnnc: no --weights: using the seeded random init (seed {args.seed})", file=sys.stderr)
        weights = init_weights(graph, args.seed)
    y = execute(graph, x, weights, args)
    if args.output:
        np.save(args.output, y.astype(np.float32))
        print(f"wrote {args.output}: {'x'.join(map(str, y.shape))}", file=sys.stderr)
    else:
        with np.printoptions(precision=6, suppress=True, threshold=200):
            print(y)
    return 0


def execute(graph, x, weights, args):
    """The output of `cnnc run`: the compiled net (opt 2; in train mode its training-safe passes), or the numpy reference."""
    if args.reference:
        from .runtime.reference import run_reference

        if args.dtype:
            raise CnncError("--dtype is the compiled net's; --reference always runs in float64")
        return run_reference(graph, x.astype("float64"), weights, training=args.train_mode, seed=args.seed)
    from .runtime.execute import compile as compile_net

    net = compile_net(
        graph, opt=2, dtype=args.dtype or "float32", seed=args.seed, weights=weights, training=args.train_mode
    )
    return net(x, training=args.train_mode)


def read_array(path: str):
    import numpy as np

    if not path:
        raise CnncError("--input needs the path of a .npy array")

    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CnncError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as error:
        raise CnncError(f"{path}: not a .npy array ({error})") from None
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.number):
        raise CnncError(f"{path}: expected a numeric .npy array")
    return array


def run_time(args) -> int:
    from .api import load
    from .runtime.execute import compile as compile_net
    from .runtime.timing import format_timings, time_net

    opt = args.opt if args.opt is not None else 2
    net = compile_net(load(args.file, args.network), opt=opt, training=args.train)  # --train: no BN folding
    print(format_timings(net, time_net(net, args.batch, args.train, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
