"""Generates the optimization fixtures and their expected optima, independently of reluc:
every activation pattern of the hidden ReLUs is enumerated, the LP of its linear region is solved
with scipy (max c.y + d.x over {x in X : pattern holds}), and the best value is the optimum.

    python3 Tests/RelucTests/Fixtures/opt/make_fixtures.py
"""
import os, sys
import numpy as np
from scipy.optimize import linprog

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "..", "scripts"))
from netxml import write_network, random_network, patterns, pattern_region


def region_optimum(layers, lo, hi, A, b, c, d, sense):
    """Enumerate patterns; return the optimum of sense (c.y + d.x) or None if infeasible."""
    best = None
    for pattern in patterns(layers):
        maps, rows, rhs = pattern_region(layers, pattern)
        M, m = maps[-1][1]
        obj = c @ M + d
        const = c @ m
        A_ub = np.array(rows + ([] if A is None else list(A)))
        b_ub = np.array(rhs + ([] if b is None else list(b)))
        sign = -1 if sense == "maximize" else 1
        res = linprog(sign * obj, A_ub=A_ub, b_ub=b_ub, bounds=list(zip(lo, hi)), method="highs")
        if res.status != 0:
            continue
        val = obj @ res.x + const
        if best is None or (val > best if sense == "maximize" else val < best):
            best = val
    return best


CASES = [
    # name, sizes, seed, sense, objective (c, d), constraints (A, b), bounds
    ("max_2_8_1", [2, 8, 1], 1, "maximize", ([1.0], [0.0, 0.0]), None, ([-1, -1], [1, 1])),
    ("min_3_6_6_1", [3, 6, 6, 1], 2, "minimize", ([1.0], [0.0, 0.0, 0.0]), None, ([0, 0, 0], [1, 1, 1])),
    ("max_2_5_5_2_rows", [2, 5, 5, 2], 3, "maximize", ([1.0, -1.0], [0.5, 0.0]),
     ([[1.0, 1.0], [-1.0, 2.0]], [0.5, 1.0]), ([-2, -2], [2, 2])),
    ("max_3_10_1", [3, 10, 1], 4, "maximize", ([2.0], [0.0, 0.0, -0.3]), None, ([-1, 0, -1], [1, 2, 1])),
    ("min_2_4_4_1_rows", [2, 4, 4, 1], 5, "minimize", ([1.0], [0.0, 0.0]),
     ([[1.0, -1.0]], [0.2]), ([0, 0], [1, 1])),
]

MODEL = {
    "max_2_8_1": "maximize y[0]\nconstraint -1 <= x <= 1\n",
    "min_3_6_6_1": "minimize y[0]\nconstraint box[i in 0..2]: 0 <= x[i] <= 1\n",
    "max_2_5_5_2_rows": ("maximize y[0] - y[1] + 0.5 * x[0]\nconstraint -2 <= x <= 2\n"
                         "constraint a: x[0] + x[1] <= 0.5\nconstraint b: -x[0] + 2 * x[1] <= 1\n"),
    "max_3_10_1": ("maximize 2 * y[0] - 0.3 * x[2]\nconstraint -1 <= x[0] <= 1\n"
                   "constraint 0 <= x[1] <= 2\nconstraint -1 <= x[2] <= 1\n"),
    "min_2_4_4_1_rows": "minimize y[0]\nconstraint 0 <= x <= 1\nconstraint x[0] - x[1] <= 0.2\n",
}

if __name__ == "__main__":
    for name, sizes, seed, sense, (c, d), rows, (lo, hi) in CASES:
        layers = random_network(sizes, seed)
        write_network(os.path.join(here, name + ".xml"), layers, name=name)
        A, b = (None, None) if rows is None else rows
        opt = region_optimum(layers, lo, hi, A, b, np.array(c), np.array(d), sense)
        with open(os.path.join(here, name + ".rmod"), "w") as f:
            f.write(f"# expect: optimum {float(opt)!r}\n")
            f.write(f"# (enumeration of all activation patterns, make_fixtures.py)\n")
            f.write(f'network "{name}.xml"\n\n' + MODEL[name])
        print(name, opt)
    # Five inputs, in the bab fixtures (the split choice ranks more than three inputs; not an
    # optimization fixture: every method is not expected to reach its optimum).
    layers = random_network([5, 6, 6, 1], 6)
    bab = os.path.join(here, "..", "bab")
    write_network(os.path.join(bab, "max_5_6_6_1.xml"), layers, name="max_5_6_6_1")
    lo, hi = [0, -1, 0, 0, -0.5], [1, 1, 0.5, 1, 0.5]
    opt = region_optimum(layers, lo, hi, None, None, np.array([1.0]), np.zeros(5), "maximize")
    with open(os.path.join(bab, "max_5_6_6_1.rmod"), "w") as f:
        f.write(f"# expect: optimum {float(opt)!r}\n")
        f.write(f"# (enumeration of all activation patterns, opt/make_fixtures.py)\n")
        f.write('network "max_5_6_6_1.xml"\n\nmaximize y[0]\n'
                "constraint 0 <= x[0] <= 1\nconstraint -1 <= x[1] <= 1\n"
                "constraint 0 <= x[2] <= 0.5\nconstraint 0 <= x[3] <= 1\n"
                "constraint -0.5 <= x[4] <= 0.5\n")
    print("max_5_6_6_1", opt)
    # An infeasible polytope (the rows cannot hold together inside the box).
    with open(os.path.join(here, "infeasible.rmod"), "w") as f:
        f.write("# expect: infeasible\n")
        f.write('network "max_2_8_1.xml"\n\nmaximize y[0]\nconstraint -1 <= x <= 1\n'
                "constraint x[0] + x[1] >= 1.5\nconstraint x[0] - x[1] >= 1.5\n")
