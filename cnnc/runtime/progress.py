"""What training prints: a tqdm bar per epoch on a terminal, one line per epoch, the test result.

``quiet`` keeps only the final lines; without a terminal (a pipe, a log file,
CI) there is no bar, only the epoch lines, so that logs stay readable.
"""

from __future__ import annotations

import sys


class Progress:
    def __init__(self, quiet: bool, epochs: int, steps: int, stream=None):
        self.quiet, self.epochs, self.steps = quiet, epochs, steps
        self.stream = stream or sys.stdout
        self.bar_wanted = not quiet and self.stream.isatty()
        self.bar = None

    def start_epoch(self, epoch: int, position: int) -> None:
        if self.bar_wanted:
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.steps,
                initial=position,
                desc=f"epoch {epoch + 1}/{self.epochs}",
                unit="batch",
                leave=False,  # the epoch line below replaces it
                file=self.stream,
                dynamic_ncols=True,
            )

    def step(self, images: int, sums: dict) -> None:
        if self.bar is not None:
            self.bar.update(1)
            loss, accuracy = sums["loss"] / sums["seen"], 100.0 * sums["correct"] / sums["seen"]
            self.bar.set_postfix_str(f"loss {loss:.4f}  acc {accuracy:.2f}%", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def epoch(self, row: dict) -> None:
        if self.quiet:
            return
        width = len(str(self.epochs))
        parts = [
            f"epoch {row['epoch']:>{width}}/{self.epochs}",
            f"loss {row['loss']:.4f}",
            f"acc {row['accuracy']:6.2f}%",
        ]
        if row["val_loss"] is not None:
            parts += [f"val_loss {row['val_loss']:.4f}", f"val_acc {row['val_accuracy']:6.2f}%"]
        parts += [f"{row['time_s']:.2f}s", f"{row['images_per_s']:,.0f} img/s"]
        print("  ".join(parts), file=self.stream, flush=True)

    def finish(self, test: dict, out) -> None:
        if test["count"]:
            print(
                f"test accuracy {test['accuracy']:.2f}% ({test['correct']} of {test['count']}), loss {test['loss']:.4f}",
                file=self.stream,
            )
        print(f"run folder: {out}", file=self.stream, flush=True)
