"""One large 3x3 conv: cnnc's CPU kernels next to numpy sgemm and PyTorch, same threads.

Run by hand: .venv/bin/python benchmarks/bench_conv.py [--batch 8] [--channels 256]
[--size 56] [--repeat 5]. Threads: NUMBA_NUM_THREADS (default: all cores) for
cnnc's loops; BLAS and torch get the same count. The GEMM anchor is the
product the conv reduces to (O x C*9 @ C*9 x H*W per image, float32).

OpenBLAS picks its kernels by CPU model and may not know a new one: on AMD
Zen 5 it takes its AVX2 "Haswell" kernels, half of what the AVX-512 ones do.
OPENBLAS_CORETYPE=SkylakeX (set before the run) selects those; the line
"BLAS" of the output says which ran.

With 2 threads, Numba's OpenMP workers spin after each im2col and take cycles
from the GEMM that follows (measured: the im2col+GEMM sequence 1.1-2x slower
than its parts); OMP_WAIT_POLICY=PASSIVE (or NUMBA_THREADING_LAYER=workqueue)
removes that.
"""

from __future__ import annotations

import argparse
import time

from cnnc.blas_env import configure_openblas

configure_openblas()  # before numpy loads OpenBLAS (cnnc/blas_env.py)

import numba  # noqa: E402
import numpy as np  # noqa: E402


def best_time(fn, repeat: int) -> float:
    """The best of `repeat` runs after one warm-up: the least disturbed by other load."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def build_net(batch, channels, size, bias=True):
    import cnnc
    from cnnc.api import loads

    text = f"network big {{\n  input {channels}x{size}x{size}\n  conv 3x3/{channels} pad 1{'' if bias else ' nobias'}\n}}\n"
    return cnnc.compile(loads(text, file="bench.cnn"), opt=0, dtype="float32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--size", type=int, default=56)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import torch
    import torch.nn.functional as F
    from threadpoolctl import threadpool_info, threadpool_limits

    threads = numba.get_num_threads()
    torch.set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")  # numpy's BLAS: the same count as Numba and torch
    blas = [
        f"{i['internal_api']} {i['version']} {i.get('architecture', '')}"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    n, c, s = args.batch, args.channels, args.size
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, s, s), dtype=np.float32)
    dy = rng.standard_normal((n, c, s, s), dtype=np.float32)
    net = build_net(n, c, s)
    params = net.params["conv1"]
    flops = 2.0 * n * c * c * 9 * s * s  # forward; backward is twice this (dW and dx)

    a = rng.standard_normal((c, c * 9), dtype=np.float32)
    b = rng.standard_normal((n, c * 9, s * s), dtype=np.float32)
    square = rng.standard_normal((2048, 2048), dtype=np.float32)
    t_gemm = best_time(lambda: np.matmul(a, b), args.repeat)
    t_square = best_time(lambda: square @ square, args.repeat)

    t_fwd = best_time(lambda: net(x, training=True), args.repeat)

    def cnnc_step():
        net(x, training=True)
        net.backward(dy)

    t_step = best_time(cnnc_step, args.repeat)

    tx = torch.from_numpy(x).requires_grad_()
    tw = torch.from_numpy(params["weight"].copy()).requires_grad_()
    tb = torch.from_numpy(params["bias"].copy()).requires_grad_()
    tdy = torch.from_numpy(dy)
    with torch.no_grad():
        t_torch_fwd = best_time(lambda: F.conv2d(tx, tw, tb, padding=1), args.repeat)

    def torch_step():
        tx.grad = tw.grad = tb.grad = None
        F.conv2d(tx, tw, tb, padding=1).backward(tdy)

    t_torch_step = best_time(torch_step, args.repeat)
    t_bwd, t_torch_bwd = t_step - t_fwd, t_torch_step - t_torch_fwd
    gf = lambda f, t: f / t / 1e9  # noqa: E731

    print(f"conv 3x3/{c} pad 1 on {n}x{c}x{s}x{s}, float32, {threads} threads (best of {args.repeat})")
    print(f"  BLAS: {', '.join(blas)}; torch {torch.__version__}")
    print(f"  sgemm 2048^3                  {gf(2 * 2048**3, t_square):7.1f} GFLOP/s")
    print(f"  sgemm {c}x{c * 9}x{s * s} x{n}       {gf(flops, t_gemm):7.1f} GFLOP/s  {t_gemm * 1e3:8.1f} ms")
    rows = [("forward", flops, t_fwd, t_torch_fwd), ("backward", 2 * flops, t_bwd, t_torch_bwd),
            ("forward+backward", 3 * flops, t_step, t_torch_step)]  # fmt: skip
    print(f"  {'':18}{'cnnc ms':>9}{'GFLOP/s':>9}{'vs sgemm':>9}{'torch ms':>10}{'GFLOP/s':>9}{'cnnc/torch':>11}")
    for label, f, t, tt in rows:
        print(f"  {label:18}{t * 1e3:9.1f}{gf(f, t):9.1f}{gf(f, t) / gf(flops, t_gemm):9.0%}"
              f"{tt * 1e3:10.1f}{gf(f, tt):9.1f}{t / tt:10.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
