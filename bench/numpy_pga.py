"""The peer for the gradient benchmark: the same projected-gradient loop in numpy (one start):
forward pass, backward pass, step, clamp to the box. Prints iterations per second.

    python3 bench/numpy_pga.py net.xml iterations [batch [float32]]

With `float32` the weights and points are single precision (sgemm), as reluc's
`lane_precision = single`.
"""
import json, sys, time
import xml.etree.ElementTree as ET
import numpy as np

root = ET.parse(sys.argv[1]).getroot()
iters = int(sys.argv[2])
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 0  # > 0: that many points per iteration
dtype = np.float32 if len(sys.argv) > 4 and sys.argv[4] == "float32" else np.float64
layers = []
for L in root.findall("layer"):
    W = np.array([[float(t) for t in r.text.split()] for r in L.findall("row")])
    b = np.array([float(t) for t in L.find("bias").text.split()])
    layers.append((np.ascontiguousarray(W, dtype=dtype), b.astype(dtype),
                   L.get("activation", "relu") == "relu"))
n = layers[0][0].shape[1]
x = np.full((n, batch), 0.5, dtype=dtype) if batch else np.full(n, 0.5, dtype=dtype)
c = np.ones((layers[-1][0].shape[0], batch), dtype=dtype) if batch else np.ones(layers[-1][0].shape[0], dtype=dtype)
eta = dtype(1e-3)
t0 = time.perf_counter()
for _ in range(iters):
    masks = []
    h = x
    for W, b, relu in layers:
        z = W @ h + (b[:, None] if batch else b)
        if relu:
            m = z > 0
            masks.append(m)
            h = z * m
        else:
            masks.append(None)
            h = z
    g = c
    for (W, b, relu), m in zip(reversed(layers), reversed(masks)):
        if m is not None:
            g = g * m
        g = W.T @ g
    x = np.clip(x + eta * g, 0.0, 1.0)
dt = time.perf_counter() - t0
print(json.dumps({"iterations_per_second": iters / dt, "point_iterations_per_second": iters * max(1, batch) / dt}))
