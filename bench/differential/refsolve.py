"""Independent reference for reluc problems: forward pass and exact optimum by
enumerating activation patterns (DFS over neurons with LP feasibility pruning; every
linear region of the input polytope is visited, and on each one an LP is solved)."""
import numpy as np
from scipy.optimize import linprog

LPOPT = {"primal_feasibility_tolerance": 1e-9, "dual_feasibility_tolerance": 1e-9}


def lp(c, A, b, Aeq, beq, lo, hi):
    A = None if A is None or len(A) == 0 else np.asarray(A)
    b = None if A is None else np.asarray(b)
    Aeq = None if Aeq is None or len(Aeq) == 0 else np.asarray(Aeq)
    beq = None if Aeq is None else np.asarray(beq)
    r = linprog(c, A_ub=A, b_ub=b, A_eq=Aeq, b_eq=beq, bounds=list(zip(lo, hi)),
                method="highs", options=LPOPT)
    return r


# ---------------------------------------------------------------- problem semantics
# net: dict(layers=[(W, b, act, name)], xidx=[indices of decision vector], in_mean, in_scale,
#           out_mean, out_scale, alias)
# atom: ('x', i) | ('y', k, j) | ('h', k, l, i) | ('pre', k, l, i)

def net_input(net, x):
    v = np.asarray(x, float)[net["xidx"]]
    if net.get("in_mean") is not None:
        v = v - np.asarray(net["in_mean"])
    if net.get("in_scale") is not None:
        v = v / np.asarray(net["in_scale"])
    return v


def forward_all(nets, x):
    """Returns per net: list of (pre, post) per layer and outputs (in output units)."""
    res = []
    for net in nets:
        h = net_input(net, x)
        layers = []
        for (W, b, act, _name) in net["layers"]:
            z = W @ h + b
            h = np.maximum(z, 0) if act == "relu" else z
            layers.append((z, h))
        y = h.copy()
        if net.get("out_scale") is not None:
            y = y * np.asarray(net["out_scale"])
        if net.get("out_mean") is not None:
            y = y + np.asarray(net["out_mean"])
        res.append((layers, y))
    return res


def atom_value(fw, x, atom):
    if atom[0] == "x":
        return float(x[atom[1]])
    if atom[0] == "y":
        return float(fw[atom[1]][1][atom[2]])
    if atom[0] == "h":
        return float(fw[atom[1]][0][atom[2]][1][atom[3]])
    if atom[0] == "pre":
        return float(fw[atom[1]][0][atom[2]][0][atom[3]])
    raise ValueError(atom)


def expr_value(fw, x, terms):
    return sum(c * atom_value(fw, x, a) for c, a in terms)


def evaluate(prob, x):
    """Objective and list of (constraint index, violation, scale) by forward pass."""
    x = np.asarray(x, float)
    fw = forward_all(prob["nets"], x)
    obj = expr_value(fw, x, prob["objective"]) + prob.get("obj_const", 0.0)
    viols = []
    lo, hi = np.asarray(prob["lo"]), np.asarray(prob["hi"])
    bscale = max(1.0, float(np.max(np.abs(np.concatenate([lo, hi])))))
    bv = float(max(0.0, np.max(lo - x), np.max(x - hi)))
    viols.append(("box", bv, bscale))
    for r, (a, bb) in enumerate(prob["in_rows"]):
        v = max(0.0, float(np.dot(a, x) - bb))
        viols.append((f"in{r}", v, bscale))
    for r, con in enumerate(prob["cons"]):
        val = expr_value(fw, x, con["terms"])
        v = 0.0
        if con["lo"] is not None:
            v = max(v, con["lo"] - val)
        if con["hi"] is not None:
            v = max(v, val - con["hi"])
        rhs = max(abs(con["lo"] or 0.0), abs(con["hi"] or 0.0))
        viols.append((f"con{r}", v, max(1.0, rhs)))
    return obj, viols, fw


# ---------------------------------------------------------------- region enumeration
def relu_list(nets):
    out = []
    for k, net in enumerate(nets):
        for l, (W, b, act, _n) in enumerate(net["layers"]):
            if act == "relu":
                for i in range(W.shape[0]):
                    out.append((k, l, i))
    return out


def input_affine(net, n):
    """net input as affine map of x: M x + m."""
    m_in = len(net["xidx"])
    M = np.zeros((m_in, n))
    for r, j in enumerate(net["xidx"]):
        M[r, j] = 1.0
    m = np.zeros(m_in)
    if net.get("in_mean") is not None:
        m = m - np.asarray(net["in_mean"])
    if net.get("in_scale") is not None:
        s = np.asarray(net["in_scale"])
        M = M / s[:, None]
        m = m / s
    return M, m


def enumerate_regions(prob, max_regions=200000):
    """DFS over all ReLUs; returns list of regions, each dict(pattern, rows A, b, maps)
    where maps[(k,l)] = (preM, prem, postM, postm) affine in x, and witness point."""
    nets = prob["nets"]
    n = prob["n"]
    lo, hi = np.asarray(prob["lo"], float), np.asarray(prob["hi"], float)
    baseA = [np.asarray(a, float) for a, _ in prob["in_rows"]]
    baseb = [float(bb) for _, bb in prob["in_rows"]]
    # find initial witness
    r = lp(np.zeros(n), baseA, baseb, None, None, lo, hi)
    if r.status != 0:
        return None  # input polytope empty
    w0 = r.x
    # neuron order: net by net, layer by layer
    seq = []
    for k, net in enumerate(nets):
        for l, (W, b, act, _n) in enumerate(net["layers"]):
            for i in range(W.shape[0]):
                seq.append((k, l, i, act))
    regions = []
    stats = {"lps": 1}

    def layer_pre(k, l, maps):
        net = nets[k]
        if l == 0:
            M, m = input_affine(net, n)
        else:
            M, m = maps[(k, l - 1)][2], maps[(k, l - 1)][3]
        W, b, act, _ = net["layers"][l]
        return W @ M, W @ m + b

    def rec(g, A, bvec, maps, cur_post, w, pattern):
        if len(regions) > max_regions:
            raise RuntimeError("too many regions")
        if g == len(seq):
            regions.append(dict(A=np.array(A) if A else np.zeros((0, n)), b=np.array(bvec),
                                maps=dict(maps), w=w.copy(), pattern=tuple(pattern)))
            return
        k, l, i, act = seq[g]
        maps = dict(maps)
        if i == 0:
            preM, prem = layer_pre(k, l, maps)
            cur_post = (np.zeros_like(preM), np.zeros_like(prem))
            maps[(k, l)] = (preM, prem, cur_post[0], cur_post[1])
        preM, prem, _, _ = maps[(k, l)]
        a, c = preM[i], prem[i]
        last_of_layer = (i == nets[k]["layers"][l][0].shape[0] - 1)

        def child(active, wit, A2, b2):
            pM, pm = maps[(k, l)][2].copy(), maps[(k, l)][3].copy()
            if act != "relu" or active:
                pM[i] = a
                pm[i] = c
            else:
                pM[i] = 0.0
                pm[i] = 0.0
            m2 = dict(maps)
            m2[(k, l)] = (preM, prem, pM, pm)
            rec(g + 1, A2, b2, m2, None, wit, pattern + ([int(active)] if act == "relu" else []))

        if act != "relu":
            child(True, w, A, bvec)
            return
        zw = float(a @ w + c)
        wit_side = zw >= 0  # side the witness is on (active if z>=0)
        # LP: optimize z toward the other side
        if wit_side:
            r = lp(a, A + baseA, bvec + baseb, None, None, lo, hi)  # min z
        else:
            r = lp(-a, A + baseA, bvec + baseb, None, None, lo, hi)  # max z
        stats["lps"] += 1
        other = False
        if r.status == 0:
            zo = float(a @ r.x + c)
            if wit_side and zo < -1e-9:
                other = True
            if (not wit_side) and zo > 1e-9:
                other = True
        # active: -z <= 0 i.e. -a x <= c ; inactive: a x <= -c
        rowA = list(A) + [-a]
        rowB = list(bvec) + [c]
        rowIA = list(A) + [a]
        rowIB = list(bvec) + [-c]
        if wit_side:
            child(True, w, rowA, rowB)
            if other:
                child(False, r.x, rowIA, rowIB)
        else:
            child(False, w, rowIA, rowIB)
            if other:
                child(True, r.x, rowA, rowB)

    rec(0, [], [], {}, None, w0, [])
    return regions, stats


def atom_affine(region, prob, atom):
    n = prob["n"]
    nets = prob["nets"]
    if atom[0] == "x":
        v = np.zeros(n)
        v[atom[1]] = 1.0
        return v, 0.0
    maps = region["maps"]
    if atom[0] == "y":
        k, j = atom[1], atom[2]
        L = len(nets[k]["layers"]) - 1
        M, m = maps[(k, L)][2][j].copy(), float(maps[(k, L)][3][j])
        net = nets[k]
        if net.get("out_scale") is not None:
            s = net["out_scale"][j]
            M, m = M * s, m * s
        if net.get("out_mean") is not None:
            m = m + net["out_mean"][j]
        return M, m
    if atom[0] == "h":
        k, l, i = atom[1:]
        return maps[(k, l)][2][i].copy(), float(maps[(k, l)][3][i])
    if atom[0] == "pre":
        k, l, i = atom[1:]
        return maps[(k, l)][0][i].copy(), float(maps[(k, l)][1][i])
    raise ValueError(atom)


def expr_affine(region, prob, terms):
    v = np.zeros(prob["n"])
    c = 0.0
    for coef, atom in terms:
        a, b = atom_affine(region, prob, atom)
        v += coef * a
        c += coef * b
    return v, c


def solve_reference(prob, regions, terms=None, sense=None, cons=None):
    """Best value of terms (default objective) over union of regions with cons."""
    if terms is None:
        terms = prob["objective"]
    if sense is None:
        sense = prob["sense"]
    if cons is None:
        cons = prob["cons"]
    n = prob["n"]
    lo, hi = np.asarray(prob["lo"], float), np.asarray(prob["hi"], float)
    baseA = [np.asarray(a, float) for a, _ in prob["in_rows"]]
    baseb = [float(bb) for _, bb in prob["in_rows"]]
    best = None
    bestx = None
    nfeas = 0
    for reg in regions:
        A = list(reg["A"]) + baseA
        b = list(reg["b"]) + baseb
        Aeq, beq = [], []
        for con in cons:
            v, c = expr_affine(reg, prob, con["terms"])
            if con["lo"] is not None and con["hi"] is not None and con["lo"] == con["hi"]:
                Aeq.append(v)
                beq.append(con["lo"] - c)
                continue
            if con["hi"] is not None:
                A.append(v)
                b.append(con["hi"] - c)
            if con["lo"] is not None:
                A.append(-v)
                b.append(c - con["lo"])
        cv, cc = expr_affine(reg, prob, terms)
        sgn = -1.0 if sense == "maximize" else 1.0
        r = lp(sgn * cv, A, b, Aeq, beq, lo, hi)
        if r.status == 2:
            continue
        if r.status != 0:
            # numerical trouble: retry with default tolerances
            r = linprog(sgn * cv, A_ub=np.array(A) if A else None, b_ub=np.array(b) if A else None,
                        A_eq=np.array(Aeq) if Aeq else None, b_eq=np.array(beq) if Aeq else None,
                        bounds=list(zip(lo, hi)), method="highs")
            if r.status == 2:
                continue
            if r.status != 0:
                raise RuntimeError(f"LP status {r.status}: {r.message}")
        nfeas += 1
        val = float(cv @ r.x + cc) + prob.get("obj_const", 0.0) if terms is prob["objective"] else float(cv @ r.x + cc)
        if best is None or (val > best if sense == "maximize" else val < best):
            best, bestx = val, r.x.copy()
    return best, bestx, nfeas
