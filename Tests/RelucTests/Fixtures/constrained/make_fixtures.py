"""Models with constraints on outputs, on hidden values, and with two networks, and their optima
computed independently of reluc: every activation pattern of every network is enumerated; on a
pattern each network's pre-activations, post-activations and outputs are affine in x, so the
objective and every constraint are linear and scipy's LP gives the pattern's optimum. The best
value over the patterns is the optimum ("infeasible" when no pattern's LP is feasible).

It also writes, for each model, a few points with every constraint's left side at them (numpy
forward passes), which test the lowering through `reluc eval` independently of any solver.

    python3 Tests/RelucTests/Fixtures/constrained/make_fixtures.py
"""
import itertools, json, os, sys
import numpy as np
from scipy.optimize import linprog

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "..", "scripts"))
from netxml import write_network, random_network, relu_count, pattern_region


class Case:
    """nets: list of (alias or None, layers, columns of x it reads); terms of the objective and of
    the rows: lists of (coefficient, quantity) with quantity one of
    ('x', j), ('y', net, i), ('post', net, layer, i), ('pre', net, layer, i)."""

    def __init__(self, name, n, lo, hi, nets, sense, objective, rows, model):
        self.name, self.n, self.lo, self.hi = name, n, lo, hi
        self.nets, self.sense, self.objective, self.rows, self.model = nets, sense, objective, rows, model
        # A limit written "q0.3" is the 0.3-quantile of the row's left side over 2000 uniform
        # samples of the box (so the row binds); the model text names it {0}, {1}, ...
        rng = np.random.default_rng(99)
        samples = [rng.uniform(lo, hi) for _ in range(2000)]
        levels = []
        for k, (terms, limit) in enumerate(self.rows):
            if isinstance(limit, str):
                values = [self.values(x, only=k) for x in samples]
                limit = round(float(np.quantile(values, float(limit[1:]))), 4)
                self.rows[k] = (terms, limit)
                levels.append(limit)
        self.model = model.format(*levels)

    def linear(self, terms, maps):
        """A linear form over x from terms, given per-network maps on the current patterns."""
        a, c = np.zeros(self.n), 0.0
        for coef, q in terms:
            if q == "const":
                c += coef
                continue
            if q[0] == "x":
                a[q[1]] += coef
                continue
            kind, net, rest = q[0], q[1], q[2:]
            cols = self.nets[net][2]
            if kind == "y":
                (Z, z), (H, h) = maps[net][-1]
                i = rest[0]
                A, v = (H[i], h[i])
            else:
                layer, i = rest
                (Z, z), (H, h) = maps[net][layer]
                A, v = (Z[i], z[i]) if kind == "pre" else (H[i], h[i])
            for jj, col in enumerate(cols):
                a[col] += coef * A[jj]
            c += coef * v
        return a, c

    def optimum(self):
        best, arg = None, None
        counts = [relu_count(l) for _, l, _ in self.nets]
        for patterns in itertools.product(*[itertools.product([0, 1], repeat=c) for c in counts]):
            maps, A_ub, b_ub = [], [], []
            for (alias, layers, cols), pat in zip(self.nets, patterns):
                mp, rows, rhs = pattern_region(layers, pat)
                maps.append(mp)
                for r, v in zip(rows, rhs):
                    full = np.zeros(self.n)
                    full[cols] = r
                    A_ub.append(full); b_ub.append(v)
            for terms, limit in self.rows:          # sum(terms) <= limit
                a, c = self.linear(terms, maps)
                A_ub.append(a); b_ub.append(limit - c)
            obj, const = self.linear(self.objective, maps)
            sign = -1 if self.sense == "maximize" else 1
            res = linprog(sign * obj, A_ub=np.array(A_ub), b_ub=np.array(b_ub),
                          bounds=list(zip(self.lo, self.hi)), method="highs")
            if res.status != 0:
                continue
            val = obj @ res.x + const
            if best is None or (val > best if self.sense == "maximize" else val < best):
                best, arg = val, res.x
        return best, arg

    def values(self, x, only=None):
        """Every row's left side (sum of its terms) at x, by numpy forward passes."""
        out = []
        for k, (terms, limit) in enumerate(self.rows):
            if only is not None and k != only:
                continue
            s = 0.0
            for coef, q in terms:
                s += coef * (1.0 if q == "const" else self.quantity(q, x))
            out.append(s)
        return out[0] if only is not None else out

    def quantity(self, q, x):
        if q[0] == "x":
            return x[q[1]]
        net = self.nets[q[1]]
        h = np.asarray(x)[net[2]]
        for k, (W, b, act) in enumerate(net[1]):
            z = W @ h + b
            h = np.maximum(z, 0) if act == "relu" else z
            if q[0] in ("pre", "post") and k == q[2]:
                return (z if q[0] == "pre" else h)[q[3]]
        return h[q[2]]


def y(net, i):
    return ("y", net, i)


def cases():
    a = random_network([2, 6, 6, 2], 11)
    b = random_network([3, 5, 5, 1], 12)
    cost = random_network([3, 4, 4, 1], 13)
    risk = random_network([2, 5, 1], 14)
    ens1 = random_network([2, 6, 1], 15)
    ens2 = random_network([2, 4, 4, 1], 16)
    out = []
    # Two outputs, an output constraint at a level below the unconstrained y1 at the optimum.
    out.append(Case("outputs_tight", 2, [-1, -1], [1, 1], [(None, a, [0, 1])], "maximize",
                    [(1.0, y(0, 0))], [([(1.0, y(0, 1))], "q0.3")],
                    'network "outputs_tight.xml"\n\nmaximize y[0]\nconstraint -1 <= x <= 1\n'
                    "constraint impurity: y[1] <= {0}\n"))
    # A row mixing inputs and outputs, two-sided, and a quantified output bound.
    out.append(Case("outputs_mixed", 2, [-1, -1], [1, 1], [(None, a, [0, 1])], "maximize",
                    [(1.0, y(0, 0)), (0.3, ("x", 0))],
                    [([(-1.0, y(0, 0)), (1.0, y(0, 1)), (-1.0, ("x", 1))], 0.5),
                     ([(1.0, y(0, 0)), (-1.0, y(0, 1)), (1.0, ("x", 1))], 0.2),
                     ([(-1.0, y(0, 0))], 0.4), ([(-1.0, y(0, 1))], 0.4)],
                    'network "outputs_tight.xml"\n\nmaximize y[0] + 0.3 * x[0]\n'
                    "constraint -1 <= x <= 1\nconstraint band: -0.5 <= y[0] - y[1] + x[1] <= 0.2\n"
                    "constraint floor[i in 0..1]: y[i] >= -0.4\n"))
    # Hidden values: post-activations of the first layer, a pre-activation of the second.
    out.append(Case("hidden", 3, [0, 0, 0], [1, 1, 1], [(None, b, [0, 1, 2])], "minimize",
                    [(1.0, y(0, 0))],
                    [([(-1.0, ("post", 0, 0, 0)), (-1.0, ("post", 0, 0, 1)), (-1.0, ("post", 0, 0, 2))], "q0.6"),
                     ([(1.0, ("pre", 0, 1, 1))], "q0.6"),
                     ([(1.0, ("pre", 0, 0, 4))], "q0.7")],
                    'network "hidden.xml"\n\nminimize y[0]\nconstraint 0 <= x <= 1\n'
                    "constraint active: -sum(L1[0..2]) <= {0}\nconstraint off: L2.pre[1] <= {1}\n"
                    "constraint first: L1.pre[4] <= {2}\n"))
    # Two networks of different depths on overlapping slices: a cost and a risk surrogate.
    out.append(Case("two_networks", 3, [0, 0, 0], [1, 1, 1],
                    [("cost", cost, [0, 1, 2]), ("risk", risk, [1, 2])], "maximize",
                    [(1.0, y(0, 0))], [([(1.0, y(1, 0))], "q0.4")],
                    'network cost "two_networks_cost.xml"\nnetwork risk "two_networks_risk.xml" input x[1..2]\n\n'
                    "maximize cost.y[0]\nconstraint 0 <= x <= 1\nconstraint safe: risk.y[0] <= {0}\n"))
    # An ensemble: the mean of two networks of different depths, a hidden value of the second.
    out.append(Case("ensemble", 2, [-1, -1], [1, 1], [(None, ens1, [0, 1]), ("b", ens2, [0, 1])],
                    "maximize", [(0.5, y(0, 0)), (0.5, y(1, 0))],
                    [([(-1.0, y(0, 0)), (1.0, y(1, 0))], 0.1), ([(1.0, y(0, 0)), (-1.0, y(1, 0))], 0.1),
                     ([(1.0, ("post", 1, 0, 2))], "q0.5")],
                    'network "ensemble_a.xml"\nnetwork b "ensemble_b.xml"\n\n'
                    "maximize 0.5 * y[0] + 0.5 * b.y[0]\nconstraint -1 <= x <= 1\n"
                    "constraint agree: -0.1 <= y[0] - b.y[0] <= 0.1\nconstraint b.L1[2] <= {0}\n"))
    return out, {"outputs_tight": a, "hidden": b, "two_networks_cost": cost,
                 "two_networks_risk": risk, "ensemble_a": ens1, "ensemble_b": ens2}


if __name__ == "__main__":
    all_cases, nets = cases()
    for name, layers in nets.items():
        write_network(os.path.join(here, name + ".xml"), layers, name=name)
    expected = {}
    rng = np.random.default_rng(7)
    for case in all_cases:
        opt, arg = case.optimum()
        points = [list(rng.uniform(case.lo, case.hi)) for _ in range(3)]
        expected[case.name] = {
            "optimum": None if opt is None else float(opt),
            "points": [{"x": p, "lhs": case.values(np.array(p)),
                        "rhs": [limit for _, limit in case.rows]} for p in points],
        }
        with open(os.path.join(here, case.name + ".rmod"), "w") as f:
            f.write(f"# expect: {'infeasible' if opt is None else 'optimum ' + repr(float(opt))}\n")
            f.write("# (enumeration of all activation patterns, make_fixtures.py)\n")
            f.write(case.model)
        print(case.name, opt)
    # Infeasible: the output must exceed its maximum over the box (the box is not empty).
    unconstrained = Case("tmp", 2, [-1, -1], [1, 1], [(None, cases()[1]["outputs_tight"], [0, 1])],
                         "maximize", [(1.0, y(0, 1))], [], "")
    top, _ = unconstrained.optimum()
    level = float(top) + 0.25
    with open(os.path.join(here, "outputs_infeasible.rmod"), "w") as f:
        f.write("# expect: infeasible\n")
        f.write(f"# (the maximum of y[1] over the box is {float(top)!r}, by enumeration)\n")
        f.write('network "outputs_tight.xml"\n\nmaximize y[0]\nconstraint -1 <= x <= 1\n'
                f"constraint unreachable: y[1] >= {level!r}\n")
    expected["outputs_infeasible"] = {"optimum": None, "points": []}
    with open(os.path.join(here, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
