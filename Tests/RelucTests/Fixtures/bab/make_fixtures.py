"""Fixtures of the symbolic bounds and of `bab`, computed independently of reluc (numpy, scipy):

- symbolic_*.xml with symbolic_bounds.json: for each network and input box, the exact smallest
  and largest value of every pre-activation over the box (every activation pattern of the layers
  before it is enumerated; scipy's LP gives the extremes over its linear region). Symbolic bounds
  must contain them.
- rows_*.xml with output_rows.json: `maximize c.y + d.x` over a box and rows `G x + H y <= h`
  over the inputs and outputs, the optimum by enumeration of every activation pattern (an LP per
  pattern, the rows linear in x once the pattern is fixed), or null when no pattern is feasible.

    python3 Tests/RelucTests/Fixtures/bab/make_fixtures.py
"""
import json, os, sys
import numpy as np
from scipy.optimize import linprog

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "..", "scripts"))
from netxml import write_network, random_network, patterns, pattern_region


def regions(layers, upto):
    """Yields (rows, rhs, maps) per activation pattern of the ReLU layers before layer `upto`:
    maps[k] = (M, m) with z_k = M x + m for k <= upto (layer upto's pre-activation last)."""
    n = layers[0][0].shape[1]
    W, bias, _ = layers[upto]
    for pattern in patterns(layers[:upto]):
        maps, rows, rhs = pattern_region(layers[:upto], pattern) if upto else ([], [], [])
        M, m = maps[-1][1] if maps else (np.eye(n), np.zeros(n))
        yield rows, rhs, [pre for pre, _ in maps] + [(W @ M, W @ m + bias)]


def exact_bounds(layers, lo, hi):
    n = layers[0][0].shape[1]
    box = list(zip(lo, hi))
    lower, upper = [], []
    for l, (W, _, _) in enumerate(layers):
        lw = np.full(W.shape[0], np.inf)
        up = np.full(W.shape[0], -np.inf)
        for rows, rhs, maps in regions(layers, l):
            Z, zb = maps[l]
            A = np.array(rows) if rows else None
            b = np.array(rhs) if rows else None
            for i in range(W.shape[0]):
                for sign in (1, -1):
                    r = linprog(sign * Z[i], A_ub=A, b_ub=b, bounds=box, method="highs")
                    if r.status == 2:
                        break  # the region is empty
                    v = Z[i] @ r.x + zb[i]
                    lw[i] = min(lw[i], v)
                    up[i] = max(up[i], v)
                else:
                    continue
                break
        lower.append(lw.tolist())
        upper.append(up.tolist())
    return lower, upper


def rows_optimum(layers, lo, hi, c, d, G, H, h):
    n = layers[0][0].shape[1]
    best = None
    L = len(layers) - 1
    for rows, rhs, maps in regions(layers, L):
        Z, zb = maps[L]
        if layers[L][2] == "relu":
            raise ValueError("linear output layer expected")
        # y = Z x + zb: rows G x + H (Z x + zb) <= h.
        A = np.array(rows + [G[r] + H[r] @ Z for r in range(len(h))])
        b = np.array(rhs + [h[r] - H[r] @ zb for r in range(len(h))])
        obj = c @ Z + d
        r = linprog(-obj, A_ub=A, b_ub=b, bounds=list(zip(lo, hi)), method="highs")
        if r.status != 0:
            continue
        v = obj @ r.x + c @ zb
        best = v if best is None else max(best, v)
    return best


SYMBOLIC = [("symbolic_3_6_6_2", [3, 6, 6, 2], 11, [-1, 0, -0.5], [1, 0.5, 0.5]),
            ("symbolic_2_4_4_4_1", [2, 4, 4, 4, 1], 12, [-2, -1], [1, 1]),
            ("symbolic_4_8_1", [4, 8, 1], 13, [0, 0, 0, 0], [1, 1, 1, 1])]

# name, sizes, seed, box, objective (c, d), rows (G, H, h)
ROWS = [("rows_2_6_6_2", [2, 6, 6, 2], 21, ([-1, -1], [1, 1]), ([1.0, 0.0], [0.0, 0.2]),
         ([[0.0, 0.0], [-1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]], None)),
        ("rows_3_5_5_2", [3, 5, 5, 2], 22, ([0, 0, 0], [1, 1, 1]), ([0.5, -1.0], [0.1, 0.0, 0.0]),
         ([[0.0, 0.0, 0.0]], [[1.0, 1.0]], None))]

if __name__ == "__main__":
    out = []
    for name, sizes, seed, lo, hi in SYMBOLIC:
        layers = random_network(sizes, seed)
        write_network(os.path.join(here, name + ".xml"), layers, name=name)
        lower, upper = exact_bounds(layers, lo, hi)
        out.append(dict(network=name + ".xml", lower_box=lo, upper_box=hi, lower=lower, upper=upper))
        print(name, "done")
    with open(os.path.join(here, "symbolic_bounds.json"), "w") as f:
        json.dump(out, f, indent=1)
    cases = []
    rng = np.random.default_rng(5)
    for name, sizes, seed, (lo, hi), (c, d), (G, H, _) in ROWS:
        layers = random_network(sizes, seed)
        write_network(os.path.join(here, name + ".xml"), layers, name=name)
        # Right-hand sides that bind: each row's median over a sample of the box.
        X = rng.uniform(lo, hi, size=(4000, len(lo)))
        Y = X
        for W, b, act in layers:
            Y = Y @ W.T + b
            if act == "relu":
                Y = np.maximum(Y, 0)
        lhs = X @ np.array(G).T + Y @ np.array(H).T
        h = np.median(lhs, axis=0).tolist()
        c, d, G, H = map(np.array, (c, d, G, H))
        opt = rows_optimum(layers, lo, hi, c, d, G, H, h)
        cases.append(dict(network=name + ".xml", lower_box=lo, upper_box=hi, c=c.tolist(), d=d.tolist(),
                          G=G.tolist(), H=H.tolist(), h=h, optimum=opt))
        # The same rows made impossible: the first row's rhs below its smallest value.
        hi_rows = list(h)
        hi_rows[0] = float(lhs[:, 0].min()) - 10.0
        opt_inf = rows_optimum(layers, lo, hi, c, d, G, H, hi_rows)
        cases.append(dict(network=name + ".xml", lower_box=lo, upper_box=hi, c=c.tolist(), d=d.tolist(),
                          G=G.tolist(), H=H.tolist(), h=hi_rows, optimum=opt_inf))
        print(name, opt, opt_inf)
    with open(os.path.join(here, "output_rows.json"), "w") as f:
        json.dump(cases, f, indent=1)
