"""The ``cnnc train`` and ``cnnc eval`` commands (kept apart from cli.py, which only registers them)."""

from __future__ import annotations

import argparse
import sys


def add_commands(commands) -> None:
    from .cli import positive_int

    train = commands.add_parser("train", help="train a network (its train section gives the defaults)")
    train.add_argument("file", metavar="FILE")
    train.add_argument("--network", metavar="NAME", help="the network to train, when the file has several")
    train.add_argument("--data", metavar="SPEC", help="digits (default), idx:DIR, cifar10:DIR or npz:PATH")
    train.add_argument("--epochs", type=positive_int, metavar="N")
    train.add_argument("--batch", type=positive_int, metavar="N")
    train.add_argument("--lr", type=non_negative, metavar="X", help="learning rate")
    train.add_argument("--optimizer", choices=("sgd", "adagrad", "adadelta", "rmsprop", "adam"))
    train.add_argument("--loss", choices=("cross_entropy", "mse", "bce"))
    train.add_argument("--l1", type=non_negative, metavar="X", help="L1 penalty (added subgradient l1*sign(w))")
    train.add_argument("--l2", type=non_negative, metavar="X", help="L2 penalty (torch's weight_decay)")
    train.add_argument("--augment", metavar="LIST", help="crop, flip or crop,flip (none: off)")
    train.add_argument("--schedule", metavar="S", help="learning rate per epoch: none, step:N[:GAMMA] or cosine")
    train.add_argument("--val-split", type=fraction, metavar="F", help="part of the training data held out (0.1)")
    train.add_argument("--early-stop", type=int, metavar="N", help="stop after N epochs without a better val loss")
    train.add_argument("--seed", type=int, metavar="N", help="init, shuffle, augmentation and dropout (0)")
    train.add_argument("--out", metavar="DIR", help="run folder (default runs/NAME-TIMESTAMP)")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its checkpoint")
    train.add_argument("--quiet", action="store_true", help="print only the test result")
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("eval", help="loss, accuracy and confusion matrix of trained weights")
    evaluate.add_argument("file", metavar="FILE")
    evaluate.add_argument("--weights", required=True, metavar="W", help=".safetensors or .npz")
    evaluate.add_argument("--data", default="digits", metavar="SPEC", help="digits (default), idx:DIR, ...")
    evaluate.add_argument("--split", choices=("test", "val", "train"), default="test")
    evaluate.add_argument("--loss", choices=("cross_entropy", "mse", "bce"), help="default: the train section's")
    evaluate.add_argument("--network", metavar="NAME")
    evaluate.set_defaults(run=run_eval)


def non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got '{text}'")
    return value


def fraction(text: str) -> float:
    value = non_negative(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got '{text}'")
    return value


SETTINGS = ("data", "epochs", "batch", "lr", "optimizer", "loss", "l1", "l2", "augment", "schedule")


def run_train(args) -> int:
    from .runtime.train import Interrupted, train

    settings = {name: getattr(args, name) for name in SETTINGS}
    settings.update(val_split=args.val_split, early_stop=args.early_stop, seed=args.seed)
    try:
        train(args.file, out=args.out, resume=args.resume, quiet=args.quiet, network=args.network, **settings)
    except Interrupted as interrupted:
        print(interrupted, file=sys.stderr)
        return 130
    return 0


def run_eval(args) -> int:
    from .api import load
    from .runtime.data import load_data
    from .runtime.evaluate import check_labels, confusion_matrix, evaluate, format_confusion
    from .runtime.execute import compile as compile_net

    graph = load(args.file, args.network)
    loss = args.loss or graph.train.get("loss", "cross_entropy")
    data = load_data(args.data, graph.input.meta["shape"])
    x, y = {"test": (data.x_test, data.y_test), "val": (data.x_val, data.y_val), "train": (data.x_train, data.y_train)}[
        args.split
    ]
    outputs = graph.output.meta["shape"][0]
    check_labels(y, outputs, loss, args.data)
    net = compile_net(graph, opt=0, weights=args.weights)
    result = evaluate(net, x, y, loss)
    print(f"{args.data} {args.split}: {result['count']} images")
    print(f"loss {result['loss']:.4f}  accuracy {result['accuracy']:.2f}% ({result['correct']} of {result['count']})")
    print(format_confusion(confusion_matrix(y, result["predicted"], max(outputs, 2))))
    return 0
