"""The digits demo trained by cnnc and by PyTorch 2.13 (CPU), same net, data and hyper-parameters.

Run by hand: .venv/bin/python benchmarks/bench_train_digits.py [--epochs N] [--seed N]

Both train examples/digits.cnn's network as ``make demo`` does (its train
section: Adam with its lr, weight decay 1e-4, the cosine schedule, its batch
and epochs; 1-pixel random crops) on the same digits split, with the same initial weights (cnnc's
seeded init, copied into torch), the same shuffle orders and the same crops
(cnnc's seeded generators). Dropout masks differ (each framework draws its
own). The cnnc run is warm (its kernels compiled first by a one-epoch run).
Printed: each one's training time, test accuracy, and the time ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from cnnc.blas_env import configure_openblas

configure_openblas()  # before numpy loads OpenBLAS (cnnc/blas_env.py)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import cnnc  # noqa: E402
from cnnc.runtime.batches import augment  # noqa: E402
from cnnc.runtime.data import load_data  # noqa: E402
from cnnc.runtime.weights import init_weights  # noqa: E402

FILE = "examples/digits.cnn"


def torch_net(weights) -> nn.Module:
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(64, 10),
    )  # fmt: skip
    tensors = {
        "0.weight": weights["conv1"]["weight"], "1.weight": weights["bn1"]["scale"], "1.bias": weights["bn1"]["shift"],
        "3.weight": weights["conv2"]["weight"], "4.weight": weights["bn2"]["scale"], "4.bias": weights["bn2"]["shift"],
        "7.weight": weights["conv3"]["weight"], "8.weight": weights["bn3"]["scale"], "8.bias": weights["bn3"]["shift"],
        "13.weight": weights["fc1"]["weight"], "13.bias": weights["fc1"]["bias"],
    }  # fmt: skip
    state = net.state_dict()
    for name, array in tensors.items():
        state[name] = torch.tensor(array.reshape(state[name].shape), dtype=torch.float32)
    net.load_state_dict(state)
    return net


def train_torch(epochs: int, seed: int, data) -> tuple[float, float]:
    graph = cnnc.load(FILE)
    batch = graph.train["batch"]
    net = torch_net(init_weights(graph, seed))
    settings = graph.train
    assert settings["schedule"] == "cosine" and settings["augment"] == "crop", "mirror the file's train section"
    optimizer = torch.optim.Adam(net.parameters(), lr=settings["optimizer"]["lr"], weight_decay=settings["l2"])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    shuffle = np.random.default_rng([seed, 0])  # the same orders and crops as cnnc's
    crops = np.random.default_rng([seed, 1])
    y = torch.tensor(data.y_train)
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        order = shuffle.permutation(len(y))
        for i in range(0, len(y), batch):
            index = order[i : i + batch]
            x = torch.from_numpy(augment(data.x_train[index], ("crop",), crops))
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x), y[index]).backward()
            optimizer.step()
        schedule.step()
    elapsed = time.perf_counter() - start
    net.eval()
    with torch.no_grad():
        predicted = net(torch.tensor(data.x_test)).argmax(1).numpy()
    return elapsed, 100.0 * np.mean(predicted == data.y_test)


def train_cnnc(epochs: int, seed: int) -> tuple[float, float]:
    """In a child process: torch's OpenMP threads, still spinning in this one, would slow Numba's tenfold."""
    code = f"""
import json, tempfile, time
from cnnc.runtime.train import train
with tempfile.TemporaryDirectory() as folder:
    train({FILE!r}, out=folder + "/warm", epochs=1, seed={seed})  # compile (or load) the kernels first
    start = time.perf_counter()
    result = train({FILE!r}, out=folder + "/run", epochs={epochs}, seed={seed})
    print(json.dumps([time.perf_counter() - start, result["test"]["accuracy"]]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    elapsed, accuracy = json.loads(done.stdout.strip().splitlines()[-1])
    return elapsed, accuracy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=cnnc.load(FILE).train["epochs"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_data("digits", (1, 8, 8))
    torch_time, torch_accuracy = train_torch(args.epochs, args.seed, data)
    cnnc_time, cnnc_accuracy = train_cnnc(args.epochs, args.seed)
    print(f"threads: torch {torch.get_num_threads()}")
    print(f"pytorch {torch.__version__}: {torch_time:6.2f} s  test accuracy {torch_accuracy:.2f}%")
    print(f"cnnc (warm):     {cnnc_time:6.2f} s  test accuracy {cnnc_accuracy:.2f}%")
    print(f"time ratio cnnc/pytorch: {cnnc_time / torch_time:.2f}x")


if __name__ == "__main__":
    main()
