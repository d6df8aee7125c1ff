"""Differential campaign for `reluc verify` (VNN-LIB): random small ReLU networks (reluc XML, and
for some the same network as NNet with its normalization), random properties (input bounds of
every kind, input rows, output conditions: bounds, ACAS Xu-style differences, general rows,
chains, disjunctions of 1-4 disjuncts), and the answer checked against an independent reference:
this file's own VNN-LIB reader (disjunctive normal form) and, per disjunct, the largest margin
min_r (h_r - G_r x - H_r y) by enumeration of activation patterns with scipy (refsolve.py's DFS,
then one LP per region), cross-checked by a big-M MILP (scipy.optimize.milp) and by sampling.

    python3 bench/differential/verify_campaign.py START COUNT [--timeout S] --reluc BIN [--out DIR]
                                                  [--jobs J] [--reuse-ref] [--inputs LO-HI]

Problem k is drawn from the seed 5000 + k. With --inputs other than the default 2-6 (e.g. 9-14,
which takes reluc's path for more than 8 inputs: bab bounds the root box only, then the MILP with
alpha-CROWN-refined symbolic bounds), the networks have LO-HI inputs, 1-2 ReLU layers of 3-8
neurons (16 ReLUs at most), few degenerate inputs, and problem k is drawn from the seed 9000 + k
(the same k names different problems in the two modes: use another DIR). The thresholds are
shifted after a first enumeration so that the property's largest margin is a chosen target:
clearly positive (sat), clearly negative (unsat), within 1e-6 relative of 0 on either side, or
in the bands of reluc's documented
tolerances (1e-5: MILP proofs; 1e-4: witness rows). References are computed first (J processes),
then reluc runs one process at a time under `nice`. Each run is a line of DIR/results.jsonl (its
issues named, critical ones first); each problem's files are in DIR/pK (prop.vnnlib, net.xml,
net.nnet, ref.json); malformed properties (one problem in ten) in DIR/pK/bad_*.vnnlib.
A summary (answers against the reference's classes, issues by kind) ends the output and
DIR/summary.json.
"""
import argparse, json, os, re, subprocess, sys, time, traceback
from collections import Counter, defaultdict
from multiprocessing import Pool
import numpy as np
from scipy.optimize import milp, LinearConstraint, Bounds

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refsolve import enumerate_regions, expr_affine, forward_all, lp  # noqa: E402
from gen import write_xml, rand_weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RELUC = os.path.join(HERE, "..", "..", ".build", "release", "reluc")
BASE = os.path.join(HERE, "..", "out", "verify_differential")
SEED0 = 5000
DEFAULT_INPUTS = (2, 6)  # the default keeps the seeds' problems identical
INPUTS = DEFAULT_INPUTS  # --inputs
WIDE_SEED0 = 9000     # seed base when INPUTS is not the default
DOC_OUT_TOL = 1e-4    # man page: a witness's output rows (and input rows) hold within 1e-4 absolute
DOC_MILP_BAND = 1e-5  # man page: a disjunct whose largest margin is in (-1e-5, 0) stays unknown
BORDER = 1e-7         # |margin| <= BORDER * (1 + S): either answer accepted
INF = float("inf")
CRITICAL = {"wrong_unsat", "bad_witness", "crash", "hang", "no_answer", "exit_code",
            "malformed_crash", "malformed_exit", "malformed_wrong_id"}


def num(v):
    return repr(float(v))


# ---------------------------------------------------------------- VNN-LIB reader (independent)
def sexp(text):
    text = re.sub(r";[^\n]*", "", text)
    toks = re.findall(r"\(|\)|[^\s()]+", text)
    pos = 0

    def rd():
        nonlocal pos
        t = toks[pos]; pos += 1
        if t == "(":
            lst = []
            while toks[pos] != ")":
                lst.append(rd())
            pos += 1
            return lst
        return t
    out = []
    while pos < len(toks):
        out.append(rd())
    return out


def lin(t, decl):
    """(coefs {('x'|'y', i): c}, const)"""
    if isinstance(t, str):
        if t in decl:
            return {decl[t]: 1.0}, 0.0
        return {}, float(t)
    op, args = t[0], [lin(a, decl) for a in t[1:]]

    def add(a, b, s=1.0):
        d = dict(a[0])
        for k, v in b[0].items():
            d[k] = d.get(k, 0.0) + s * v
        return d, a[1] + s * b[1]
    if op == "+":
        r = ({}, 0.0)
        for a in args:
            r = add(r, a)
        return r
    if op == "-":
        if len(args) == 1:
            return add(({}, 0.0), args[0], -1.0)
        r = args[0]
        for a in args[1:]:
            r = add(r, a, -1.0)
        return r
    if op == "*":
        k, var = 1.0, None
        for a in args:
            if a[0]:
                assert var is None, "nonlinear"
                var = a
            else:
                k *= a[1]
        if var is None:
            return {}, k
        return {v: k * c for v, c in var[0].items()}, k * var[1]
    raise ValueError(op)


def formula(f, decl, n, m):
    """DNF: list of disjuncts, each a list of (g (n,), h (m,), rhs): g x + h y <= rhs."""
    op = f[0]
    if op in ("and", "or"):
        subs = [formula(a, decl, n, m) for a in f[1:]]
        if op == "or":
            return [d for s in subs for d in s]
        res = [[]]
        for s in subs:
            res = [a + b for a in res for b in s]
        return res
    assert op in ("<=", ">="), op
    terms = [lin(a, decl) for a in f[1:]]
    conds = []
    for a, b in zip(terms, terms[1:]):
        lo_, hi_ = (a, b) if op == "<=" else (b, a)   # lo_ <= hi_
        g, h = np.zeros(n), np.zeros(m)
        for (kind, i), c in lo_[0].items():
            (g if kind == "x" else h)[i] += c
        for (kind, i), c in hi_[0].items():
            (g if kind == "x" else h)[i] -= c
        conds.append((g, h, hi_[1] - lo_[1]))
    return [conds]


def read_property(text, n, m):
    decl = {}
    asserts = []
    for cmd in sexp(text):
        if cmd[0] == "declare-const":
            nm = cmd[1]
            decl[nm] = ("x" if nm[0] == "X" else "y", int(nm[2:]))
        elif cmd[0] == "assert":
            asserts.append(cmd[1])
        else:
            raise ValueError(cmd[0])
    return formula(["and"] + asserts, decl, n, m)


# ---------------------------------------------------------------- reference
def split_disjunct(conds, n, netlo, nethi):
    """reluc's classification (man page, VERIFICATION): box, input rows, output rows."""
    lo = np.array(netlo, float) if netlo is not None else np.full(n, -INF)
    hi = np.array(nethi, float) if nethi is not None else np.full(n, INF)
    rows, outs = [], []
    for g, h, r in conds:
        if np.any(h != 0):
            outs.append((g, h, r))
            continue
        nz = np.nonzero(g)[0]
        if len(nz) == 1 and abs(g[nz[0]]) == 1.0:
            j = nz[0]
            if g[j] > 0:
                hi[j] = min(hi[j], r)
            else:
                lo[j] = max(lo[j], -r)
        else:
            rows.append((g, float(r)))
    return lo, hi, rows, outs


def terms_of(g, h):
    return [(float(c), ("x", i)) for i, c in enumerate(g) if c != 0] + \
           [(float(c), ("y", 0, j)) for j, c in enumerate(h) if c != 0]


def region_margin(net, n, lo, hi, rows, outs, regions):
    """max over regions of max t s.t. t <= rhs_r - (g_r x + h_r y(x)); returns (margin, x)."""
    prob = dict(nets=[net], n=n)
    best, bx = -INF, None
    baseA = [g for g, _ in rows]
    baseb = [b for _, b in rows]
    bnds_lo = list(lo) + [-INF]
    bnds_hi = list(hi) + [INF]
    for reg in regions:
        A = [np.append(a, 0.0) for a in list(reg["A"]) + baseA]
        b = list(reg["b"]) + baseb
        for g, h, r in outs:
            v, c = expr_affine(reg, prob, terms_of(g, h))
            A.append(np.append(v, 1.0))
            b.append(r - c)
        cvec = np.zeros(n + 1); cvec[-1] = -1.0
        res = lp(cvec, A, b, None, None, bnds_lo, bnds_hi)
        if res.status == 2:
            continue
        if res.status != 0:
            raise RuntimeError(f"region LP status {res.status}: {res.message}")
        if -res.fun > best:
            best, bx = -res.fun, res.x[:n].copy()
    return best, bx


def forward(net, x):
    return forward_all([net], np.asarray(x, float))[0][1]


def cond_slacks(net, x, y, outs):
    """per output row: (slack rhs - lhs, magnitude |terms| + |rhs|)"""
    out = []
    for g, h, r in outs:
        lhs = float(g @ x + h @ y)
        mag = float(np.sum(np.abs(g * x)) + np.sum(np.abs(h * y)) + abs(r))
        out.append((r - lhs, mag))
    return out


def interval_bounds(net, lo, hi):
    """per layer (pre lo, pre hi), on the network's normalized input."""
    l, u = np.asarray(lo, float), np.asarray(hi, float)
    if net.get("in_mean") is not None:
        l, u = l - np.asarray(net["in_mean"]), u - np.asarray(net["in_mean"])
    if net.get("in_scale") is not None:
        s = np.asarray(net["in_scale"])
        l, u = np.minimum(l / s, u / s), np.maximum(l / s, u / s)
    res = []
    for (W, b, act, _n) in net["layers"]:
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        zl, zu = Wp @ l + Wn @ u + b, Wp @ u + Wn @ l + b
        res.append((zl, zu))
        l, u = (np.maximum(zl, 0), np.maximum(zu, 0)) if act == "relu" else (zl, zu)
    return res


def milp_margin(net, n, lo, hi, rows, outs):
    """Independent check: the disjunct's largest margin by a big-M MILP (interval bounds)."""
    ib = interval_bounds(net, lo, hi)
    # variables: x (n), per hidden neuron h, per unstable neuron d, t
    idx = n
    layers = net["layers"]
    hvar, dvar = [], []
    for l, (W, b, act, _n) in enumerate(layers[:-1]):
        hvar.append(list(range(idx, idx + W.shape[0]))); idx += W.shape[0]
    for l, (W, b, act, _n) in enumerate(layers[:-1]):
        zl, zu = ib[l]
        dl = []
        for i in range(W.shape[0]):
            if zl[i] < 0 < zu[i]:
                dl.append(idx); idx += 1
            else:
                dl.append(None)
        dvar.append(dl)
    tvar = idx; nv = idx + 1
    A, L, U = [], [], []
    lb, ub = np.full(nv, -INF), np.full(nv, INF)
    lb[:n], ub[:n] = lo, hi
    integ = np.zeros(nv)

    def prev_affine(l):
        """input of layer l as (M (.., nv), m)"""
        if l == 0:
            M = np.zeros((n, nv)); M[:, :n] = np.eye(n); m = np.zeros(n)
            if net.get("in_mean") is not None:
                m = m - np.asarray(net["in_mean"])
            if net.get("in_scale") is not None:
                s = np.asarray(net["in_scale"]); M = M / s[:, None]; m = m / s
            return M, m
        k = len(hvar[l - 1])
        M = np.zeros((k, nv))
        for i, v in enumerate(hvar[l - 1]):
            M[i, v] = 1.0
        return M, np.zeros(k)
    for l, (W, b, act, _n) in enumerate(layers[:-1]):
        M, m = prev_affine(l)
        ZM, zm = W @ M, W @ m + b
        zl, zu = ib[l]
        for i in range(W.shape[0]):
            hv = hvar[l][i]
            e = np.zeros(nv); e[hv] = 1.0
            if act != "relu" or zl[i] >= 0:
                A.append(e - ZM[i]); L.append(zm[i]); U.append(zm[i])
                if act != "relu":
                    continue
            elif zu[i] <= 0:
                lb[hv], ub[hv] = 0.0, 0.0
            else:
                d = dvar[l][i]
                lb[hv], ub[hv] = 0.0, zu[i]
                lb[d], ub[d] = 0.0, 1.0; integ[d] = 1
                A.append(e - ZM[i]); L.append(zm[i]); U.append(INF)          # h >= z
                r = e - ZM[i]; r = r.copy(); r[d] = -zl[i]
                A.append(r); L.append(-INF); U.append(zm[i] - zl[i])          # h <= z - l(1-d)
                r = e.copy(); r[d] = -zu[i]
                A.append(r); L.append(-INF); U.append(0.0)                     # h <= u d
    W, b, act, _n = layers[-1]
    M, m = prev_affine(len(layers) - 1)
    YM, ym = W @ M, W @ m + b
    if net.get("out_scale") is not None:
        s = np.asarray(net["out_scale"]); YM = YM * s[:, None]; ym = ym * s
    if net.get("out_mean") is not None:
        ym = ym + np.asarray(net["out_mean"])
    for g, bb in rows:
        r = np.zeros(nv); r[:n] = g
        A.append(r); L.append(-INF); U.append(bb)
    for g, h, rr in outs:
        r = h @ YM; r = r.copy(); r[:n] += g; r[tvar] = 1.0
        A.append(r); L.append(-INF); U.append(rr - h @ ym)
    c = np.zeros(nv); c[tvar] = -1.0
    res = milp(c, constraints=LinearConstraint(np.array(A), L, U), integrality=integ,
               bounds=Bounds(lb, ub), options=dict(mip_rel_gap=0, presolve=True, time_limit=60))
    if res.status != 0 or res.x is None:
        return None if res.status == 2 else f"milp status {res.status}"
    return -res.fun


def disjunct_reference(net, n, m, conds, netlo, nethi, cache, srng):
    lo, hi, rows, outs = split_disjunct(conds, n, netlo, nethi)
    info = dict(nrows=len(rows), nouts=len(outs), mixed=any(np.any(g != 0) for g, h, r in outs))
    if np.any(~np.isfinite(lo)) or np.any(~np.isfinite(hi)):
        info.update(kind="unbounded", margin=None)
        return info
    if np.any(lo > hi):
        info.update(kind="crossing_bounds", margin=-INF)
        return info
    key = (tuple(lo), tuple(hi), tuple((tuple(g), b) for g, b in rows))
    if key not in cache:
        prob = dict(nets=[net], n=n, lo=list(lo), hi=list(hi), in_rows=rows)
        en = enumerate_regions(prob, max_regions=6000)
        cache[key] = en
    en = cache[key]
    if en is None:
        info.update(kind="empty_polytope", margin=-INF)
        return info
    regions, stats = en
    info["nregions"] = len(regions)
    if not outs:
        info.update(kind="no_output_rows", margin=INF, x=list(regions[0]["w"]))
        return info
    mg, x = region_margin(net, n, lo, hi, rows, outs, regions)
    y = forward(net, x)
    sl = cond_slacks(net, x, y, outs)
    worst = int(np.argmin([s for s, _ in sl]))
    info.update(kind="regions", margin=mg, x=list(x), y=list(y), S=max(mm for _, mm in sl),
                worst_row=worst, worst_slack_fwd=sl[worst][0])
    return info


def sample_check(net, n, conds, netlo, nethi, srng, k=400):
    lo, hi, rows, outs = split_disjunct(conds, n, netlo, nethi)
    if not outs or np.any(lo > hi) or not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)):
        return None
    S = lo + (hi - lo) * srng.random((k, n))
    best = -INF
    for x in S:
        if any(g @ x > b for g, b in rows):
            continue
        y = forward(net, x)
        best = max(best, min(s for s, _ in cond_slacks(net, x, y, outs)))
    return best


def property_reference(net, n, m, text, netlo, nethi, cache, pid, with_milp=True):
    dis = read_property(text, n, m)
    srng = np.random.default_rng(pid + 77)
    out = []
    for d in dis:
        info = disjunct_reference(net, n, m, d, netlo, nethi, cache, srng)
        if info["kind"] == "regions":
            lo, hi, rows, outs = split_disjunct(d, n, netlo, nethi)
            if with_milp:
                try:
                    info["milp"] = milp_margin(net, n, lo, hi, rows, outs)
                except Exception as e:
                    info["milp"] = f"error {e!r}"[:200]
            info["sample_best"] = sample_check(net, n, d, netlo, nethi, srng)
        out.append(info)
    return dis, out


# ---------------------------------------------------------------- generator
def write_nnet(path, net, mins, maxs, rng):
    layers = net["layers"]
    n_in = layers[0][0].shape[1]
    sizes = [n_in] + [W.shape[0] for W, _, _, _ in layers]
    tc = "," if rng.random() < 0.7 else ""

    def line(v):
        return ",".join(num(x) for x in v) + tc
    L = ["// NNet written by bench/differential/verify_campaign.py",
         "// hidden layers ReLU, last layer linear",
         f"{len(layers)},{n_in},{sizes[-1]},{max(sizes)}" + tc, line(sizes).replace(".0", ""), "0" + tc,
         line(mins), line(maxs),
         line(list(net["in_mean"]) + [net["out_mean"][0]]),
         line(list(net["in_scale"]) + [net["out_scale"][0]])]
    for W, b, _a, _n in layers:
        for row in W:
            L.append(line(row))
        for v in b:
            L.append(num(v) + tc)
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def gen_network(rng, cats):
    n = int(rng.integers(INPUTS[0], INPUTS[1] + 1))
    if INPUTS == DEFAULT_INPUTS:
        nh = int(rng.integers(1, 4))
        widths = [int(rng.integers(3, 11)) for _ in range(nh)]
    else:   # small enough for the enumeration: 1-2 ReLU layers of 3-8, 16 ReLUs at most
        nh = int(rng.integers(1, 3))
        widths = [int(rng.integers(3, 9)) for _ in range(nh)]
        while sum(widths) > 16:
            widths[int(np.argmax(widths))] -= 1
        cats.add(f"inputs{INPUTS[0]}-{INPUTS[1]}")
    n_out = int(rng.integers(1, 5))
    gscale = float(rng.choice([0.1, 1.0, 1.0, 1.0, 3.0]))
    if gscale != 1.0:
        cats.add(f"wscale{gscale}")
    layers, prev = [], n
    for l, w in enumerate(widths + [n_out]):
        sc = gscale * float(rng.choice([0.3, 1.0, 1.0, 2.0]))
        W, b = rand_weights(rng, w, prev, sc)
        layers.append((W, b * (gscale if rng.random() < 0.5 else 1.0),
                       "relu" if l < len(widths) else "linear", None))
        prev = w
    net = dict(layers=layers, xidx=list(range(n)), alias=None, outname="y", netname="A",
               in_mean=None, in_scale=None, out_mean=None, out_scale=None)
    return net, n, n_out, widths


def count_patterns(net, lo, hi, rng, k=1500):
    S = lo + (hi - lo) * rng.random((k, len(lo)))
    pats = set()
    for s in S:
        layers, _y = forward_all([net], s)[0]
        pats.add(tuple(np.concatenate([z[:] > 0 for z, _h in layers[:-1]])))
    return len(pats)


def wterm(coefs, const, rng):
    """A linear term in VNN-LIB: coefs {name: c} + const."""
    parts = []
    for nm, c in coefs.items():
        if c == 1.0:
            parts.append(nm)
        elif c == -1.0:
            parts.append(f"(- {nm})" if rng.random() < 0.7 else f"(* -1.0 {nm})")
        else:
            parts.append(f"(* {num(c)} {nm})" if rng.random() < 0.8 else f"(* {nm} {num(c)})")
    if not parts:
        return num(const)
    if const != 0.0:
        if const < 0 and rng.random() < 0.5:
            return f"(- {' '.join(parts) if len(parts) == 1 else '(+ ' + ' '.join(parts) + ')'} {num(-const)})"
        parts.append(num(const))
    return parts[0] if len(parts) == 1 else "(+ " + " ".join(parts) + ")"


class Chain:
    """op over terms; each term (coefs {name: c}, const); shiftable when it names an output."""

    def __init__(self, op, terms, base=None):
        self.op, self.terms = op, [(dict(c), float(k)) for c, k in terms]
        self.shiftable = any(nm.startswith("Y") for c, _ in self.terms for nm in c)
        if base is None:
            consts = [i for i, (c, _) in enumerate(self.terms) if not c]
            base = consts[0] if consts else 0
        self.base = base

    def text(self, rng, d=0.0):
        out = []
        for i, (c, k) in enumerate(self.terms):
            off = (i - self.base) * d if self.shiftable else 0.0
            if self.op == ">=":
                off = -off
            out.append(wterm(c, k + off, rng))
        return f"({self.op} " + " ".join(out) + ")"


def gen_problem(pid, outdir):
    """Network files and a property template (a function of the shift d); returns meta."""
    rng = np.random.default_rng((SEED0 if INPUTS == DEFAULT_INPUTS else WIDE_SEED0) + pid)
    cats = set()
    net, n, m, widths = gen_network(rng, cats)
    # input box
    kind = rng.random()
    ctr = np.round(rng.uniform(-2, 2, n), 2)
    if kind < 0.15:
        hw = rng.uniform(1e-4, 1e-2, n); cats.add("tiny_box")
    elif kind < 0.35:
        hw = rng.uniform(2, 15, n); cats.add("wide_box")
    else:
        hw = rng.uniform(0.1, 1.5, n)
    hw = np.round(hw, 4) if rng.random() < 0.5 else hw
    deg = rng.random(n) < (0.08 if INPUTS == DEFAULT_INPUTS else 0.02)
    if deg.any():
        cats.add("degenerate_input")
    for _ in range(10):   # keep the enumeration small: shrink boxes with many patterns
        lo, hi = ctr - hw, ctr + hw
        lo[deg] = hi[deg] = ctr[deg]
        if count_patterns(net, lo, hi, rng) <= 300:
            break
        hw = hw / 2; cats.add("shrunk")
    lo = [float(v) for v in lo]; hi = [float(v) for v in hi]
    # normalization / formats
    nnet = rng.random() < 0.35
    if nnet or rng.random() < 0.15:
        cats.add("norm")
        net["in_mean"] = list(np.round(rng.normal(0, 1, n), 3))
        net["in_scale"] = list(np.round(rng.uniform(0.5, 3, n), 3))
        om, osc = float(np.round(rng.normal(0, 1), 3)), float(np.round(rng.uniform(0.5, 3), 3))
        net["out_mean"], net["out_scale"] = [om] * m, [osc] * m
        if rng.random() < 0.3:   # identity normalization
            net["in_mean"], net["in_scale"] = [0.0] * n, [1.0] * n
            net["out_mean"], net["out_scale"] = [0.0] * m, [1.0] * m
    netlo = nethi = None
    if nnet or rng.random() < 0.2:
        # network bounds: wide, or tighter than the property's on some inputs
        netlo = [v - float(rng.choice([1.0, 100.0, 1e4])) for v in lo]
        nethi = [v + float(rng.choice([1.0, 100.0, 1e4])) for v in hi]
        if rng.random() < 0.3:
            j = int(rng.integers(n))
            if hi[j] > lo[j]:
                netlo[j] = lo[j] + (hi[j] - lo[j]) * 0.3
                cats.add("net_bounds_tighter")
        cats.add("net_bounds")
    write_xml(os.path.join(outdir, "net.xml"), net, "x", "y", netlo, nethi)
    nets_files = ["net.xml"]
    if nnet:
        write_nnet(os.path.join(outdir, "net.nnet"), net, netlo, nethi, rng)
        nets_files.append("net.nnet")
    # effective global box for samples
    elo = np.maximum(lo, netlo) if netlo is not None else np.array(lo)
    ehi = np.minimum(hi, nethi) if nethi is not None else np.array(hi)
    S = elo + (ehi - elo) * rng.random((300, n))
    Y = np.array([forward(net, s) for s in S])

    def yq(coefs_y, q):
        v = Y @ coefs_y
        return float(np.quantile(v, q))

    # property structure
    nd = int(rng.choice([1, 1, 1, 1, 2, 2, 3, 4]))
    style = "shared" if (nd == 1 or rng.random() < 0.6) else "perbox"
    cats.add(f"d{nd}"); cats.add(style)
    mixed = rng.random() < 0.1

    def bound_chains(blo, bhi):
        ch = []
        for i in range(n):
            X = f"X_{i}"
            r = rng.random()
            if blo[i] == bhi[i] and r < 0.5:
                ch.append(Chain("<=", [({}, blo[i]), ({X: 1.0}, 0), ({}, bhi[i])]))
            elif r < 0.35:
                ch.append(Chain("<=", [({X: 1.0}, 0), ({}, bhi[i])]))
                ch.append(Chain(">=", [({X: 1.0}, 0), ({}, blo[i])]))
            elif r < 0.55:
                ch.append(Chain("<=", [({}, blo[i]), ({X: 1.0}, 0), ({}, bhi[i])]))
            elif r < 0.7:
                ch.append(Chain(">=", [({}, bhi[i]), ({X: 1.0}, 0), ({}, blo[i])]))
            elif r < 0.85:
                ch.append(Chain(">=", [({}, bhi[i]), ({X: 1.0}, 0)]))
                ch.append(Chain("<=", [({X: -1.0}, 0), ({}, -blo[i])]))
            else:
                ch.append(Chain(">=", [({X: 1.0}, 0), ({}, blo[i])]))
                ch.append(Chain("<=", [({X: 1.0}, 0), ({}, bhi[i])]))
        return ch

    def input_rows(blo, bhi, empty=False):
        ch = []
        for _ in range(int(rng.integers(1, 3))):
            a = np.round(rng.normal(0, 1, n), 2)
            a[rng.random(n) < 0.4] = 0.0
            if np.count_nonzero(a) < 2:
                a[:2] = [1.0, 1.0]
            vmin = float(np.sum(np.minimum(a * blo, a * bhi)))
            vc = float(a @ ((np.array(blo) + np.array(bhi)) / 2))
            b = vmin + (vc - vmin) * rng.uniform(0.3, 1.6)
            if empty:
                b = vmin - 0.01 - abs(rng.normal(0, 0.3)); cats.add("empty_input_rows")
            b = float(np.round(b, 3)) if rng.random() < 0.5 else b
            co = {f"X_{i}": float(a[i]) for i in range(n) if a[i] != 0}
            if rng.random() < 0.5:
                ch.append(Chain("<=", [(co, 0), ({}, b)]))
            else:
                ch.append(Chain(">=", [({}, b), (co, 0)]))
        cats.add("input_rows")
        return ch

    def out_chains(k):
        ch = []
        for _ in range(k):
            r = rng.random()
            if r < 0.3 or m == 1 and r < 0.6:      # single-output bound
                j = int(rng.integers(m))
                c = {f"Y_{j}": 1.0}; cy = np.eye(m)[j]
                if rng.random() < 0.5:
                    ch.append(Chain(">=", [(c, 0), ({}, yq(cy, rng.uniform(0.3, 0.95)))]))
                else:
                    ch.append(Chain("<=", [(c, 0), ({}, yq(cy, rng.uniform(0.05, 0.7)))]))
                cats.add("out_bound")
            elif r < 0.55 and m >= 2:               # ACAS Xu: (<= Y_i Y_j)
                i, j = rng.choice(m, 2, replace=False)
                ch.append(Chain("<=", [({f"Y_{i}": 1.0}, 0), ({f"Y_{j}": 1.0}, 0)]))
                cats.add("out_diff")
            elif r < 0.8:                            # general row
                cy = np.round(rng.normal(0, 1.5, m), 2)
                cy[rng.random(m) < 0.3] = 0
                if not cy.any():
                    cy[int(rng.integers(m))] = 2.0
                c = {f"Y_{j}": float(cy[j]) for j in range(m) if cy[j] != 0}
                ch.append(Chain("<=", [(c, 0), ({}, yq(cy, rng.uniform(0.05, 0.8)))]))
                cats.add("out_general")
            else:                                    # chains
                if m >= 3 and rng.random() < 0.5:
                    idx = rng.choice(m, 3, replace=False)
                    ch.append(Chain(rng.choice(["<=", ">="]),
                                    [({f"Y_{int(i)}": 1.0}, 0) for i in idx], base=int(rng.integers(3))))
                else:
                    j = int(rng.integers(m)); cy = np.eye(m)[j]
                    a, b = sorted([yq(cy, rng.uniform(0.05, 0.5)), yq(cy, rng.uniform(0.5, 0.95))])
                    ch.append(Chain("<=", [({}, a), ({f"Y_{j}": 1.0}, 0), ({}, b)], base=1))
                cats.add("out_chain")
        if mixed and ch:
            c0 = ch[0]
            for t, (co, k) in enumerate(c0.terms):
                if co:
                    co[f"X_{int(rng.integers(n))}"] = float(np.round(rng.normal(0, 0.5), 2)) or 0.5
                    break
            cats.add("mixed_row")
        return ch

    glob_lo, glob_hi = np.array(lo), np.array(hi)
    top = []        # top-level asserts: list of Chain or ("and"/"or", ...)
    disj = []       # per disjunct: list of Chain
    if style == "shared":
        top += bound_chains(lo, hi)
        if rng.random() < 0.3:
            top += input_rows(lo, hi, empty=rng.random() < 0.1)
        for _ in range(nd):
            k = 0 if (nd > 1 and rng.random() < 0.03) else int(rng.integers(1, 4))
            if k == 0:
                cats.add("no_output_rows")
            disj.append(out_chains(k))
    else:
        for di in range(nd):
            f = rng.uniform(0.2, 1.0, n)
            s = rng.uniform(0, 1, n) * (1 - f)
            blo = glob_lo + (glob_hi - glob_lo) * s
            bhi = blo + (glob_hi - glob_lo) * f
            blo, bhi = [float(v) for v in blo], [float(v) for v in bhi]
            if rng.random() < 0.05:
                j = int(rng.integers(n)); blo[j], bhi[j] = bhi[j] + 0.1, blo[j]; cats.add("crossing_bounds")
            ch = bound_chains(blo, bhi)
            if rng.random() < 0.2:
                ch += input_rows(blo, bhi, empty=rng.random() < 0.1)
            ch += out_chains(int(rng.integers(1, 4)))
            disj.append(ch)
    shuffle_decl = rng.random() < 0.1
    one_and = rng.random() < 0.5
    wseed = int(rng.integers(1 << 30))

    def text(d):
        wr = np.random.default_rng(wseed)
        L = [f"; problem {pid} (bench/differential/verify_campaign.py)"]
        decl = [f"(declare-const X_{i} Real)" for i in range(n)] + \
               [f"(declare-const Y_{j} Real)" for j in range(m)]
        if shuffle_decl:
            decl = decl[::-1]
        L += decl
        if one_and and len(top) > 1:
            L.append("(assert (and " + " ".join(c.text(wr, d) for c in top) + "))")
        else:
            L += [f"(assert {c.text(wr, d)})" for c in top]
        if len(disj) == 1:
            if one_and or len(disj[0]) == 1:
                L += [f"(assert {c.text(wr, d)})" for c in disj[0]]
            else:
                L.append("(assert (and " + " ".join(c.text(wr, d) for c in disj[0]) + "))")
        else:
            parts = []
            for ch in disj:
                if not ch:
                    parts.append("(and)" if wr.random() < 0.0 else "(and (<= 0 1))")
                elif len(ch) == 1 and wr.random() < 0.5:
                    parts.append(ch[0].text(wr, d))
                else:
                    parts.append("(and " + " ".join(c.text(wr, d) for c in ch) + ")")
            L.append("(assert (or\n  " + "\n  ".join(parts) + "))")
        return "\n".join(L) + "\n"
    # target margin
    r = rng.random()
    if r < 0.3:
        tkind, u = "sat", rng.uniform(0.05, 0.5)
    elif r < 0.6:
        tkind, u = "unsat", -rng.uniform(0.05, 0.5)
    elif r < 0.82:
        tkind, u = "near", float(rng.choice([-1, 1])) * rng.uniform(0.2, 1.0) * 1e-6
    elif r < 0.87:
        tkind, u = "near_border", float(rng.choice([-1, 1])) * rng.uniform(0, 1) * 1e-8
    else:
        tkind, u = "band", float(rng.choice([-1, 1])) * 10 ** rng.uniform(-5.7, -3.3)
    noshift = rng.random() < 0.08
    return dict(pid=pid, rng=rng, net=net, n=n, m=m, netlo=netlo, nethi=nethi, text=text,
                tkind=tkind, u=u, noshift=noshift, cats=cats, nets_files=nets_files,
                widths=widths, spread=float(np.std(Y)) if Y.size else 1.0)


def prepare(pid):
    d = os.path.join(BASE, f"p{pid}")
    os.makedirs(d, exist_ok=True)
    t0 = time.time()
    try:
        g = gen_problem(pid, d)
        net, n, m = g["net"], g["n"], g["m"]
        cache = {}
        text0 = g["text"](0.0)
        _dis, infos0 = property_reference(net, n, m, text0, g["netlo"], g["nethi"], cache, pid, with_milp=False)
        M0 = max((i["margin"] for i in infos0 if i["margin"] is not None), default=-INF)
        shift = 0.0
        target = None
        if np.isfinite(M0) and not g["noshift"]:
            best = max((i for i in infos0 if i["margin"] == M0), key=lambda i: i.get("S", 0))
            S = best.get("S", 1.0)
            if g["tkind"] in ("sat", "unsat"):
                target = g["u"] * max(g["spread"], 1e-3)
            elif g["tkind"] == "band":
                target = g["u"]
            else:
                target = g["u"] * (1 + S)
            shift = target - M0
        text = g["text"](shift)
        with open(os.path.join(d, "prop.vnnlib"), "w") as f:
            f.write(text)
        dis, infos = property_reference(net, n, m, text, g["netlo"], g["nethi"], cache, pid)
        margins = [i["margin"] for i in infos if i["margin"] is not None]
        margin = max(margins, default=-INF)
        bi = int(np.argmax(margins)) if margins else None
        S = infos[bi].get("S", 1.0) if bi is not None else 1.0
        bt = BORDER * (1 + S)
        cls = "sat" if margin > bt else ("unsat" if margin < -bt else "borderline")
        doubts = []
        for k, i in enumerate(infos):
            if i["kind"] != "regions":
                continue
            mi = i.get("milp")
            if isinstance(mi, str):
                doubts.append(f"d{k + 1}: {mi}")
            elif mi is not None and abs(mi - i["margin"]) > 1e-6 * (1 + i["S"]):
                doubts.append(f"d{k + 1}: milp {mi} vs enum {i['margin']}")
            sb = i.get("sample_best")
            if sb is not None and sb > i["margin"] + 1e-9 * (1 + i["S"]):
                doubts.append(f"d{k + 1}: sample {sb} > enum {i['margin']}")
            if abs(i["worst_slack_fwd"] - i["margin"]) > 1e-7 * (1 + i["S"]):
                doubts.append(f"d{k + 1}: forward slack {i['worst_slack_fwd']} vs LP {i['margin']}")
        ref = dict(pid=pid, n=n, m=m, widths=g["widths"], cats=sorted(g["cats"]), tkind=g["tkind"],
                   target=target, M0=M0, shift=shift, margin=margin, best_disjunct=None if bi is None else bi + 1,
                   S=S, cls=cls, disjuncts=infos, doubts=doubts, nets=g["nets_files"],
                   netlo=g["netlo"], nethi=g["nethi"], ref_secs=round(time.time() - t0, 2))
        net_ser = dict(layers=[(W.tolist(), b.tolist(), a) for W, b, a, _ in net["layers"]],
                       in_mean=net["in_mean"], in_scale=net["in_scale"], out_mean=net["out_mean"],
                       out_scale=net["out_scale"])
        ref["net"] = net_ser
        bad = make_malformed(pid, d, g, text)
        ref["malformed"] = bad
        with open(os.path.join(d, "ref.json"), "w") as f:
            json.dump(ref, f, default=float)
        return ref
    except Exception:
        return dict(pid=pid, error=traceback.format_exc())


MAL_KINDS = ["index_out_of_range", "size_mismatch", "undeclared", "check_sat", "strict",
             "nonlinear", "missing_network"]
MAL_ID = {"index_out_of_range": "vnnlib-index-out-of-range", "size_mismatch": "vnnlib-size-mismatch",
          "undeclared": "unknown-name", "check_sat": "vnnlib-expected-command",
          "strict": "strict-inequality", "nonlinear": "vnnlib-nonlinear", "missing_network": None}


def make_malformed(pid, d, g, text):
    if pid % 10 != 0:
        return None
    kind = MAL_KINDS[(pid // 10) % len(MAL_KINDS)]
    n, m = g["n"], g["m"]
    t = text
    if kind == "index_out_of_range":
        if (pid // 70) % 2 == 0:
            t = t + f"(declare-const X_{n} Real)\n(assert (<= X_{n} 1.0))\n"
        else:
            t = t + f"(declare-const Y_{m} Real)\n(assert (<= Y_{m} 1.0))\n"
    elif kind == "size_mismatch":
        # one input (or output) fewer than the network's, every declared one used
        nx, ny = (n - 1, m) if ((pid // 70) % 2 == 0 or m < 2) else (n, m - 1)
        L = [f"(declare-const X_{i} Real)" for i in range(nx)] + \
            [f"(declare-const Y_{j} Real)" for j in range(ny)]
        L += [f"(assert (<= -1 X_{i} 1))" for i in range(nx)] + ["(assert (>= Y_0 0.5))"]
        t = "\n".join(L) + "\n"
    elif kind == "undeclared":
        t = t + "(assert (<= (+ Y_0 Z_1) 1.0))\n"
    elif kind == "check_sat":
        t = t + "(check-sat)\n"
    elif kind == "strict":
        t = t + "(assert (< Y_0 1.0))\n"
    elif kind == "nonlinear":
        t = t + "(assert (<= (* X_0 Y_0) 1.0))\n"
    p = os.path.join(d, f"bad_{kind}.vnnlib")
    with open(p, "w") as f:
        f.write(t)
    return dict(kind=kind, path=p, expect_id=MAL_ID[kind])


# ---------------------------------------------------------------- runs and checks
def run_reluc(args, timeout):
    cmd = ["nice", "-n", "10", RELUC, "verify"] + args
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        def dec(s):
            return s.decode(errors="replace") if isinstance(s, bytes) else (s or "")
        rc, out, err = "HANG", dec(e.stdout), dec(e.stderr)
    return dict(cmd=" ".join(cmd[3:]), rc=rc, wall=time.time() - t0, stdout=out, stderr=err)


def load_net(ref):
    s = ref["net"]
    return dict(layers=[(np.array(W), np.array(b), a, None) for W, b, a in s["layers"]],
                xidx=list(range(ref["n"])), in_mean=s["in_mean"], in_scale=s["in_scale"],
                out_mean=s["out_mean"], out_scale=s["out_scale"])


def parse_witness(lines, n, m):
    pairs = re.findall(r"\(\s*([XY])_(\d+)\s+([^\s()]+)\s*\)", "\n".join(lines))
    xs = [(int(i), float(v)) for k, i, v in pairs if k == "X"]
    ys = [(int(i), float(v)) for k, i, v in pairs if k == "Y"]
    if [i for i, _ in xs] != list(range(n)) or [j for j, _ in ys] != list(range(m)):
        return None, None
    return np.array([v for _, v in xs]), np.array([v for _, v in ys])


def describe(g, h, r):
    t = [f"{c:+.6g}*X_{i}" for i, c in enumerate(g) if c != 0] + [f"{c:+.6g}*Y_{j}" for j, c in enumerate(h) if c != 0]
    return " ".join(t) + f" <= {r!r}"


def check_witness(ref, net, dis, x, y):
    """Per disjunct: box violation (exact), input-row and output-row violations (absolute, and
    scaled by 1 + |terms|); the disjunct that fits best."""
    n = ref["n"]
    yf = forward(net, x)
    ydiff = float(np.max(np.abs(yf - y) / np.maximum(1.0, np.abs(yf)))) if len(y) else 0.0
    best = None
    for k, conds in enumerate(dis):
        lo, hi, rows, outs = split_disjunct(conds, n, ref["netlo"], ref["nethi"])
        if np.any(lo > hi):
            continue
        box = float(max(0.0, np.max(lo - x), np.max(x - hi)))
        rowv = max([float(g @ x - b) for g, b in rows], default=-INF)
        rows_rel = max([float((g @ x - b) / (1 + np.sum(np.abs(g * x)) + abs(b))) for g, b in rows], default=-INF)
        sl = cond_slacks(net, x, yf, outs)
        outv = max([-s for s, _ in sl], default=-INF)
        out_rel = max([-s / (1 + mg) for s, mg in sl], default=-INF)
        worst = int(np.argmax([-s for s, _ in sl])) if sl else None
        margin = min([s for s, _ in sl], default=INF)
        doc_ok = box == 0.0 and rowv <= DOC_OUT_TOL and outv <= DOC_OUT_TOL
        strict_ok = box == 0.0 and rows_rel <= 1e-6 and out_rel <= 1e-6
        score = (0 if strict_ok else 1 if doc_ok else 2, max(box, rowv, outv))
        rec = dict(disjunct=k + 1, box_viol=box, row_viol=rowv, out_viol=outv, out_viol_rel=out_rel,
                   worst_row=worst, margin=margin, doc_ok=doc_ok, strict_ok=strict_ok, score=score)
        if best is None or score < best["score"]:
            best = rec
    return ydiff, best


def check_run(ref, net, dis, r, timeout):
    iss = []
    rc = r["rc"]
    if rc == "HANG":
        return [("hang", f"no exit within {timeout}+5 s")], None, None
    if rc != 0:
        kind = "crash" if (rc < 0 or rc == 70 or rc >= 128) else "exit_code"
        iss.append((kind, f"rc={rc} stderr={r['stderr'][-400:]}"))
    lines = r["stdout"].splitlines()
    ans = lines[0].strip() if lines else None
    if ans not in ("sat", "unsat", "unknown", "timeout"):
        iss.append(("no_answer", f"stdout={r['stdout'][:300]!r}"))
        return iss, ans, None
    if r["stderr"].strip():
        iss.append(("stderr_noise", r["stderr"][-300:]))
    if r["wall"] > timeout + 2:
        iss.append(("slow", f"wall {r['wall']:.1f}s > timeout {timeout} + 2"))
    margin, cls, S = ref["margin"], ref["cls"], ref["S"]
    mixed = any(i.get("mixed") for i in ref["disjuncts"])
    wit = None
    if ans == "sat":
        x, y = parse_witness(lines[1:], ref["n"], ref["m"])
        if x is None:
            iss.append(("bad_witness", f"unparsable witness {lines[1:6]}"))
        else:
            ydiff, w = check_witness(ref, net, dis, x, y)
            wit = dict(x=list(x), y=list(y), ydiff=ydiff, **(w or {}))
            wit.pop("score", None)
            if ydiff > 1e-6:
                iss.append(("bad_witness", f"Y differs from the forward pass of X by {ydiff:.3g} (relative)"))
            if w is None:
                iss.append(("bad_witness", "every disjunct is empty"))
            elif not w["doc_ok"]:
                iss.append(("bad_witness", f"best disjunct {w['disjunct']}: box {w['box_viol']:.3g} "
                            f"input rows {w['row_viol']:.3g} output rows {w['out_viol']:.3g} (documented 1e-4)"))
            elif not w["strict_ok"]:
                iss.append(("witness_only_within_doc_tol", f"disjunct {w['disjunct']}: output rows "
                            f"{w['out_viol']:.3g} abs, {w['out_viol_rel']:.3g} rel; input rows {w['row_viol']:.3g}"))
            if w is not None and np.isfinite(margin) and w["margin"] > margin + 1e-7 * (1 + S) and w["box_viol"] == 0 \
                    and w["row_viol"] <= 1e-9:
                iss.append(("REFERENCE_DOUBT", f"witness margin {w['margin']} > reference {margin}"))
        if cls == "unsat" and not any(k == "bad_witness" for k, _ in iss):
            iss.append(("sat_on_negative_margin_within_doc_tol", f"ref margin {margin:.3g}"))
    elif ans == "unsat":
        if cls == "sat":
            iss.append(("wrong_unsat", f"ref margin {margin:.6g} (disjunct {ref['best_disjunct']}, S {S:.3g})"))
    else:
        what = f"{ans} after {r['wall']:.2f}s, ref margin {margin:.3g} ({cls})"
        if cls == "sat":
            iss.append((f"{ans}_on_sat", what))
        elif cls == "unsat":
            if mixed:
                iss.append((f"{ans}_on_unsat_mixed_rows(documented)", what))
            elif margin > -DOC_MILP_BAND * (1 + S):
                iss.append((f"{ans}_on_unsat_in_1e-5_band(documented)", what))
            else:
                iss.append((f"{ans}_on_unsat", what))
        else:
            iss.append((f"{ans}_on_borderline(accepted)", what))
    return iss, ans, wit


def check_malformed(bad, r):
    iss = []
    rc = r["rc"]
    ids = []
    try:
        ids = [e.get("id") for e in json.loads(r["stderr"])]
    except Exception:
        pass
    if rc == "HANG":
        return [("malformed_crash", "hang")], ids
    if bad["kind"] == "missing_network":
        if rc != 66:
            iss.append(("malformed_exit", f"rc {rc}, expected 66"))
    else:
        if rc != 65:
            kind = "malformed_crash" if (rc < 0 or rc == 70 or rc >= 128) else "malformed_exit"
            iss.append((kind, f"rc {rc}, expected 65; stdout {r['stdout'][:100]!r}"))
        if bad["expect_id"] not in ids:
            iss.append(("malformed_wrong_id", f"ids {ids}, expected {bad['expect_id']}; stderr {r['stderr'][:300]}"))
    if r["stdout"].strip():
        iss.append(("malformed_stdout", r["stdout"][:200]))
    return iss, ids


def run_problem(ref, timeout, log):
    pid = ref["pid"]
    d = os.path.join(BASE, f"p{pid}")
    net = load_net(ref)
    with open(os.path.join(d, "prop.vnnlib")) as f:
        dis = read_property(f.read(), ref["n"], ref["m"])
    recs = []
    for nf in ref["nets"]:
        r = run_reluc([os.path.join(d, "prop.vnnlib"), "--network", os.path.join(d, nf),
                       "--timeout", str(timeout)], timeout)
        iss, ans, wit = check_run(ref, net, dis, r, timeout)
        rec = dict(pid=pid, kind="verify", net=nf, cmd=r["cmd"], rc=r["rc"], wall=round(r["wall"], 3),
                   answer=ans, ref_margin=ref["margin"], ref_cls=ref["cls"], tkind=ref["tkind"],
                   best_disjunct=ref["best_disjunct"], S=ref["S"], cats=ref["cats"], witness=wit,
                   issues=iss)
        if iss and any(k in CRITICAL for k, _ in iss):
            rec["stdout"], rec["stderr"] = r["stdout"][:2000], r["stderr"][:2000]
            # the same run again with -v: which phase answered
            rv = run_reluc([os.path.join(d, "prop.vnnlib"), "--network", os.path.join(d, nf),
                            "--timeout", str(timeout), "-v"], timeout)
            rec["verbose_rerun"] = dict(stdout=rv["stdout"][:300], stderr=rv["stderr"][-3000:])
            bd = ref.get("best_disjunct")
            if bd:
                info = ref["disjuncts"][bd - 1]
                lo, hi, rows, outs = split_disjunct(dis[bd - 1], ref["n"], ref["netlo"], ref["nethi"])
                if info.get("worst_row") is not None:
                    g, h, rr = outs[info["worst_row"]]
                    rec["ref_worst_condition"] = dict(row=describe(g, h, rr), slack=info["worst_slack_fwd"],
                                                      x=info["x"], y=info["y"])
        log.write(json.dumps(rec, default=float) + "\n"); log.flush()
        recs.append(rec)
    bad = ref.get("malformed")
    if bad:
        netf = os.path.join(d, "net.xml") if bad["kind"] != "missing_network" else os.path.join(d, "absent.nnet")
        prop = bad["path"] if bad["kind"] != "missing_network" else os.path.join(d, "prop.vnnlib")
        r = run_reluc([prop, "--network", netf, "--timeout", str(timeout), "--diagnostics-format", "json"], timeout)
        iss, ids = check_malformed(bad, r)
        rec = dict(pid=pid, kind="malformed", malformed=bad["kind"], cmd=r["cmd"], rc=r["rc"],
                   wall=round(r["wall"], 3), ids=ids, issues=iss)
        log.write(json.dumps(rec, default=float) + "\n"); log.flush()
        recs.append(rec)
    return recs


def summarize(recs, refs):
    ver = [r for r in recs if r["kind"] == "verify"]
    s = dict(runs=len(ver), malformed_runs=len(recs) - len(ver),
             answers=dict(Counter(r["answer"] for r in ver)),
             ref_classes=dict(Counter(r["ref_cls"] for r in ver)),
             matrix={f"{c}->{a}": v for (c, a), v in sorted(Counter((r["ref_cls"], r["answer"]) for r in ver).items())},
             issues=dict(Counter(k for r in recs for k, _ in r["issues"])),
             critical=[dict(pid=r["pid"], net=r.get("net"), issues=[i for i in r["issues"] if i[0] in CRITICAL])
                       for r in recs if any(k in CRITICAL for k, _ in r["issues"])],
             reference_doubts={ref["pid"]: ref["doubts"] for ref in refs if ref.get("doubts")},
             reference_errors=[ref["pid"] for ref in refs if "error" in ref],
             wall_max=max((r["wall"] for r in ver), default=0),
             wall_sum=round(sum(r["wall"] for r in recs), 1))
    return s


def main():
    global RELUC, BASE, INPUTS
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("start", type=int)
    a.add_argument("count", type=int)
    a.add_argument("--timeout", type=float, default=10)
    a.add_argument("--reluc", default=RELUC)
    a.add_argument("--out", default=BASE)
    a.add_argument("--jobs", type=int, default=2, help="processes for the reference (reluc runs one at a time)")
    a.add_argument("--reuse-ref", action="store_true", help="reuse DIR/pK/ref.json when present")
    a.add_argument("--inputs", default="2-6", help="input count range LO-HI (default 2-6; otherwise "
                   "small ReLU layers and the seed 9000 + k)")
    args = a.parse_args()
    lo_, _, hi_ = args.inputs.partition("-")
    INPUTS = (int(lo_), int(hi_ or lo_))
    if not 1 <= INPUTS[0] <= INPUTS[1]:
        a.error("--inputs: LO-HI with 1 <= LO <= HI")
    RELUC, BASE = os.path.abspath(args.reluc), os.path.abspath(args.out)
    os.makedirs(BASE, exist_ok=True)
    T0 = time.time()
    pids = list(range(args.start, args.start + args.count))
    refs, todo = {}, []
    for pid in pids:
        p = os.path.join(BASE, f"p{pid}", "ref.json")
        if args.reuse_ref and os.path.exists(p):
            with open(p) as f:
                refs[pid] = json.load(f)
        else:
            todo.append(pid)
    with Pool(args.jobs) as pool:
        for ref in pool.imap(prepare, todo):
            refs[ref["pid"]] = ref
            if "error" in ref:
                last = ref["error"].strip().splitlines()[-1]
                print(f"p{ref['pid']}: no reference ({last}); problem skipped", flush=True)
            else:
                print(f"ref p{ref['pid']}: n={ref['n']} m={ref['m']} w={ref['widths']} nd={len(ref['disjuncts'])} "
                      f"margin={ref['margin']:.4g} cls={ref['cls']} ({ref['tkind']}) "
                      f"regions={[i.get('nregions') for i in ref['disjuncts']]} {ref['ref_secs']}s"
                      + (f" DOUBTS {ref['doubts']}" if ref["doubts"] else ""), flush=True)
    print(f"references: {time.time() - T0:.0f}s", flush=True)
    T1 = time.time()
    recs = []
    with open(os.path.join(BASE, "results.jsonl"), "a") as log:
        for pid in pids:
            ref = refs[pid]
            if "error" in ref:
                continue
            for rec in run_problem(ref, args.timeout, log):
                recs.append(rec)
                iss = [k for k, _ in rec["issues"]]
                if rec["kind"] == "verify":
                    print(f"p{pid} {rec['net']}: {rec['answer']} rc={rec['rc']} {rec['wall']:.2f}s "
                          f"ref={ref['margin']:.4g} ({ref['cls']}) {iss}", flush=True)
                else:
                    print(f"p{pid} malformed {rec['malformed']}: rc={rec['rc']} ids={rec['ids']} {iss}", flush=True)
    s = summarize(recs, [refs[p] for p in pids])
    s["runs_seconds"] = round(time.time() - T1, 1)
    s["total_seconds"] = round(time.time() - T0, 1)
    s["range"] = [args.start, args.start + args.count - 1]
    if INPUTS != DEFAULT_INPUTS:
        s["inputs"] = list(INPUTS)
    with open(os.path.join(BASE, "summary.json"), "w") as f:
        json.dump(s, f, indent=1, default=float)
    print(json.dumps(s, indent=1, default=float))


if __name__ == "__main__":
    main()
