#!/usr/bin/env python3
"""PyTorch peer: the paper's network (80→120 ALIF→12, docs/model.md) trained by BPTT with eager autograd, float32.

Prints one JSON object per measurement with the same keys as `snnbench bench-train --json`, so both can be compared
side by side. The spike uses the multi-Gaussian pseudo-derivative through a custom autograd Function; Adam is
torch.optim.Adam with docs/model.md's constants (note: torch puts eps outside the root like the C code, but applies its
bias correction to m and v separately — the same update in exact arithmetic).

usage: torch_bptt.py [--batch 32] [--steps-t 100] [--samples 256] [--device cpu|cuda] [--threads N]
"""
import argparse
import json
import math
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

    def step():
        opt.zero_grad()
        loss = loss_fn(*w, x, y, 1e-5)
        loss.backward()
        opt.step()

    step()  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize()
    steps = max(1, -(-args.samples // args.batch))
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    n = steps * args.batch
    print(json.dumps({
        "samples_per_s": n / wall, "wall_time_s": wall, "gpu_time_s": None, "bytes_total": None, "bytes_history": None,
        "bytes_input": None, "adapter": f"torch {torch.__version__} {dev.type} ({torch.get_num_threads()} threads)",
        "rule": "bptt", "backend": "torch-" + dev.type, "batch": args.batch, "t_steps": args.steps_t, "samples": n,
        "time_per_sample_ms": 1e3 * wall / n,
    }))


if __name__ == "__main__":
    main()
