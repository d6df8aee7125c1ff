"""Optima of the models in this folder, computed independently of reluc: the activation patterns
of the network are enumerated depth first (a neuron's sign is fixed only when scipy's LP finds a
point of the box and rows on that side), and on each complete pattern the network is affine, so
the objective and every row are linear in x and scipy's LP gives the pattern's optimum. The best
value over the patterns is the optimum ("infeasible" when no pattern is feasible).

The models come from a differential campaign (random small problems against this enumeration)
and each once exposed a defect; their first lines say which. The reader below knows the subset
of the model language they use: one network (dense layers, bounds from the file or from
`constraint a <= x[i] <= b`, `x[i] >= a`, `x[i] <= b`), a linear objective over x and y, and
named rows `name: sum <= c` or `>= c` over x and y.

    python3 Tests/RelucTests/Fixtures/differential/make_expected.py
"""
import glob, json, os, re
import xml.etree.ElementTree as ET
import numpy as np
from scipy.optimize import linprog

here = os.path.dirname(os.path.abspath(__file__))
OPTIONS = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


def network(path):
    root = ET.parse(path).getroot()
    numbers = lambda e: [float(v) for v in e.text.split()] if e is not None else None
    inp = root.find("input")
    n = int(inp.get("size"))
    names = (inp.get("name"), root.find("output").get("name"))
    lo, hi = numbers(inp.find("lower")), numbers(inp.find("upper"))
    assert inp.find("mean") is None and inp.find("scale") is None
    assert root.find("output").find("mean") is None
    layers = []
    for layer in root.findall("layer"):
        W = np.array([numbers(r) for r in layer.findall("row")])
        b = np.array(numbers(layer.find("bias")))
        layers.append((W, b, layer.get("activation")))
    return n, lo, hi, layers, names


TERM = re.compile(r"([+-]?)\s*(?:([0-9.eE+-]+)\s*\*\s*)?(\w+)\[(\d+)\]")


def linear(text, n, m, names):
    """A sum of terms `c * x[i]`, `c * y[j]`, `x[i]`, `- y[j]` (x, y: the network's input and
    output names) as (a over x, c over y)."""
    a, c = np.zeros(n), np.zeros(m)
    text = text.strip()
    pos = 0
    while pos < len(text):
        t = TERM.match(text, pos)
        assert t, f"cannot read {text[pos:]!r}"
        coef = float(t.group(2)) if t.group(2) else 1.0
        coef = -coef if t.group(1) == "-" else coef
        assert t.group(3) in names, t.group(3)
        (a if t.group(3) == names[0] else c)[int(t.group(4))] += coef
        pos = t.end()
        while pos < len(text) and text[pos] == " ":
            pos += 1
    return a, c


def model(path):
    lines = [l.split("#")[0].strip() for l in open(path)]
    lines = [l for l in lines if l]
    net = re.match(r'network "([^"]+)"', lines[0]).group(1)
    n, lo, hi, layers, names = network(os.path.join(here, net))
    m = layers[-1][0].shape[0]
    lo = lo or [-np.inf] * n
    hi = hi or [np.inf] * n
    sense, objective = re.match(r"(maximize|minimize) (.*)", lines[1]).groups()
    rows = []  # (a over x, c over y, rhs): a.x + c.y <= rhs
    for line in lines[2:]:
        body = line[len("constraint "):]
        if b := re.fullmatch(r"(\S+) <= \w+\[(\d+)\] <= (\S+)", body):
            lo[int(b.group(2))], hi[int(b.group(2))] = float(b.group(1)), float(b.group(3))
        elif b := re.fullmatch(r"\w+\[(\d+)\] (<=|>=) (\S+)", body):
            (hi if b.group(2) == "<=" else lo)[int(b.group(1))] = float(b.group(3))
        else:
            r = re.fullmatch(r"\w+: (.*) (<=|>=) (\S+)", body)
            a, c = linear(r.group(1), n, m, names)
            s = 1.0 if r.group(2) == "<=" else -1.0
            rows.append((s * a, s * c, s * float(r.group(3))))
    return n, lo, hi, layers, sense, linear(objective, n, m, names), rows


def optimum(path):
    n, lo, hi, layers, sense, (ox, oy), rows = model(path)
    bounds = list(zip(lo, hi))
    sign = 1.0 if sense == "maximize" else -1.0
    best = [None]

    def lp(cost, A, b):
        r = linprog(-cost, A_ub=np.array(A) if A else None, b_ub=np.array(b) if b else None,
                    bounds=bounds, method="highs", options=OPTIONS)
        return r if r.status == 0 else None

    def descend(k, M, v, A, b):
        # M x + v: the current layer's input as an affine map of x on the pattern so far.
        if k == len(layers):
            # The outputs are M x + v: the objective and the rows over x.
            cost = sign * (ox + oy @ M)
            RA = A + [list(a + c @ M) for a, c, _ in rows]
            Rb = b + [rhs - c @ v for _, c, rhs in rows]
            r = lp(cost, RA, Rb)
            if r is not None:
                value = sign * (-r.fun + sign * (oy @ v))
                if best[0] is None or sign * value > sign * best[0]:
                    best[0] = value
            return
        W, bias, act = layers[k]
        Z, z = W @ M, W @ v + bias
        if act != "relu":
            descend(k + 1, Z, z, A, b)
            return

        def neuron(i, H, h, A, b):
            if i == len(z):
                descend(k + 1, H, h, A, b)
                return
            for active in (True, False):
                # Active: Z_i x + z_i >= 0; inactive: <= 0 (and the neuron's output is 0).
                row, rhs = (list(-Z[i]), z[i]) if active else (list(Z[i]), -z[i])
                if lp(np.zeros(n), A + [row], b + [rhs]) is None:
                    continue
                H2, h2 = H.copy(), h.copy()
                if not active:
                    H2[i], h2[i] = 0, 0
                neuron(i + 1, H2, h2, A + [row], b + [rhs])

        neuron(0, Z.copy(), z.copy(), A, b)

    descend(0, np.eye(n), np.zeros(n), [], [])
    return best[0]


if __name__ == "__main__":
    out = {}
    for path in sorted(glob.glob(os.path.join(here, "*.rmod"))):
        out[os.path.basename(path)[:-len(".rmod")]] = {"optimum": optimum(path)}
    with open(os.path.join(here, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(out, indent=1, sort_keys=True))
