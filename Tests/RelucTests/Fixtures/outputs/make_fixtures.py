"""Generates the output-constraint fixtures and their expected optima, independently of reluc.

On each activation pattern of the hidden ReLUs the outputs are affine in the inputs, y = M x + m,
so rows G x + H y <= h over inputs and outputs are linear rows (G + H M) x <= h - H m of that
region's LP. Every pattern is enumerated and its LP solved with scipy (max or min c.y + d.x over
{x in box : A x <= b, pattern holds, output rows hold}); the best value is the optimum, and no
feasible pattern means the problem is infeasible.

Each case: NAME.xml (the network, scripts/netxml.py) and NAME.json (box, input rows, objective,
output rows, expected optimum or null when infeasible, and the extremes of y1 the levels came
from). Levels are set from the exact range of y1 (also by enumeration).

    python3 Tests/RelucTests/Fixtures/outputs/make_fixtures.py
"""
import json, os, sys
import numpy as np
from scipy.optimize import linprog

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "..", "scripts"))
from netxml import write_network, random_network, forward, patterns, pattern_region


def regions(layers):
    """Yields (rows, rhs, M, m) per activation pattern: region {rows x <= rhs}, y = M x + m."""
    for pattern in patterns(layers):
        maps, rows, rhs = pattern_region(layers, pattern)
        yield (rows, rhs) + maps[-1][1]


def optimum(layers, lo, hi, A, b, c, d, G, H, h, sense):
    """The optimum of sense (c.y + d.x) s.t. box, A x <= b, G x + H y <= h; None if infeasible."""
    n = len(lo)
    best, arg = None, None
    sign = -1 if sense == "maximize" else 1
    for rows, rhs, M, m in regions(layers):
        obj = c @ M + d
        const = c @ m
        R = list(rows) + list(A) + [np.asarray(G[r]) + np.asarray(H[r]) @ M for r in range(len(h))]
        q = list(rhs) + list(b) + [h[r] - np.asarray(H[r]) @ m for r in range(len(h))]
        res = linprog(sign * obj, A_ub=np.array(R), b_ub=np.array(q), bounds=list(zip(lo, hi)),
                      method="highs")
        if res.status != 0:
            continue
        val = obj @ res.x + const
        if best is None or (val > best if sense == "maximize" else val < best):
            best, arg = val, res.x
    return best, arg


def output_range(layers, lo, hi, k):
    """The exact min and max of output k over the box."""
    n = len(layers[0][0][0])
    e = np.zeros(layers[-1][0].shape[0]); e[k] = 1
    lo_v, _ = optimum(layers, lo, hi, [], [], e, np.zeros(n), [], [], [], "minimize")
    hi_v, _ = optimum(layers, lo, hi, [], [], e, np.zeros(n), [], [], [], "maximize")
    return float(lo_v), float(hi_v)


def case(name, sizes, seed, sense, c, d, lo, hi, rows_of, A=(), b=()):
    layers = random_network(sizes, seed)
    n, k = sizes[0], sizes[-1]
    y1lo, y1hi = output_range(layers, lo, hi, 1)
    G, H, h, names = rows_of(y1lo, y1hi, n, k)
    opt, arg = optimum(layers, lo, hi, [list(r) for r in A], list(b), np.array(c), np.array(d),
                       G, H, h, sense)
    write_network(os.path.join(here, name + ".xml"), layers, name=name)
    spec = {
        "sense": sense, "outputWeights": c, "inputWeights": d, "lower": lo, "upper": hi,
        "inputRows": [list(r) for r in A], "inputRhs": list(b),
        "G": [list(map(float, g)) for g in G], "H": [list(map(float, r)) for r in H],
        "h": [float(v) for v in h], "names": names,
        "optimum": None if opt is None else float(opt),
        "argmax": None if arg is None else [float(v) for v in arg],
        "y1_range": [y1lo, y1hi],
    }
    with open(os.path.join(here, name + ".json"), "w") as f:
        json.dump(spec, f, indent=1)
    print(name, "optimum", opt, "y1 range", (y1lo, y1hi))


def level_row(frac):
    """y1 <= y1lo + frac (y1hi - y1lo)."""
    def rows(y1lo, y1hi, n, k):
        H = [[0.0] * k]; H[0][1] = 1.0
        return [[0.0] * n], H, [y1lo + frac * (y1hi - y1lo)], ["limit"]
    return rows


def mixed_rows(y1lo, y1hi, n, k):
    """y0 - y1 + x0 <= level and y1 >= y1lo + 0.3 (y1hi - y1lo) (as -y1 <= ...), minimize."""
    G = [[0.0] * n, [0.0] * n]; G[0][0] = 1.0
    H = [[1.0, -1.0] + [0.0] * (k - 2), [0.0, -1.0] + [0.0] * (k - 2)]
    return G, H, [0.1, -(y1lo + 0.3 * (y1hi - y1lo))], ["mixed", "floor"]


if __name__ == "__main__":
    # Loose and tight limits on y1 while maximizing y0 (2-3 inputs, 1-2 hidden layers of 4-8).
    case("loose_2_8_2", [2, 8, 2], 11, "maximize", [1.0, 0.0], [0.0, 0.0], [0, 0], [1, 1],
         level_row(0.9))
    case("tight_2_8_2", [2, 8, 2], 11, "maximize", [1.0, 0.0], [0.0, 0.0], [0, 0], [1, 1],
         level_row(0.1))
    case("tight_3_6_6_2", [3, 6, 6, 2], 12, "maximize", [1.0, 0.0], [0.0, 0.0, 0.0],
         [0, 0, 0], [1, 1, 1], level_row(0.2))
    case("mid_3_5_4_2_rows", [3, 5, 4, 2], 13, "maximize", [1.0, 0.2], [0.1, 0.0, 0.0],
         [-1, -1, -1], [1, 1, 1], level_row(0.5), A=[[1.0, 1.0, 1.0]], b=[0.5])
    # Rows that also name inputs, minimizing.
    case("mixed_2_6_6_2", [2, 6, 6, 2], 14, "minimize", [1.0, 0.5], [0.0, 0.0], [-1, -1], [1, 1],
         mixed_rows)
    # Infeasible: y1 below its minimum over the box (the box itself is not empty).
    case("infeasible_2_8_2", [2, 8, 2], 11, "maximize", [1.0, 0.0], [0.0, 0.0], [0, 0], [1, 1],
         level_row(-0.05))


def feasible_case():
    """A network too large to enumerate (80 ReLUs) whose output row leaves the big-M LP's points
    infeasible after the forward pass, so the branch and bound starts without an incumbent: the
    JSON stores a sample that numpy shows feasible (no optimum). In feasible/ (not enumerated).
    Run alone: python3 -c 'import make_fixtures as m; m.feasible_case()'."""
    d = os.path.join(here, "feasible")
    os.makedirs(d, exist_ok=True)
    n = 10
    layers = random_network([n, 40, 40, 2], 2)
    S = np.random.default_rng(2).random((10000, n))
    ys = np.array([forward(layers, x) for x in S])
    level = float(np.quantile(ys[:, 1], 0.1))
    i = int(np.argmin(ys[:, 1]))
    write_network(os.path.join(d, "noincumbent_10_40_40_2.xml"), layers, name="noincumbent")
    spec = {"sense": "maximize", "outputWeights": [1.0, 0.0], "inputWeights": [0.0] * n,
            "lower": [0.0] * n, "upper": [1.0] * n, "inputRows": [], "inputRhs": [],
            "G": [[0.0] * n], "H": [[0.0, 1.0]], "h": [level], "names": ["limit"],
            "optimum": None, "feasiblePoint": [float(v) for v in S[i]],
            "feasibleValue": float(ys[i, 0]), "feasibleY1": float(ys[i, 1])}
    with open(os.path.join(d, "noincumbent_10_40_40_2.json"), "w") as f:
        json.dump(spec, f, indent=1)
    print("noincumbent level", level, "known point y", ys[i])


if __name__ == "__main__":
    feasible_case()
