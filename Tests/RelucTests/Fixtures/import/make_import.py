"""Reference outputs for the import tests, computed outside reluc: onnxruntime for the ONNX
files, a plain numpy reading of the NNet format for the NNet files. One point per line:
`x0 x1 ... ; y0 y1 ...`. Also writes unsupported.onnx (a Sigmoid) with onnx.helper.

    python3 Tests/RelucTests/Fixtures/import/make_import.py
The networks are copies of ../shared/networks (see README.md there for sources and licences).
"""
import os
import numpy as np
import onnx, onnxruntime as ort
from onnx import helper, TensorProto

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)


def write(name, xs, ys):
    with open(os.path.join(here, name + ".txt"), "w") as f:
        for x, y in zip(xs, ys):
            f.write(" ".join(repr(float(v)) for v in np.ravel(x)) + " ; "
                    + " ".join(repr(float(v)) for v in np.ravel(y)) + "\n")


def run_onnx(fname, xs):
    s = ort.InferenceSession(os.path.join(here, fname))
    inp = [i for i in s.get_inputs() if i.name not in {t.name for t in onnx.load(os.path.join(here, fname)).graph.initializer}][0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    return [s.run(None, {inp.name: np.asarray(x, dtype=np.float32).reshape(shape)})[0] for x in xs]


def read_nnet(fname):
    rows = [l for l in open(os.path.join(here, fname)) if not l.startswith("//")]
    vals = [[float(v) for v in l.strip().strip(",").split(",") if v.strip()] for l in rows]
    L, nin, nout = int(vals[0][0]), int(vals[0][1]), int(vals[0][2])
    sizes = [int(v) for v in vals[1]]
    mins, maxs, means, ranges = vals[3], vals[4], vals[5], vals[6]
    k = 7
    layers = []
    for l in range(L):
        W = np.array(vals[k:k + sizes[l + 1]]); k += sizes[l + 1]
        b = np.array([v[0] for v in vals[k:k + sizes[l + 1]]]); k += sizes[l + 1]
        layers.append((W, b))
    return layers, mins, maxs, means, ranges, nin


def eval_nnet(net, x):
    layers, mins, maxs, means, ranges, nin = net
    h = (np.clip(x, mins, maxs) - means[:nin]) / ranges[:nin]
    for i, (W, b) in enumerate(layers):
        h = W @ h + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h * ranges[nin] + means[nin]


if __name__ == "__main__":
    # ONNX files: inputs in the network's own units.
    for fname, n, lo, hi in [("ACASXU_run2a_1_1_batch_2000.onnx", 5, -0.5, 0.5), ("fc_2-2-3.onnx", 2, -2, 2),
                             ("test_nano.onnx", 1, -2, 2), ("test_tiny.onnx", 1, -2, 2),
                             ("test_small.onnx", 1, -2, 2), ("mnist-net_256x2.onnx", 784, 0, 1)]:
        count = 5 if n == 784 else 30
        xs = [rng.uniform(lo, hi, n).astype(np.float32).astype(np.float64) for _ in range(count)]
        write(fname.replace(".onnx", "_onnx"), xs, run_onnx(fname, xs))
    for fname in ["ACASXU_experimental_v2a_1_1.nnet", "fc_2-2-3.nnet"]:
        net = read_nnet(fname)
        xs = [rng.uniform(net[1], net[2]) for _ in range(30)]
        write(fname.replace(".nnet", "_nnet"), xs, [eval_nnet(net, x) for x in xs])
    # An unsupported operator.
    X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])
    Y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])
    W = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [1, 0, 0, 1])
    g = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["H"], name="mm"),
                           helper.make_node("Sigmoid", ["H"], ["Y"], name="squash")],
                          "g", [X], [Y], [W])
    onnx.save(helper.make_model(g), os.path.join(here, "unsupported.onnx"))
