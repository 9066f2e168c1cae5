"""The cnnc command line: argument parsing and printing; the work is elsewhere."""

from __future__ import annotations

import argparse
import sys

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
    return parser


def run_check(args) -> int:
    from .analysis import totals
    from .api import load_all, parse_shape
    from .ir import print_graph
    from .ops import fmt_shape

    input_shape = parse_shape(args.input) if args.input else None
    status = 0
    for file in args.files:
        try:
            graphs = load_all(file, args.network, input_shape, args.strict)
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
                f"{fmt_shape(graph.output.meta['shape'])}, {t.layers} layers, "
                f"{t.params:,} params, {t.macs:,} MACs"
            )
            if args.print_ir:
                print(print_graph(graph))
    return status


if __name__ == "__main__":
    sys.exit(main())
