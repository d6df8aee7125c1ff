"""Write and evaluate reluc XML network files with numpy (independent of the Swift code).

Used by the sample generators, the test-fixture generators and the benchmarks.
"""
import numpy as np


def fmt(v):
    return repr(float(v))


def write_network(path, layers, input_name="x", output_name="y", name="net",
                  lower=None, upper=None, input_mean=None, input_scale=None,
                  output_mean=None, output_scale=None):
    """layers: list of (W [out x in], b [out], activation 'relu' | 'linear')."""
    n_in = layers[0][0].shape[1]
    n_out = layers[-1][0].shape[0]
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<network name="{name}" version="1">',
           f'  <input name="{input_name}" size="{n_in}">']
    for tag, vec in (("lower", lower), ("upper", upper), ("mean", input_mean), ("scale", input_scale)):
        if vec is not None:
            out.append(f'    <{tag}>' + " ".join(fmt(v) for v in vec) + f'</{tag}>')
    out.append('  </input>')
    out.append(f'  <output name="{output_name}" size="{n_out}">')
    for tag, vec in (("mean", output_mean), ("scale", output_scale)):
        if vec is not None:
            out.append(f'    <{tag}>' + " ".join(fmt(v) for v in vec) + f'</{tag}>')
    out.append('  </output>')
    for k, (W, b, act) in enumerate(layers):
        out.append(f'  <layer name="L{k + 1}" inputs="{W.shape[1]}" outputs="{W.shape[0]}" activation="{act}">')
        for row in W:
            out.append('    <row>' + " ".join(fmt(v) for v in row) + '</row>')
        out.append('    <bias>' + " ".join(fmt(v) for v in b) + '</bias>')
        out.append('  </layer>')
    out.append('</network>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def forward(layers, x, input_mean=None, input_scale=None, output_mean=None, output_scale=None):
    h = np.asarray(x, dtype=float)
    if input_mean is not None or input_scale is not None:
        m = np.zeros_like(h) if input_mean is None else np.asarray(input_mean)
        s = np.ones_like(h) if input_scale is None else np.asarray(input_scale)
        h = (h - m) / s
    for W, b, act in layers:
        h = W @ h + b
        if act == "relu":
            h = np.maximum(h, 0)
    if output_mean is not None or output_scale is not None:
        m = np.zeros_like(h) if output_mean is None else np.asarray(output_mean)
        s = np.ones_like(h) if output_scale is None else np.asarray(output_scale)
        h = h * s + m
    return h


def random_network(sizes, seed, last="linear"):
    """PyTorch-style init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases."""
    rng = np.random.default_rng(seed)
    layers = []
    for k in range(len(sizes) - 1):
        bound = 1 / np.sqrt(sizes[k])
        W = rng.uniform(-bound, bound, size=(sizes[k + 1], sizes[k]))
        b = rng.uniform(-bound, bound, size=sizes[k + 1])
        act = "relu" if k < len(sizes) - 2 else last
        layers.append((W, b, act))
    return layers


def relu_count(layers):
    """The number of hidden ReLUs."""
    return sum(W.shape[0] for W, _, act in layers if act == "relu")


def patterns(layers):
    """Every activation pattern of the hidden ReLUs (tuples of 0/1, layer by layer)."""
    import itertools
    return itertools.product([0, 1], repeat=relu_count(layers))


def pattern_region(layers, pattern):
    """The linear region of an activation pattern, for the fixture generators that enumerate
    patterns: per layer ((Z, z), (M, m)), the affine maps of the network's input to the layer's
    pre-activation (Z x + z) and output (M x + m) on the pattern, and the rows G x <= g (one per
    ReLU: z >= 0 when active, z <= 0 when not) that describe the region."""
    n = layers[0][0].shape[1]
    M, m = np.eye(n), np.zeros(n)
    maps, rows, rhs = [], [], []
    k = 0
    for W, b, act in layers:
        Z, z = W @ M, W @ m + b
        if act == "relu":
            s = np.array(pattern[k:k + W.shape[0]], dtype=float)
            k += W.shape[0]
            for i in range(W.shape[0]):
                if s[i]:   # z >= 0  ->  -Z x <= z
                    rows.append(-Z[i]); rhs.append(z[i])
                else:      # z <= 0
                    rows.append(Z[i]); rhs.append(-z[i])
            M, m = Z * s[:, None], z * s
        else:
            M, m = Z, z
        maps.append(((Z, z), (M, m)))
    return maps, rows, rhs
