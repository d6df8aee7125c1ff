"""Graph-shaped ONNX fixtures for the importer (issue 19, "wrong networks"), built with onnx.helper.

Valid but tricky graphs (the importer must follow the graph, not the list of nodes), with
onnxruntime's outputs at 20 points in `<name>_onnx.txt` (the format of make_import.py):
    graph_preact_output     the declared output is a pre-activation; an unused Relu follows it
    graph_intermediate      the declared output is an intermediate tensor of size 2; more layers follow
    graph_side_branches     unused side branches off the input and off hidden tensors (one a Sigmoid)
    graph_out_of_order      the nodes listed backwards; Unsqueeze/Squeeze with axes attributes (opset 11)
Invalid graphs (the importer must refuse them, naming the node or the tensors):
    bad_undefined_input     node 'mm2' reads 'ghost', which nothing defines (onnxruntime refuses it)
    bad_undefined_unused    the same in a node the output does not depend on
    bad_cycle               'loop_a' -> 'loop_b' -> 'loop_a' (onnxruntime refuses it)
    bad_self_cycle          'selfish' reads its own output
    bad_defined_twice       'H' is the output of 'mm' and of 'mm_again'
    bad_shadows_initializer node 'shadow' writes the initializer 'W2'
    bad_two_outputs         outputs 'Y' and 'Z'
    bad_residual            'skip' adds two tensors computed from the input (not a chain)
    bad_broadcast           a bias of shape [2, 1] on a [1, 2] tensor: the output has 4 values

    python3 Tests/RelucTests/Fixtures/import/make_hostile_onnx.py
"""
import os
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(19)


def const(name, shape):
    return numpy_helper.from_array(rng.uniform(-1, 1, shape).astype(np.float32), name)


def vinfo(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def save(name, nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    onnx.save(m, os.path.join(here, name + ".onnx"))
    return m


def reference(name, n):
    s = ort.InferenceSession(os.path.join(here, name + ".onnx"))
    shape = [d if isinstance(d, int) else 1 for d in s.get_inputs()[0].shape]
    with open(os.path.join(here, name + "_onnx.txt"), "w") as f:
        for _ in range(20):
            x = rng.uniform(-2, 2, n).astype(np.float32).astype(np.float64)
            y = s.run(None, {s.get_inputs()[0].name: x.astype(np.float32).reshape(shape)})[0]
            f.write(" ".join(repr(float(v)) for v in x) + " ; " + " ".join(repr(float(v)) for v in np.ravel(y)) + "\n")


def node(op, ins, outs, name, **attrs):
    return helper.make_node(op, ins, outs, name=name, **attrs)


X2 = vinfo("X", [1, 2])
X3 = vinfo("X", [1, 3])

# Valid graphs.
save("graph_preact_output",
     [node("Gemm", ["X", "W1", "b1"], ["H1"], "fc1", transB=1),
      node("Relu", ["H1"], ["R1"], "act1"),
      node("Gemm", ["R1", "W2", "b2"], ["Y"], "fc2", transB=1),
      node("Relu", ["Y"], ["Z"], "unused_relu")],
     [X2], [vinfo("Y", [1, 3])], [const("W1", [4, 2]), const("b1", [4]), const("W2", [3, 4]), const("b2", [3])])
reference("graph_preact_output", 2)

save("graph_intermediate",
     [node("MatMul", ["X", "W1"], ["M1"], "mm1"), node("Add", ["M1", "b1"], ["H1"], "bias1"),
      node("Relu", ["H1"], ["R1"], "act1"),
      node("MatMul", ["R1", "W2"], ["M2"], "mm2"), node("Add", ["M2", "b2"], ["H"], "bias2"),
      node("Relu", ["H"], ["R2"], "act2"),
      node("MatMul", ["R2", "W3"], ["M3"], "mm3"), node("Add", ["M3", "b3"], ["Z"], "bias3")],
     [X3], [vinfo("H", [1, 2])],
     [const("W1", [3, 5]), const("b1", [5]), const("W2", [5, 2]), const("b2", [2]), const("W3", [2, 1]),
      const("b3", [1])])
reference("graph_intermediate", 3)

save("graph_side_branches",
     [node("Sigmoid", ["X"], ["S"], "side_sigmoid"),
      node("MatMul", ["X", "W1"], ["M1"], "mm1"),
      node("Mul", ["M1", "k"], ["side_scaled"], "side_mul"),
      node("Add", ["M1", "b1"], ["H1"], "bias1"),
      node("Relu", ["H1"], ["R1"], "act1"),
      node("MatMul", ["R1", "Wside"], ["side_out"], "side_mm"),
      node("Gemm", ["R1", "W2", "b2"], ["Y"], "fc2")],
     [X3], [vinfo("Y", [1, 2])],
     [const("W1", [3, 4]), const("b1", [4]), const("k", [1]), const("Wside", [4, 7]), const("W2", [4, 2]),
      const("b2", [2])])
reference("graph_side_branches", 3)

save("graph_out_of_order",
     list(reversed([
         node("Unsqueeze", ["X"], ["U"], "unsq", axes=[0]),
         node("Reshape", ["U", "shape2"], ["X2"], "flat"),
         node("MatMul", ["X2", "W1"], ["M1"], "mm1"),
         node("Sub", ["b1", "M1"], ["H1"], "negate"),
         node("Relu", ["H1"], ["R1"], "act1"),
         node("Gemm", ["R1", "W2", "b2"], ["G2"], "fc2", transB=1, alpha=0.5, beta=2.0),
         node("Div", ["G2", "d"], ["D2"], "halve"),
         node("Relu", ["D2"], ["R2"], "act2"),
         node("Unsqueeze", ["R2"], ["U2"], "unsq2", axes=[2]),
         node("Squeeze", ["U2"], ["S2"], "sq", axes=[2]),
         node("MatMul", ["W3", "T"], ["Y"], "mm3"),
         node("Flatten", ["S2"], ["F2"], "flatten"),
         node("Identity", ["F2"], ["I2"], "id"),
         node("Squeeze", ["I2"], ["T"], "sq0", axes=[0]),
     ])),
     [X2], [vinfo("Y", [2])],
     [numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "shape2"), const("W1", [2, 3]), const("b1", [3]),
      const("W2", [4, 3]), const("b2", [4]), numpy_helper.from_array(np.array([2.0], dtype=np.float32), "d"),
      const("W3", [2, 4])],
     opset=11)
reference("graph_out_of_order", 2)

# Invalid graphs (no references: onnxruntime refuses the first ones; the importer refuses them all).
W = const("W", [2, 2])
save("bad_undefined_input",
     [node("MatMul", ["X", "W"], ["H"], "mm1"), node("MatMul", ["H", "ghost"], ["Y"], "mm2")],
     [X2], [vinfo("Y", [1, 2])], [W])
save("bad_undefined_unused",
     [node("MatMul", ["X", "W"], ["Y"], "mm1"), node("Add", ["Y", "phantom"], ["Z"], "dangling")],
     [X2], [vinfo("Y", [1, 2])], [W])
save("bad_cycle",
     [node("MatMul", ["X", "W"], ["H0"], "first"), node("Add", ["H0", "H2"], ["H1"], "loop_a"),
      node("Relu", ["H1"], ["H2"], "loop_b"), node("Identity", ["H2"], ["Y"], "out")],
     [X2], [vinfo("Y", [1, 2])], [W])
save("bad_self_cycle",
     [node("MatMul", ["X", "W"], ["H"], "first"), node("Add", ["H", "S"], ["S"], "selfish"),
      node("Identity", ["S"], ["Y"], "out")],
     [X2], [vinfo("Y", [1, 2])], [W])
save("bad_defined_twice",
     [node("MatMul", ["X", "W"], ["H"], "mm"), node("MatMul", ["X", "W"], ["H"], "mm_again"),
      node("Relu", ["H"], ["Y"], "act")],
     [X2], [vinfo("Y", [1, 2])], [W])
save("bad_shadows_initializer",
     [node("MatMul", ["X", "W"], ["H"], "mm"), node("Relu", ["H"], ["W2"], "shadow"),
      node("MatMul", ["W2", "W"], ["Y"], "mm2")],
     [X2], [vinfo("Y", [1, 2])], [W, const("W2", [2, 2])])
save("bad_two_outputs",
     [node("MatMul", ["X", "W"], ["Y"], "mm"), node("Relu", ["Y"], ["Z"], "act")],
     [X2], [vinfo("Y", [1, 2]), vinfo("Z", [1, 2])], [W])
save("bad_residual",
     [node("MatMul", ["X", "W"], ["H1"], "mm1"), node("Relu", ["H1"], ["R1"], "act"),
      node("MatMul", ["R1", "W"], ["H3"], "mm2"), node("Add", ["H1", "H3"], ["Y"], "skip")],
     [X2], [vinfo("Y", [1, 2])], [W])
save("bad_broadcast",
     [node("MatMul", ["X", "W"], ["H"], "mm"), node("Add", ["H", "c"], ["Y"], "bias")],
     [X2], [vinfo("Y", [2, 2])], [W, const("c", [2, 1])])
