"""The peer for the MILP benchmark: OMLT's big-M formulation (ReluBigMFormulation, with OMLT's
own interval bounds) of the same network, solved by HiGHS through pyomo's appsi_highs.

    python3 bench/omlt_milp.py net.xml time_limit
prints one JSON line: {"seconds": ..., "objective": ..., "status": ...}; seconds are end to end
(building the formulation included), like reluc's.
"""
import json, sys, time
import xml.etree.ElementTree as ET
import numpy as np

t0 = time.perf_counter()
import pyomo.environ as pyo
from omlt import OmltBlock
from omlt.neuralnet import NetworkDefinition, ReluBigMFormulation
from omlt.neuralnet.layer import DenseLayer, InputLayer

path, limit = sys.argv[1], float(sys.argv[2])
root = ET.parse(path).getroot()
n = int(root.find("input").get("size"))
net = NetworkDefinition(scaled_input_bounds={i: (0.0, 1.0) for i in range(n)})
prev = InputLayer([n])
net.add_layer(prev)
for L in root.findall("layer"):
    W = np.array([[float(t) for t in r.text.split()] for r in L.findall("row")])
    b = np.array([float(t) for t in L.find("bias").text.split()])
    act = "relu" if L.get("activation", "relu") == "relu" else "linear"
    layer = DenseLayer(prev.output_size, [W.shape[0]], W.T, b, activation=act)
    net.add_layer(layer)
    net.add_edge(prev, layer)
    prev = layer
m = pyo.ConcreteModel()
m.nn = OmltBlock()
m.nn.build_formulation(ReluBigMFormulation(net))
m.obj = pyo.Objective(expr=m.nn.outputs[0], sense=pyo.maximize)
solver = pyo.SolverFactory("appsi_highs")
solver.config.time_limit = limit
# The same relative gap as reluc's default (HiGHS's own default, 1e-4, may stop at a point
# 1e-4 below the optimum: seen on 10-100-1 seed 3).
solver.config.mip_gap = 1e-6
solver.config.load_solution = False
res = solver.solve(m)
status = str(res.solver.termination_condition)
# Maximization: the problem's lower bound is the incumbent, the upper bound the dual bound.
obj = res.problem.lower_bound
bound = res.problem.upper_bound
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "objective": None if obj is None or abs(obj) == float("inf") else float(obj),
                  "bound": None if bound is None or abs(bound) == float("inf") else float(bound),
                  "status": status}))
