"""Regenerates the sample networks (deterministic): python3 samples/make_samples.py

- peaks.xml: a 2-16-16-1 ReLU network fitted (numpy, full-batch Adam) to MATLAB's peaks function
  on [-3, 3]^2, with input normalization x/3.
- random_10x100x100.xml: a random 10-100-100-1 network (PyTorch-style init, seed 7).
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
from netxml import write_network, random_network

here = os.path.dirname(os.path.abspath(__file__))


def peaks(x, y):
    return (3 * (1 - x) ** 2 * np.exp(-x ** 2 - (y + 1) ** 2)
            - 10 * (x / 5 - x ** 3 - y ** 5) * np.exp(-x ** 2 - y ** 2)
            - np.exp(-(x + 1) ** 2 - y ** 2) / 3)


def train_peaks():
    rng = np.random.default_rng(0)
    g = np.linspace(-3, 3, 41)
    X = np.array([(a, b) for a in g for b in g])
    Y = peaks(X[:, 0], X[:, 1])
    Xn = X / 3.0
    sizes = [2, 16, 16, 1]
    params = []
    for k in range(3):
        bound = 1 / np.sqrt(sizes[k])
        params.append(rng.uniform(-bound, bound, (sizes[k + 1], sizes[k])))
        params.append(rng.uniform(-bound, bound, sizes[k + 1]))
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2 = 0.01, 0.9, 0.999
    for t in range(1, 4001):
        W1, c1, W2, c2, W3, c3 = params
        z1 = Xn @ W1.T + c1; h1 = np.maximum(z1, 0)
        z2 = h1 @ W2.T + c2; h2 = np.maximum(z2, 0)
        out = (h2 @ W3.T + c3)[:, 0]
        err = out - Y
        n = len(Y)
        d3 = (2 * err / n)[:, None]
        gW3 = d3.T @ h2; gc3 = d3.sum(0)
        d2 = (d3 @ W3) * (z2 > 0)
        gW2 = d2.T @ h1; gc2 = d2.sum(0)
        d1 = (d2 @ W2) * (z1 > 0)
        gW1 = d1.T @ Xn; gc1 = d1.sum(0)
        grads = [gW1, gc1, gW2, gc2, gW3, gc3]
        for i in range(6):
            m[i] = b1 * m[i] + (1 - b1) * grads[i]
            v[i] = b2 * v[i] + (1 - b2) * grads[i] ** 2
            mh = m[i] / (1 - b1 ** t); vh = v[i] / (1 - b2 ** t)
            params[i] -= lr * mh / (np.sqrt(vh) + 1e-8)
    W1, c1, W2, c2, W3, c3 = params
    layers = [(W1, c1, "relu"), (W2, c2, "relu"), (W3, c3, "linear")]
    rmse = np.sqrt(np.mean(err ** 2))
    print(f"peaks fit: rmse {rmse:.3f} over {len(Y)} grid points", file=sys.stderr)
    return layers


if __name__ == "__main__":
    write_network(os.path.join(here, "peaks.xml"), train_peaks(), name="peaks",
                  lower=[-3, -3], upper=[3, 3], input_mean=[0, 0], input_scale=[3, 3])
    write_network(os.path.join(here, "random_10x100x100.xml"),
                  random_network([10, 100, 100, 1], seed=7), name="random_10x100x100")
