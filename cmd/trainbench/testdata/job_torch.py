#!/usr/bin/python3
"""PyTorch version of the whole `vaejob train` job, for cmd/trainbench --job.

Reads the rows from a .npy file (Debian's Python has no Parquet reader,
which favours this script), splits 80/20 at random, fits vaejob's robust
scaler on the training rows, trains vaejob's default model (encoder d-64-32,
latent 8, Laplace likelihood with learned per-feature scales, beta 4, the
10 % highest-loss rows of each minibatch left out from step 200, log-variance
bound 10, Glorot weights, Adam at 1e-3, batch 256, 2,000 steps), scores the
validation rows with the negative ELBO at the posterior mean, takes their
0.99-quantile as the threshold, and exports scaler, network, score and
threshold with torch.onnx. Prints {"seconds": ...} for the work after the
interpreter and torch are loaded; the caller also times the whole process.

    /usr/bin/python3 job_torch.py --data rows.npy --out model.onnx
"""
import argparse
import json
import os
import time

# One thread: on minibatches of 256 rows PyTorch is fastest so (measured on
# the breast-cancer table: 2.8 s of work with one thread, 6.8 s with two).
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np
import torch


class Net(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        lin = lambda a, b: self._glorot(torch.nn.Linear(a, b))
        self.e1, self.e2 = lin(d, 64), lin(64, 32)
        self.mu, self.lv = lin(32, 8), lin(32, 8)
        self.d1, self.d2, self.out = lin(8, 32), lin(32, 64), lin(64, d)
        self.log_scale = torch.nn.Parameter(torch.zeros(d))

    @staticmethod
    def _glorot(l):
        torch.nn.init.xavier_uniform_(l.weight)
        torch.nn.init.zeros_(l.bias)
        return l

    def encode(self, x):
        h = torch.relu(self.e2(torch.relu(self.e1(x))))
        return self.mu(h), 10 * torch.tanh(self.lv(h) / 10)

    def decode(self, z):
        return self.out(torch.relu(self.d2(torch.relu(self.d1(z)))))

    def scale(self):
        return torch.exp(self.log_scale) + 1e-3


class Scorer(torch.nn.Module):
    """Raw rows in, score and alert flag out, as vaejob's ONNX graph."""

    def __init__(self, net, offset, scale, threshold):
        super().__init__()
        self.net = net
        self.register_buffer("offset", torch.tensor(offset))
        self.register_buffer("mul", torch.tensor(scale))
        self.register_buffer("threshold", torch.tensor(threshold))

    def forward(self, x):
        s = (x - self.offset) * self.mul
        mu, lv = self.net.encode(s)
        rec = (torch.abs(s - self.net.decode(mu)) / self.net.scale() + torch.log(self.net.scale())).sum(1)
        kl = 0.5 * (mu ** 2 + torch.exp(lv) - lv - 1).sum(1)
        score = rec + kl
        return score, (score > self.threshold) | torch.isnan(score)


def robust_scaler(x):
    lo, hi = x.min(0), x.max(0)
    med = np.median(x, 0)
    q1, q3 = np.percentile(x, 25, 0), np.percentile(x, 75, 0)
    spread = q3 - q1
    std = x.std(0)
    spread = np.where(spread > 0, spread, np.where(std > 0, std, hi - lo))
    spread = np.maximum(spread, 1e-3 * (hi - lo))
    scale = np.where(spread > 0, 1 / (4 * spread), 1.0)
    return med.astype(np.float32), scale.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    start = time.perf_counter()
    torch.manual_seed(a.seed)
    rng = np.random.RandomState(a.seed)
    x = np.load(a.data).astype(np.float32)
    n, d = x.shape
    perm = rng.permutation(n)
    nval = int(round(0.2 * n))
    train, val = x[perm[nval:]], x[perm[:nval]]
    offset, scale = robust_scaler(train)
    xt = torch.from_numpy((train - offset) * scale)
    net = Net(d)
    with torch.no_grad():  # initial log-scales: the mean absolute deviation
        net.log_scale.copy_(torch.log((xt - xt.median(0).values).abs().mean(0) + 1e-6))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    step, b = 0, 256
    while step < 2000:
        order = torch.randperm(len(xt))
        for s in range(0, len(xt), b):
            if step >= 2000:
                break
            xb = xt[order[s:s + b]]
            mu, lv = net.encode(xb)
            z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
            o = net.decode(z)
            rec = (torch.abs(xb - o) / net.scale() + torch.log(net.scale())).sum(1)
            kl = 0.5 * (mu ** 2 + torch.exp(lv) - lv - 1).sum(1)
            rows = rec + 4.0 * kl
            if step >= 200:
                rows = torch.topk(rows, rows.shape[0] - int(0.1 * rows.shape[0]), largest=False).values
            loss = rows.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
    scorer = Scorer(net, offset, scale, 0.0)
    with torch.no_grad():
        scores, _ = scorer(torch.from_numpy(val))
    threshold = float(np.quantile(scores.numpy(), 0.99))
    scorer.threshold.fill_(threshold)
    torch.onnx.export(scorer, torch.from_numpy(val[:4]), a.out, input_names=["features"],
                      output_names=["score", "is_anomaly"], dynamic_axes={"features": {0: "n"}}, opset_version=13)
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": n, "threshold": threshold}))


if __name__ == "__main__":
    main()
