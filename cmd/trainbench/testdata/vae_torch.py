#!/usr/bin/python3
"""PyTorch reference for vaejob's training benchmark (cmd/trainbench).

Trains the same network as vaejob's preset on the same (already scaled) rows
and prints one JSON object with the training time. Run with Debian's
interpreter, which has python3-torch:

    /usr/bin/python3 vae_torch.py --data rows.npy --model tutorial --epochs 20 --threads 2

Models:
  tutorial  encoder d-32-16, latent 10, decoder 10-16-32-d with a sigmoid
            output; loss = BCE averaged over batch x features + KL summed over
            the batch (the seed tutorial, collapse and all); PyTorch's default
            Linear initialisation.
  default   encoder d-64-32, latent 8, mirrored decoder with a linear output;
            Laplace likelihood with a learned per-feature log-scale (floor
            1e-3); balanced ELBO with beta 4; each minibatch's 10 % highest-
            loss rows left out from step 200; log-variance bounded by 10 tanh;
            Glorot-uniform weights, zero biases.
Both: Adam at 1e-3, minibatches of --batch rows reshuffled every epoch, the
last partial batch included.
"""
import argparse
import json
import math
import os
import time

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np
import torch


def glorot(lin):
    torch.nn.init.xavier_uniform_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    return lin


class VAE(torch.nn.Module):
    def __init__(self, d, model):
        super().__init__()
        self.model = model
        if model == "tutorial":
            h1, h2, latent = 32, 16, 10
            lin = torch.nn.Linear
        else:
            h1, h2, latent = 64, 32, 8
            lin = lambda a, b: glorot(torch.nn.Linear(a, b))
        self.e1, self.e2 = lin(d, h1), lin(h1, h2)
        self.mu, self.lv = lin(h2, latent), lin(h2, latent)
        self.d1, self.d2, self.out = lin(latent, h2), lin(h2, h1), lin(h1, d)
        self.log_scale = torch.nn.Parameter(torch.zeros(d)) if model == "default" else None

    def forward(self, x, eps):
        h = torch.relu(self.e2(torch.relu(self.e1(x))))
        mu, lv = self.mu(h), self.lv(h)
        if self.model == "default":
            lv = 10 * torch.tanh(lv / 10)
        z = mu + torch.exp(0.5 * lv) * eps
        o = self.out(torch.relu(self.d2(torch.relu(self.d1(z)))))
        return o, mu, lv


def row_losses(m, x, o, mu, lv):
    kl = 0.5 * (mu ** 2 + torch.exp(lv) - lv - 1).sum(1)
    if m.model == "tutorial":
        rec = torch.nn.functional.binary_cross_entropy_with_logits(o, x, reduction="none").sum(1)
        return rec, kl
    b = torch.exp(m.log_scale) + 1e-3
    rec = (torch.abs(x - o) / b + torch.log(b)).sum(1)
    return rec, kl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", choices=["tutorial", "default"], default="tutorial")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x_all = torch.from_numpy(np.load(a.data).astype(np.float32))
    n, d = x_all.shape
    m = VAE(d, a.model)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    latent = m.mu.out_features
    step = 0
    per_epoch = []
    start = time.perf_counter()
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for s in range(0, n, a.batch):
            xb = x_all[perm[s:s + a.batch]]
            eps = torch.randn(xb.shape[0], latent)
            o, mu, lv = m(xb, eps)
            rec, kl = row_losses(m, xb, o, mu, lv)
            if a.model == "tutorial":
                loss = rec.sum() / (xb.shape[0] * d) + kl.sum()
            else:
                rows = rec + 4.0 * kl
                if step >= 200:
                    keep = rows.shape[0] - int(0.1 * rows.shape[0])
                    rows = torch.topk(rows, keep, largest=False).values
                loss = rows.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        per_epoch.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    print(json.dumps({"rows": n, "d": d, "epochs": a.epochs, "steps": step, "seconds": total,
                      "median_epoch_seconds": float(np.median(per_epoch)), "torch": torch.__version__,
                      "threads": a.threads}))


if __name__ == "__main__":
    main()
