"""What the benchmark scripts share: paths, running a command that prints JSON, model files."""
import json, os, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, os.path.join(root, "scripts"))
from netxml import write_network, random_network

out = os.path.join(here, "out")
os.makedirs(out, exist_ok=True)
reluc = os.path.join(root, ".build", "release", "reluc")
rbench = os.path.join(root, ".build", "release", "reluc-bench")


def run_json(cmd, timeout=None):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        # pyomo's appsi_highs does not always honour its time limit: stop it ourselves.
        return {"status": "killed_after_timeout", "objective": None}, time.perf_counter() - t0
    wall = time.perf_counter() - t0
    try:
        return json.loads(p.stdout), wall
    except json.JSONDecodeError:
        raise RuntimeError(f"{cmd}: {p.stdout} {p.stderr}")


def model(net_path, extra="", tag=""):
    """Writes the model `maximize y[0] over [0,1]^n` (plus `extra`) beside the network, as
    NAME.rmod or, with a tag, NAME_TAG.rmod; returns its path."""
    path = net_path.replace(".xml", f"_{tag}.rmod" if tag else ".rmod")
    with open(path, "w") as f:
        f.write(f'network "{os.path.basename(net_path)}"\nmaximize y[0]\nconstraint 0 <= x <= 1\n{extra}')
    return path


def output_row_instance(n, hidden, seed):
    """The instances of bench/outputs.py and outputs_penalty.py: a random network (PyTorch-style
    init) with two outputs, written to bench/out, and y over 10000 uniform samples of [0,1]^n.
    Oriented so that a row on y1 can bind: when y1 at the best sample of y0 is below its median,
    y1 is negated (the row is then y1 >= -level on the network as drawn). Returns the network's
    path, the model's path (option seed) and the samples' outputs."""
    import numpy as np
    from netxml import forward
    name = f"outputs_{n}-{'-'.join(map(str, hidden))}-2_s{seed}"
    path = os.path.join(out, name + ".xml")
    layers = random_network([n] + hidden + [2], seed)
    samples = np.random.default_rng(seed).random((10000, n))
    ys = np.array([forward(layers, x) for x in samples])
    if ys[np.argmax(ys[:, 0]), 1] < np.median(ys[:, 1]):
        W, b, act = layers[-1]
        W, b = W.copy(), b.copy()
        W[1] *= -1
        b[1] *= -1
        layers[-1] = (W, b, act)
        ys[:, 1] *= -1
    write_network(path, layers, name=name)
    return path, model(path, f"option seed = {seed}\n"), ys
