"""Differential campaign: random small ReLU problems (gen.py), their optimum by enumeration of
activation patterns with scipy (refsolve.py), and checks of reluc's exact methods and heuristics
against it: statuses, optima, bounds, every reported point by a numpy forward pass, exit codes,
traces, time. Correctness, not speed (bench/README.md, "Differential campaign").

    python3 bench/differential/campaign.py START COUNT [BUDGET_SECONDS] [--reluc BIN] [--out DIR]

Problem k is drawn from the seed 1000 + k, so a range of problems is the same in every run. One
reluc process at a time, under `nice`. Each run is a line of DIR/results.jsonl (its issues
named); each problem's files are in DIR/pK.
"""
import argparse, json, os, sys, time, subprocess, pickle, traceback
import numpy as np
from refsolve import enumerate_regions, solve_reference, evaluate, forward_all
from gen import gen_problem, finalize

HERE = os.path.dirname(os.path.abspath(__file__))
RELUC = os.path.join(HERE, "..", "..", ".build", "release", "reluc")
BASE = os.path.join(HERE, "..", "out", "differential")
EXACT = ["milp", "bab", "auto"]
HEUR = ["ppga", "ppga_lr", "lp_walk", "milp_walk", "gradient_walk"]
EXACT_OPTS = [[], [], [], ["cuts=root"], ["cuts=none"], ["bounds=interval"], ["bounds=symbolic"],
              ["bounds=symbolic_lp"], ["workers=1"], ["warm_start=false"], ["bab_exact_relus=0"],
              ["bab_relu_splits=2"], ["obbt_splits=0"], ["bab_exact_relus=16"]]
HEUR_OPTS = [[], [], [], ["region_polish=false"], ["lane_precision=double"], ["batch=1"],
             ["lp_walk_region_lp=lifted"], ["sampling=lhs"], ["workers=1"]]
DOC_EXIT = {"optimal": 0, "feasible": 0, "time_limit": 0, "infeasible": 0,
            "no_feasible_point": 3, "check_failed": 70}


def run_reluc(model, method, tl, seed, opts):
    cmd = ["nice", "-n", "10", RELUC, "solve", model, "--json", "--time-limit", str(tl),
           "--method", method, "--seed", str(seed)]
    for o in opts:
        cmd += ["-O", o]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=tl + 5)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "TIMEOUT", (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), ""
    wall = time.time() - t0
    js = None
    try:
        js = json.loads(out)
    except Exception:
        pass
    return dict(cmd=" ".join(cmd[3:]), rc=rc, wall=wall, json=js, stderr=err[-2000:], stdout=out[-3000:] if js is None else "")


def better(a, b, sense):
    return a > b if sense == "maximize" else a < b


def check_run(prob, ref, r, method, tl):
    issues = []
    js = r["json"]
    rc = r["rc"]
    if rc == "TIMEOUT":
        return [("hang", f"no exit within time limit + 5 s ({r['wall']:.1f}s)")]
    if isinstance(rc, int) and (rc < 0 or rc >= 128):
        issues.append(("crash", f"rc={rc} stderr={r['stderr'][-300:]}"))
    if js is None:
        issues.append(("no_json", f"rc={rc} stderr={r['stderr'][-500:]} stdout={r['stdout'][-300:]}"))
        return issues
    st = js.get("status")
    if st in DOC_EXIT and rc != DOC_EXIT[st]:
        issues.append(("exit_code", f"status {st} rc {rc}"))
    if st not in DOC_EXIT:
        issues.append(("odd_status", f"status {st} rc {rc} msg {js.get('message')}"))
    if r["wall"] > tl + 3:
        issues.append(("slow", f"wall {r['wall']:.1f}s > tl {tl}+3"))
    sense = prob["sense"]
    refv = ref["opt"]
    tol = 1e-6 * max(1.0, abs(refv)) if refv is not None else 1e-6
    x = js.get(prob["xname"])
    exact = method in EXACT
    if st == "infeasible":
        if refv is not None:
            issues.append(("wrong_infeasible", f"ref opt {refv}"))
        if x is not None:
            issues.append(("point_on_infeasible_status", str(x)))
    if x is not None:
        if refv is None:
            issues.append(("point_on_infeasible_instance", f"status {st} obj {js.get('objective')}"))
        obj, viols, fw = evaluate(prob, x)
        bad = [(nm, v, s) for nm, v, s in viols if v > 1e-6 * s]
        if bad:
            issues.append(("violates_constraints", str(bad)))
        o = js.get("objective")
        if o is None or abs(o - obj) > 1e-6 * max(1.0, abs(obj)):
            issues.append(("objective_mismatch", f"json {o} forward {obj}"))
        # outputs match
        for k, net in enumerate(prob["nets"]):
            key = (net["alias"] + "." if net["alias"] else "") + net["outname"]
            yv = js.get(key)
            if yv is None or np.max(np.abs(np.array(yv) - fw[k][1])) > 1e-6 * (1 + np.max(np.abs(fw[k][1]))):
                issues.append(("output_mismatch", f"{key}: json {yv} forward {list(fw[k][1])}"))
        if refv is not None and better(obj, refv, sense) and abs(obj - refv) > tol:
            issues.append(("better_than_reference", f"obj {obj} ref {refv}"))
        if exact and st == "optimal" and refv is not None and abs(obj - refv) > tol:
            gaptol = 1e-6 * abs(refv) + 1e-6 + 1e-9
            kind = "wrong_optimum" if abs(obj - refv) > gaptol else "optimum_within_mipgap(minor)"
            issues.append((kind, f"obj {obj} ref {refv} diff {obj - refv}"))
    else:
        if st in ("optimal", "feasible"):
            issues.append(("status_without_point", st))
    if exact and refv is None and st not in ("infeasible",):
        issues.append(("infeasible_not_detected", f"status {st}"))
    if exact and refv is not None and st != "optimal":
        issues.append(("exact_not_optimal", f"status {st} obj {js.get('objective')} ref {refv} secs {js.get('seconds')}"))
    b = js.get("bound")
    o = js.get("objective")
    # reluc's rule (man page, milp): the bound is the dual bound widened by the gap tolerances
    # (the default mip_gap 1e-6, absolute 1e-6), so `optimal` allows up to twice the gap.
    if st == "optimal" and b is not None and o is not None and \
            abs(b - o) > 2 * max(1e-6, 1e-6 * abs(b)) + 1e-9 * (1 + abs(b)):
        issues.append(("optimal_but_gap_open", f"obj {o} bound {b}"))
    tr = js.get("trace") or []
    if tr and o is not None:
        vals = [t[1] for t in tr]
        mono = all((v2 >= v1 - 1e-12 * (1 + abs(v1))) if sense == "maximize" else (v2 <= v1 + 1e-12 * (1 + abs(v1))) for v1, v2 in zip(vals, vals[1:]))
        if not mono:
            issues.append(("trace_not_monotone", str(vals[:10])))
        if abs(vals[-1] - o) > 1e-9 * (1 + abs(o)):
            issues.append(("trace_end_mismatch", f"trace end {vals[-1]} obj {o}"))
    if x is None and tr:
        issues.append(("trace_without_point", str(tr[:3])))
    if exact and b is not None and refv is not None:
        if (sense == "maximize" and b < refv - tol) or (sense == "minimize" and b > refv + tol):
            issues.append(("invalid_bound", f"bound {b} ref {refv}"))
    if (not exact) and st == "no_feasible_point" and refv is not None:
        issues.append(("heur_no_point(allowed)", f"ref {refv}"))
    if (not exact) and st == "infeasible" and refv is not None and ref["poly_empty"] is False:
        pass  # already wrong_infeasible
    return issues


def run_problem(pid, rng, log, tl_exact=5, tl_heur=3):
    d = os.path.join(BASE, f"p{pid}")
    prob = gen_problem(rng, pid, d)
    t0 = time.time()
    en = enumerate_regions(prob)
    if en is None:
        regions, stats = [], {"lps": 1}
        poly_empty = True
    else:
        regions, stats = en
        poly_empty = False
    finalize(prob, regions, rng, d)
    opt, optx, nfeas = solve_reference(prob, regions) if regions else (None, None, 0)
    ref_secs = time.time() - t0
    ref = dict(opt=opt, x=None if optx is None else list(optx), nregions=len(regions), nfeas=nfeas,
               poly_empty=poly_empty, secs=ref_secs)
    if optx is not None:
        o2, viols, _ = evaluate(prob, optx)
        ref["fwd_obj"] = o2
        ref["fwd_maxviol"] = max(v / s for _, v, s in viols)
    # self-check of the reference by sampling
    lo_a, hi_a = np.array(prob["lo"]), np.array(prob["hi"])
    srng = np.random.default_rng(pid)
    ref["sample_better"] = 0
    ref["sample_feasible"] = 0
    for s in lo_a + (hi_a - lo_a) * srng.random((1500, prob["n"])):
        o, viols, _ = evaluate(prob, s)
        if all(v <= 0 for _, v, _s in viols):
            ref["sample_feasible"] += 1
            if opt is None or (better(o, opt, prob["sense"]) and abs(o - opt) > 1e-9 * (1 + abs(opt))):
                ref["sample_better"] += 1
    # reluc eval at the reference point (or box centre)
    pt = optx if optx is not None else (lo_a + hi_a) / 2
    try:
        p = subprocess.run(["nice", "-n", "10", RELUC, "eval", os.path.join(d, "model.rmod"), "--json", "--input",
                            ",".join(repr(float(v)) for v in pt)], capture_output=True, text=True, timeout=20)
        ej = json.loads(p.stdout)
        o, viols, fw = evaluate(prob, pt)
        ref["eval_obj_diff"] = abs(ej["objective"] - o)
        ref["eval_rc"] = p.returncode
        dy = 0.0
        for k, net in enumerate(prob["nets"]):
            key = (net["alias"] + "." if net["alias"] else "") + net["outname"]
            dy = max(dy, float(np.max(np.abs(np.array(ej[key]) - fw[k][1]))))
        ref["eval_y_diff"] = dy
    except Exception as e:
        ref["eval_error"] = repr(e)[:300] + " " + (p.stdout[:300] if 'p' in dir() else "")
    with open(os.path.join(d, "prob.pkl"), "wb") as f:
        pickle.dump(prob, f)
    with open(os.path.join(d, "ref.json"), "w") as f:
        json.dump(ref, f)
    model = os.path.join(d, "model.rmod")
    runs = []
    seed = int(rng.integers(0, 1000))
    for m in EXACT:
        opts = list(EXACT_OPTS[int(rng.integers(len(EXACT_OPTS)))])
        runs.append((m, tl_exact, opts))
    for m in HEUR:
        opts = list(HEUR_OPTS[int(rng.integers(len(HEUR_OPTS)))])
        if rng.random() < 0.75:
            opts.append(f"starts={int(rng.choice([8, 32, 64]))}")
            tl = tl_heur
        else:
            tl = 2
        runs.append((m, tl, opts))
    nissues = 0
    for (m, tl, opts) in runs:
        r = run_reluc(model, m, tl, seed, opts)
        iss = check_run(prob, ref, r, m, tl)
        rec = dict(pid=pid, method=m, opts=opts, tl=tl, cmd=r["cmd"], rc=r["rc"], wall=round(r["wall"], 3),
                   status=(r["json"] or {}).get("status"), objective=(r["json"] or {}).get("objective"),
                   bound=(r["json"] or {}).get("bound"), message=(r["json"] or {}).get("message"),
                   ref=opt, cats=sorted(prob["cats"]), nrelu=prob["nrelu"], issues=iss)
        if r["json"] is None:
            rec["stderr"] = r["stderr"]; rec["stdout"] = r["stdout"]
        nissues += len([i for i in iss if not i[0].endswith("(allowed)")])
        log.write(json.dumps(rec, default=str) + "\n"); log.flush()
    return prob, ref, nissues


def main():
    global RELUC, BASE
    a = argparse.ArgumentParser()
    a.add_argument("start", type=int)
    a.add_argument("count", type=int)
    a.add_argument("budget", type=float, nargs="?", default=1e9)
    a.add_argument("--reluc", default=RELUC)
    a.add_argument("--out", default=BASE)
    args = a.parse_args()
    RELUC, BASE = os.path.abspath(args.reluc), os.path.abspath(args.out)
    start, count, budget = args.start, args.count, args.budget
    os.makedirs(BASE, exist_ok=True)
    T0 = time.time()
    with open(os.path.join(BASE, "results.jsonl"), "a") as log:
        for pid in range(start, start + count):
            if time.time() - T0 > budget:
                print("budget reached", flush=True)
                break
            rng = np.random.default_rng(1000 + pid)
            try:
                prob, ref, ni = run_problem(pid, rng, log)
                print(f"p{pid}: n={prob['n']} relu={prob['nrelu']} regions={ref['nregions']} ref={ref['opt']} "
                      f"refsecs={ref['secs']:.1f} sb={ref['sample_better']} sf={ref['sample_feasible']} ev={ref.get('eval_obj_diff', ref.get('eval_error'))} cats={sorted(prob['cats'])} issues={ni} t={time.time() - T0:.0f}",
                      flush=True)
            except Exception:
                print(f"p{pid}: EXCEPTION", traceback.format_exc(), flush=True)


if __name__ == "__main__":
    main()
