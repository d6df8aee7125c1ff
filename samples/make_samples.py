"""Regenerates the sample networks (deterministic): python3 samples/make_samples.py

- peaks.xml: a 2-16-16-1 ReLU network fitted (numpy, full-batch Adam) to MATLAB's peaks function
  on [-3, 3]^2, with input normalization x/3.
- random_10x100x100.xml: a random 10-100-100-1 network (PyTorch-style init, seed 7).
- reactor.xml: a 3-24-24-2 ReLU surrogate of a consecutive reaction A -> B -> C in a batch
  reactor (Arrhenius rates, pressure-dependent first step): inputs temperature (K), pressure
  (bar), residence time (min); outputs the yield of B and the impurity C (fractions).
- reactor_cost.xml: a 3-16-1 surrogate of the operating cost per batch (heating, compression,
  occupancy) over the same inputs.
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


def train(X, Y, sizes, steps, seed, lr=0.01):
    """Full-batch Adam on the mean squared error of a ReLU network (last layer linear)."""
    rng = np.random.default_rng(seed)
    L = len(sizes) - 1
    params = []
    for k in range(L):
        bound = 1 / np.sqrt(sizes[k])
        params.append(rng.uniform(-bound, bound, (sizes[k + 1], sizes[k])))
        params.append(rng.uniform(-bound, bound, sizes[k + 1]))
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2 = 0.9, 0.999
    for t in range(1, steps + 1):
        hs, zs = [X], []
        for k in range(L):
            z = hs[-1] @ params[2 * k].T + params[2 * k + 1]
            zs.append(z)
            hs.append(np.maximum(z, 0) if k < L - 1 else z)
        err = hs[-1] - Y
        d = 2 * err / err.size
        grads = [None] * (2 * L)
        for k in reversed(range(L)):
            grads[2 * k] = d.T @ hs[k]
            grads[2 * k + 1] = d.sum(0)
            if k > 0:
                d = (d @ params[2 * k]) * (zs[k - 1] > 0)
        for i in range(2 * L):
            m[i] = b1 * m[i] + (1 - b1) * grads[i]
            v[i] = b2 * v[i] + (1 - b2) * grads[i] ** 2
            mh = m[i] / (1 - b1 ** t); vh = v[i] / (1 - b2 ** t)
            params[i] -= lr * mh / (np.sqrt(vh) + 1e-8)
    rmse = np.sqrt(np.mean(err ** 2, axis=0))
    layers = [(params[2 * k], params[2 * k + 1], "relu" if k < L - 1 else "linear") for k in range(L)]
    return layers, rmse


REACTOR_LO, REACTOR_HI = np.array([300.0, 1.0, 1.0]), np.array([400.0, 10.0, 60.0])


def reactor(T, P, tau):
    """A -> B -> C, first order, batch: fractions of B (yield) and C (impurity) after tau min."""
    R = 8.314
    k1 = 2.0e5 * np.exp(-50000 / (R * T)) * np.sqrt(P)    # 1/min
    k2 = 5.0e7 * np.exp(-75000 / (R * T))
    a = np.exp(-k1 * tau)
    b = k1 / (k2 - k1) * (np.exp(-k1 * tau) - np.exp(-k2 * tau))
    return np.stack([b, 1 - a - b], axis=-1)


def reactor_cost(T, P, tau):
    """Operating cost per batch (arbitrary units): heating, compression, occupancy."""
    return (0.02 * (T - 300) + 0.3 * np.log(P) + 0.01 * tau + 0.0004 * (T - 300) * tau / 10)[:, None]


def reactor_samples(seed):
    rng = np.random.default_rng(seed)
    X = REACTOR_LO + (REACTOR_HI - REACTOR_LO) * rng.uniform(size=(3000, 3))
    return X, (X - (REACTOR_LO + REACTOR_HI) / 2) / ((REACTOR_HI - REACTOR_LO) / 2)


if __name__ == "__main__":
    mean, scale = (REACTOR_LO + REACTOR_HI) / 2, (REACTOR_HI - REACTOR_LO) / 2
    X, Xn = reactor_samples(1)
    layers, rmse = train(Xn, reactor(*X.T), [3, 24, 24, 2], 6000, seed=2)
    print(f"reactor fit: rmse yield {rmse[0]:.4f}, impurity {rmse[1]:.4f}", file=sys.stderr)
    write_network(os.path.join(here, "reactor.xml"), layers, name="reactor",
                  lower=list(REACTOR_LO), upper=list(REACTOR_HI), input_mean=list(mean),
                  input_scale=list(scale))
    layers, rmse = train(Xn, reactor_cost(*X.T), [3, 16, 1], 4000, seed=3)
    print(f"reactor cost fit: rmse {rmse[0]:.4f}", file=sys.stderr)
    write_network(os.path.join(here, "reactor_cost.xml"), layers, name="reactor_cost",
                  output_name="cost", lower=list(REACTOR_LO), upper=list(REACTOR_HI),
                  input_mean=list(mean), input_scale=list(scale))

    if "--reactor-only" in sys.argv:
        sys.exit(0)
    write_network(os.path.join(here, "peaks.xml"), train_peaks(), name="peaks",
                  lower=[-3, -3], upper=[3, 3], input_mean=[0, 0], input_scale=[3, 3])
    write_network(os.path.join(here, "random_10x100x100.xml"),
                  random_network([10, 100, 100, 1], seed=7), name="random_10x100x100")
