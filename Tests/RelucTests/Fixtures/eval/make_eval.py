"""Eval fixtures computed by numpy (independent of reluc): for each network, random points and
the outputs of a forward pass, one point per line: `x0 x1 ... ; y0 y1 ...`.

    python3 Tests/RelucTests/Fixtures/eval/make_eval.py
"""
import os, sys
import numpy as np
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "..", "scripts"))
from netxml import write_network, random_network, forward
import xml.etree.ElementTree as ET


def read_xml(path):
    """A plain reader (ElementTree) for the sample networks."""
    root = ET.parse(path).getroot()
    def vec(el, tag):
        e = el.find(tag)
        return None if e is None else np.array([float(t) for t in e.text.split()])
    inp, out = root.find("input"), root.find("output")
    layers = []
    for L in root.findall("layer"):
        W = np.array([[float(t) for t in r.text.split()] for r in L.findall("row")])
        b = vec(L, "bias")
        layers.append((W, b, L.get("activation", "relu")))
    return layers, dict(input_mean=vec(inp, "mean"), input_scale=vec(inp, "scale"),
                        output_mean=vec(out, "mean"), output_scale=vec(out, "scale"))


def dump(name, layers, norm, n_points, lo, hi, seed):
    rng = np.random.default_rng(seed)
    with open(os.path.join(here, name + ".txt"), "w") as f:
        for _ in range(n_points):
            x = rng.uniform(lo, hi)
            y = forward(layers, x, **norm)
            f.write(" ".join(repr(float(v)) for v in x) + " ; " + " ".join(repr(float(v)) for v in y) + "\n")


if __name__ == "__main__":
    root = os.path.join(here, "..", "..", "..", "..")
    layers, norm = read_xml(os.path.join(root, "samples", "peaks.xml"))
    dump("peaks", layers, norm, 50, [-3, -3], [3, 3], 1)
    # A network with input and output normalization.
    layers = random_network([3, 7, 4], seed=11)
    norm = dict(input_mean=[0.5, -1.0, 2.0], input_scale=[2.0, 0.5, 4.0],
                output_mean=[1.0, 0.0, -2.0, 3.0], output_scale=[10.0, 0.1, 1.0, -2.0])
    write_network(os.path.join(here, "normalized.xml"), layers, name="normalized",
                  lower=[-1, -3, 0], upper=[2, 1, 5], **norm)
    dump("normalized", layers, norm, 50, [-1, -3, 0], [2, 1, 5], 2)
    with open(os.path.join(here, "normalized.rmod"), "w") as f:
        f.write('network "normalized.xml"\n\nmaximize y[0] + y[3]\n')
    with open(os.path.join(here, "peaks.rmod"), "w") as f:
        f.write('network "../../../../samples/peaks.xml"\n\nmaximize y[0]\n')
