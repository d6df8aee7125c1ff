"""Generates the verify fixtures and their answers, independently of reluc: small random
networks (scripts/netxml.py) and VNN-LIB properties whose answers come from enumerating every
activation pattern of the hidden ReLUs and solving, per pattern and per disjunct, the LP
    max t  s.t.  t <= h_r - G_r x - H_r y(x)  (every output row r),  x in the disjunct's box and
                 input rows, the pattern's sign conditions
with scipy. The largest t over patterns is the disjunct's largest margin; the property is sat
iff some disjunct's largest margin is >= 0. Thresholds are set 0.05 away from the margins
computed first, so every answer is clear of rounding.

    python3 Tests/RelucTests/Fixtures/vnnlib/make_fixtures.py
"""
import os, sys
import numpy as np
from scipy.optimize import linprog

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "..", "scripts"))
from netxml import write_network, random_network, patterns, pattern_region

out_dir = os.path.join(here, "verify")


def max_margin(layers, lo, hi, rows, in_rows=()):
    """rows: list of (g, h, b) meaning g.x + h.y <= b; in_rows: (a, c) meaning a.x <= c."""
    n = layers[0][0].shape[1]
    best = -np.inf
    for pattern in patterns(layers):
        maps, region, rhs = pattern_region(layers, pattern)
        M, m = maps[-1][1]
        A, c = [np.append(r, 0) for r in region], list(rhs)
        for g, h, b in rows:
            # t + g.x + h.(M x + m) <= b
            A.append(np.append(np.asarray(g) + np.asarray(h) @ M, 1)); c.append(b - np.asarray(h) @ m)
        for a, cc in in_rows:
            A.append(np.append(a, 0)); c.append(cc)
        res = linprog(np.append(np.zeros(n), -1), A_ub=np.array(A), b_ub=np.array(c),
                      bounds=list(zip(lo, hi)) + [(None, 10.0)], method="highs")
        if res.status == 0:
            best = max(best, -res.fun)
    return best


def num(v):
    return repr(float(v))


def header(expect, margins):
    return [f"; expect: {expect}",
            "; largest margin per disjunct (enumeration + LP, make_fixtures.py): "
            + " ".join(num(v) for v in margins)]


def box_asserts(lo, hi):
    out = []
    for j, (a, b) in enumerate(zip(lo, hi)):
        out.append(f"(assert (<= X_{j} {num(b)}))")
        out.append(f"(assert (>= X_{j} {num(a)}))")
    return out


def declarations(n, m):
    return [f"(declare-const X_{j} Real)" for j in range(n)] + \
           [f"(declare-const Y_{i} Real)" for i in range(m)]


def write(name, lines):
    with open(os.path.join(out_dir, name), "w") as f:
        f.write("\n".join(lines) + "\n")


def zeros(k):
    return np.zeros(k)


def main():
    os.makedirs(out_dir, exist_ok=True)
    # Network A: 2 inputs, 6 ReLUs, 3 outputs.
    A = random_network([2, 6, 3], seed=11)
    write_network(os.path.join(out_dir, "net_a.xml"), A, name="net_a")
    lo, hi = [-1.0, -1.0], [1.0, 1.0]
    n, mm = 2, 3
    e = np.eye(mm)
    # Single row: Y_0 >= c. Largest margin of -Y_0 <= -c is max y0 - c.
    top = max_margin(A, lo, hi, [(zeros(n), -e[0], 0.0)])
    for expect, c in (("sat", top - 0.05), ("unsat", top + 0.05)):
        mg = max_margin(A, lo, hi, [(zeros(n), -e[0], -c)])
        write(f"a_single_{expect}.vnnlib", header(expect, [mg]) + declarations(n, mm)
              + box_asserts(lo, hi) + [f"(assert (>= Y_0 {num(c)}))"])
    # Conjunction: Y_1 + d <= Y_0 and Y_2 + d <= Y_0 (rows: y1 - y0 <= -d, y2 - y0 <= -d).
    def conj(d):
        return [(zeros(n), e[1] - e[0], -d), (zeros(n), e[2] - e[0], -d)]
    top = max_margin(A, lo, hi, conj(0.0))
    for expect, d in (("sat", top - 0.05), ("unsat", top + 0.05)):
        mg = max_margin(A, lo, hi, conj(d))
        write(f"a_conjunction_{expect}.vnnlib", header(expect, [mg]) + declarations(n, mm)
              + box_asserts(lo, hi)
              + [f"(assert (<= (+ Y_1 {num(d)}) Y_0))", f"(assert (<= (+ Y_2 {num(d)}) Y_0))"])
    # Disjunctions: two input boxes times two output conditions (4 disjuncts), written as
    # VNN-COMP nests them; plus an input row X_0 + X_1 <= 0.5 and a product (* 2.0 Y_1).
    boxes = [([-1.0, -1.0], [0.0, 1.0]), ([0.0, -1.0], [1.0, 1.0])]
    in_rows = [(np.array([1.0, 1.0]), 0.5)]
    def outs(c):
        # 2 y1 >= c  (row -2 y1 <= -c);  y2 - y0 >= c  (row y0 - y2 <= -c)
        return [[(zeros(n), -2 * e[1], -c)], [(zeros(n), e[0] - e[2], -c)]]
    tops = [max_margin(A, bl, bh, o, in_rows) for (bl, bh) in boxes for o in outs(0.0)]
    for expect, c in (("sat", max(tops) - 0.05), ("unsat", max(tops) + 0.05)):
        mgs = [max_margin(A, bl, bh, o, in_rows) for (bl, bh) in boxes for o in outs(c)]
        box_lines = []
        for bl, bh in boxes:
            box_lines.append("    (and " + " ".join(
                f"(<= X_{j} {num(bh[j])}) (>= X_{j} {num(bl[j])})" for j in range(n)) + ")")
        write(f"a_disjunction_{expect}.vnnlib", header(expect, mgs) + declarations(n, mm)
              + ["(assert (or", *box_lines, "))",
                 "(assert (<= (+ X_0 X_1) 0.5))",
                 "(assert (or",
                 f"    (and (>= (* 2.0 Y_1) {num(c)}))",
                 f"    (and (>= (- Y_2 Y_0) {num(c)}))",
                 "))"])
    # Two rows on one output whose margins differ by much, the tight one first: Y_0 <= u just
    # above Y_0's smallest value, and Y_0 >= u - 100. Both hold where Y_0 is smallest, yet the
    # first margin minus the second is below 0 everywhere (a quick proof that read that
    # difference as a row's margin said unsat; found by bench/differential/verify_campaign.py).
    low = -max_margin(A, lo, hi, [(zeros(n), e[0], 0.0)])
    for expect, u in (("sat", low + 0.05), ("unsat", low - 0.05)):
        rows = [(zeros(n), e[0], u), (zeros(n), -e[0], -(u - 100.0))]
        mg = max_margin(A, lo, hi, rows)
        write(f"a_two_rows_{expect}.vnnlib", header(expect, [mg]) + declarations(n, mm)
              + box_asserts(lo, hi)
              + [f"(assert (<= Y_0 {num(u)}))", f"(assert (>= Y_0 {num(u - 100.0)}))"])
    # A row naming an input and an output, Y_1 - 0.5 X_0 >= c (the spec network carries the
    # inputs), with a row on Y_0 alone.
    def mixed(c):
        return [(np.array([0.5, 0.0]), -e[1], -c), (zeros(n), -e[0], 1.0)]
    top = max_margin(A, lo, hi, mixed(0.0))
    for expect, c in (("sat", top - 0.05), ("unsat", top + 0.05)):
        mg = max_margin(A, lo, hi, mixed(c))
        write(f"a_mixed_{expect}.vnnlib", header(expect, [mg]) + declarations(n, mm)
              + box_asserts(lo, hi)
              + [f"(assert (>= (- Y_1 (* 0.5 X_0)) {num(c)}))", "(assert (>= Y_0 -1.0))"])
    # Network B: 3 inputs, two layers of 5 ReLUs, 2 outputs; a row with a constant on the left.
    B = random_network([3, 5, 5, 2], seed=12)
    write_network(os.path.join(out_dir, "net_b.xml"), B, name="net_b")
    lo, hi = [-1.0, 0.0, -0.5], [1.0, 1.0, 0.5]
    n, mm = 3, 2
    e = np.eye(mm)
    top = max_margin(B, lo, hi, [(zeros(n), e[1] - e[0], 0.0)])
    for expect, c in (("sat", top - 0.05), ("unsat", top + 0.05)):
        mg = max_margin(B, lo, hi, [(zeros(n), e[1] - e[0], -c)])
        write(f"b_difference_{expect}.vnnlib", header(expect, [mg]) + declarations(n, mm)
              + box_asserts(lo, hi) + [f"(assert (<= {num(c)} (- Y_0 Y_1)))"])
    # Network C: 12 inputs (more than bab splits: its root box only, then the MILP), ReLU
    # layers of 6 and 5, 3 outputs; a ball of radius 0.3 around a point labelled by its largest
    # output, unsafe where another output beats the label's by c (VNN-COMP's classification
    # properties with a threshold): one disjunct per other class.
    C = random_network([12, 6, 5, 3], seed=13)
    write_network(os.path.join(out_dir, "net_c.xml"), C, name="net_c")
    n, mm = 12, 3
    e = np.eye(mm)
    x0 = np.random.default_rng(14).uniform(-1, 1, size=n)
    h = x0
    for W, b, act in C:
        h = W @ h + b
        h = np.maximum(h, 0) if act == "relu" else h
    label = int(np.argmax(h))
    lo, hi = list(x0 - 0.3), list(x0 + 0.3)
    others = [i for i in range(mm) if i != label]
    def beats(c):
        # Y_i - Y_label >= c  (row y_label - y_i <= -c)
        return [[(zeros(n), e[label] - e[i], -c)] for i in others]
    tops = [max_margin(C, lo, hi, o) for o in beats(0.0)]
    for expect, c in (("sat", max(tops) - 0.05), ("unsat", max(tops) + 0.05)):
        mgs = [max_margin(C, lo, hi, o) for o in beats(c)]
        write(f"c_ball_{expect}.vnnlib", header(expect, mgs) + declarations(n, mm)
              + box_asserts(lo, hi)
              + ["(assert (or"]
              + [f"    (and (>= (- Y_{i} Y_{label}) {num(c)}))" for i in others]
              + ["))"])


if __name__ == "__main__":
    main()
