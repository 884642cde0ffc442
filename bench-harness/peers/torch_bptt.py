#!/usr/bin/env python3
"""PyTorch peer: the paper's network (80→120 ALIF→12, docs/model.md) trained by BPTT with eager autograd, float32.

Prints one JSON object per measurement with the same keys as `snnbench bench-train --json`, so both can be compared
side by side. The spike uses the multi-Gaussian pseudo-derivative through a custom autograd Function; Adam is
torch.optim.Adam with docs/model.md's constants (note: torch puts eps outside the root like the C code, but applies its
bias correction to m and v separately — the same update in exact arithmetic).

With `--compile MODE` the loss and its backward run through `torch.compile(mode=MODE)` (Dynamo unrolls the T loop;
Inductor fuses it); the compile happens in the warm-up steps and is reported as `compile_s`, outside the timing.
`--reps R` times R runs in one process and reports the median (one compile for all of them). `--compile-timeout S`
(default 120) gives up on a compile that takes longer: exit status 1 and a line on stderr saying so. `--warmup-s S`
runs untimed steps for S seconds after the warm-up (and compile) before the timed runs, as `snnbench bench` does for
its own contenders.

usage: torch_bptt.py [--batch 32] [--steps-t 100] [--samples 256] [--device cpu|cuda] [--threads N]
                     [--compile default|reduce-overhead|max-autotune|max-autotune-no-cudagraphs] [--reps 1]
                     [--compile-timeout 120] [--warmup-s 0]
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import torch

N_IN, N_REC, N_OUT = 80, 120, 12
ALPHA, RHO, KAPPA = math.exp(-1 / 5), math.exp(-1 / 150), math.exp(-1 / 10)
V_TH, BETA = 1.6, 0.184
GAMMA, SIGMA, SCALE, H = 0.5, 0.5, 6.0, 0.15


def gauss(u, mu, s):
    return torch.exp(-((u - mu) ** 2) / (2 * s * s)) / (math.sqrt(2 * math.pi) * s)


class Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        w = SCALE * SIGMA
        psi = GAMMA * ((1 + H) * gauss(u, 0.0, SIGMA) - H * gauss(u, SIGMA, w) - H * gauss(u, -SIGMA, w))
        return g * psi


def loss_fn(w_in, w_rec, w_out, x, y, l2):
    b, t_steps, _ = x.shape
    v = torch.zeros(b, N_REC, device=x.device)
    a = torch.zeros_like(v)
    z = torch.zeros_like(v)
    zbar = torch.zeros_like(v)
    zsum = torch.zeros_like(v)
    cur_in = x @ w_in  # [B, T, N_REC]
    for t in range(t_steps):
        a = RHO * a + (1 - RHO) * z
        thr = V_TH + BETA * a
        v = ALPHA * v + (1 - ALPHA) * (cur_in[:, t] + z @ w_rec) - z * thr
        z = Spike.apply(v - thr)
        zbar = KAPPA * zbar + z
        zsum = zsum + zbar
    logits = zsum @ w_out / t_steps
    ce = torch.nn.functional.cross_entropy(logits, y)
    return ce + l2 * (w_in.square().sum() + w_rec.square().sum() + w_out.square().sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps-t", type=int, default=100)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--compile", default=None, metavar="MODE")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--compile-timeout", type=int, default=120)
    ap.add_argument("--warmup-s", type=float, default=0.0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    w = [torch.randn(N_IN, N_REC, generator=g) / math.sqrt(N_IN), torch.randn(N_REC, N_REC, generator=g) / math.sqrt(N_REC),
         torch.randn(N_REC, N_OUT, generator=g) / math.sqrt(N_REC)]
    w = [p.to(dev).requires_grad_() for p in w]
    # Smooth unit-std features (AR(1), r = 0.9) at gain 1.3, like `snnbench random-batch`.
    x = torch.zeros(args.batch, args.steps_t, N_IN)
    s = torch.randn(args.batch, N_IN, generator=g)
    for t in range(args.steps_t):
        if t:
            s = 0.9 * s + math.sqrt(1 - 0.81) * torch.randn(args.batch, N_IN, generator=g)
        x[:, t] = 1.3 * s
    x = x.to(dev)
    y = torch.randint(0, N_OUT, (args.batch,), generator=g).to(dev)
    opt = torch.optim.Adam(w, lr=0.01, betas=(0.9, 0.999), eps=1e-5)

    loss_of = torch.compile(loss_fn, mode=args.compile) if args.compile else loss_fn

    def step():
        opt.zero_grad()
        loss = loss_of(*w, x, y, 1e-5)
        loss.backward()
        opt.step()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def give_up(*_):
        print(f"torch.compile took longer than --compile-timeout {args.compile_timeout} s", file=sys.stderr, flush=True)
        os._exit(1)

    if args.compile:
        signal.signal(signal.SIGALRM, give_up)
        signal.alarm(args.compile_timeout)
    t0 = time.perf_counter()
    for _ in range(3 if args.compile else 1):  # warm-up (compiled: forward and backward graphs built and cached)
        step()
    sync()
    signal.alarm(0)
    compile_s = time.perf_counter() - t0 if args.compile else None
    # Untimed steps for --warmup-s seconds: a CPU that sat idle (e.g. while this process imported torch) runs slower
    # for a while, and `snnbench bench` gives its own contenders the same warm-up before each timed run.
    w0 = time.perf_counter()
    while time.perf_counter() - w0 < args.warmup_s:
        step()
    sync()
    steps = max(1, -(-args.samples // args.batch))
    walls = []
    for _ in range(max(1, args.reps)):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        walls.append(time.perf_counter() - t0)
    wall = sorted(walls)[len(walls) // 2]
    n = steps * args.batch
    backend = "torch-" + dev.type + ("-compile" if args.compile else "")
    how = f"torch.compile mode={args.compile}" if args.compile else "eager"
    print(json.dumps({
        "samples_per_s": n / wall, "wall_time_s": wall, "gpu_time_s": None, "bytes_total": None, "bytes_history": None,
        "bytes_input": None,
        "adapter": f"torch {torch.__version__} {dev.type}"
        + (f" {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else "")
        + f" ({torch.get_num_threads()} threads, {how})",
        "rule": "bptt", "backend": backend, "batch": args.batch, "t_steps": args.steps_t, "samples": n,
        "time_per_sample_ms": 1e3 * wall / n, "reps": len(walls), "walls_s": walls, "compile_s": compile_s,
        "warmup_s": args.warmup_s,
    }))


if __name__ == "__main__":
    main()
