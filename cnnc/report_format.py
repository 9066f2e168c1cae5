"""Report data (cnnc.report.build_report) as text, markdown, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json

from .report import DTYPE_BYTES
from .text import human, human_bytes

COLUMNS = ("layer", "op", "output", "memory", "bytes", "params", "MACs", "RF", "jump")


def _cells(layer: dict, size: int) -> list[str]:
    def pair(values):
        if values is None:
            return "-"
        return str(values[0]) if values[0] == values[1] else "x".join(map(str, values))

    params = layer["params_formula"] or (f"{layer['params']:,}" if layer["params"] else "")
    rf = pair(layer["rf"])
    return [
        layer["name"],
        layer["description"],
        "x".join(map(str, layer["output"])),
        f"{layer['activations']:,}",
        human_bytes(layer["activations"] * size),
        params,
        f"{layer['macs']:,}" if layer["macs"] else "",
        rf if rf == "-" else f"{rf}x{rf}" if "x" not in rf else rf,
        pair(layer["jump"]),
    ]


def _totals_lines(r: dict) -> list[tuple[str, str]]:
    b = r["bytes"]
    t = b["training_per_batch"]
    return [
        ("params", f"{r['params']:,} ({human(r['params'])}) = {human_bytes(b['params'])} in {r['dtype']}"),
        ("buffers", f"{r['buffers']:,} (BN running mean and variance) = {human_bytes(b['buffers'])}"),
        ("MACs", f"{r['macs']:,} ({human(r['macs'])}) per image"),
        ("FLOPs", f"{r['flops']:,} ({human(r['flops'])}) per image"),
        (
            "memory",
            f"{r['activations']:,} activations ({human(r['activations'])}) = "
            f"{human_bytes(b['activations_per_image'])} per image, forward only",
        ),
        (
            "training",
            f"~{human_bytes(t['total'])} per batch of {r['batch']} with {r['optimizer']}: "
            f"activations {human_bytes(t['activations'])} + their gradients "
            f"{human_bytes(t['activation_gradients'])} + params {human_bytes(t['params'])} + gradients "
            f"{human_bytes(t['param_gradients'])} + optimizer state {human_bytes(t['optimizer_state'])}"
            f" + buffers {human_bytes(t['buffers'])}",
        ),
    ]


def _title(r: dict) -> str:
    shape = "x".join(map(str, r["input"])), "x".join(map(str, r["output"]))
    return (
        f"network {r['network']} ({r['file']}): input {shape[0]} -> output {shape[1]}, "
        f"{r['layer_count']} layers, {r['dtype']}, batch {r['batch']}"
    )


def to_text(r: dict) -> str:
    size = DTYPE_BYTES[r["dtype"]]
    rows = [list(COLUMNS)] + [_cells(layer, size) for layer in r["layers"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    right = {3, 4, 6}  # numbers align right

    def line(row):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    out = [_title(r), "", line(rows[0]), line(["-" * w for w in widths])]
    out += [line(row) for row in rows[1:]]
    out.append("")
    label = max(len(k) for k, _ in _totals_lines(r))
    out += [f"{k.ljust(label)}  {v}" for k, v in _totals_lines(r)]
    out += ["", f"counting: {r['policy']}"]
    return "\n".join(out) + "\n"


def to_markdown(r: dict) -> str:
    size = DTYPE_BYTES[r["dtype"]]

    def row(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [
        f"### {_title(r)}",
        "",
        row(COLUMNS),
        "|" + "|".join("---:" if i in (3, 4, 6) else "---" for i in range(len(COLUMNS))) + "|",
    ]
    out += [row(_cells(layer, size)) for layer in r["layers"]]
    out.append("")
    out += [f"- **{k}**: {v}" for k, v in _totals_lines(r)]
    out += ["", f"*Counting:* {r['policy']}"]
    return "\n".join(out) + "\n"


def to_json(r: dict) -> str:
    layers = [{k: v for k, v in layer.items() if k != "folded"} for layer in r["layers"]]
    return json.dumps(dict(r, layers=layers), indent=2) + "\n"


CSV_FIELDS = (
    "name", "op", "description", "output", "activations", "activation_bytes", "params", "params_formula",
    "buffers", "macs", "flops", "rf", "jump",
)  # fmt: skip


def to_csv(r: dict) -> str:
    size = DTYPE_BYTES[r["dtype"]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for layer in r["layers"]:
        values = dict(layer, activation_bytes=layer["activations"] * size)
        for key in ("output", "rf", "jump"):
            values[key] = "x".join(map(str, layer[key])) if layer[key] else ""
        writer.writerow([values[f] for f in CSV_FIELDS])
    return buffer.getvalue()


FORMATS = {"text": to_text, "markdown": to_markdown, "json": to_json, "csv": to_csv}
