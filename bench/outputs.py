"""Output constraints on every method (issue 15): random networks (PyTorch-style init) over
[0,1]^n with two outputs, maximize y0 subject to y1 <= level, levels from loose to tight (the
0.5, 0.1 and 0.01 quantiles of y1 over 10000 uniform samples), 3 seeds. The second output is
negated when y1 at the best sample of y0 is below its median, so that the row can bind.

Each method gets the same time limit (`--limit`, 5 s) with `starts = 1000000` (the heuristics
use the whole limit); the reference optimum is the MILP's at `--reference` seconds (run only
when the MILP at the limit did not prove optimality). Until the language has output
constraints, the rows are added by `reluc-bench outputs` (bench/Sources/reluc-bench/Outputs.swift).

    flock /tmp/reluc-timing.lock python3 bench/outputs.py [--limit 5] [--reference 20] [--quick]

Writes bench/out/outputs.csv and bench/out/outputs.md: per method and half (small, large) the
share of runs with a feasible point, the share of runs where the MILP found the problem
feasible and the method did not, and the mean relative gap to the reference optimum.
"""
import argparse, csv, os, sys
import numpy as np

from common import out, rbench, run_json, output_row_instance

METHODS = ["milp", "ppga", "ppga_lr", "gradient_walk", "lp_walk", "milp_walk"]
SMALL = [(5, [20]), (10, [30, 30])]
LARGE = [(50, [100]), (100, [50, 50, 50])]
QUANTILES = [("q50", 0.5), ("q10", 0.1), ("q01", 0.01)]

ap = argparse.ArgumentParser()
ap.add_argument("--limit", type=float, default=5)
ap.add_argument("--reference", type=float, default=20)
ap.add_argument("--seeds", type=int, default=3)
ap.add_argument("--quick", action="store_true", help="one seed, small half only")
a = ap.parse_args()
sizes = [("small", s) for s in SMALL] + ([] if a.quick else [("large", s) for s in LARGE])
seeds = 1 if a.quick else a.seeds


def solve(rmod, level, method, limit, seed):
    try:
        r = run_json([rbench, "outputs", rmod, f"1:{level!r}", f"method={method}",
                      f"time_limit={limit}", "starts=1000000", f"seed={seed}"],
                     timeout=limit * 4 + 60)[0]
    except RuntimeError as e:
        print(e, file=sys.stderr)
        r = {"status": "error", "objective": None}
    return r


rows = []
for half, (n, hidden) in sizes:
    for seed in range(1, seeds + 1):
        path, rmod, ys = output_row_instance(n, hidden, seed)
        name = os.path.basename(path)[:-4]
        y1 = ys[:, 1]
        for tag, q in QUANTILES:
            level = float(np.quantile(y1, q))
            res = {m: solve(rmod, level, m, a.limit, seed) for m in METHODS}
            ref = res["milp"]
            if ref.get("status") != "optimal":
                ref = solve(rmod, level, "milp", a.reference, seed)
            # The reference: the MILP's optimum, or (not proven) the best point of any run.
            objs = [r.get("objective") for r in list(res.values()) + [ref]
                    if r.get("objective") is not None and r.get("status") != "check_failed"]
            best = max(objs) if objs else None
            proven = ref.get("status") == "optimal"
            milp_feasible = ref.get("objective") is not None
            # Whether the row binds at the reference point (else the level changes nothing).
            active = milp_feasible and ref.get("y") is not None and \
                ref["y"][1] >= level - 1e-6 * max(1, abs(level))
            for m, r in res.items():
                obj = r.get("objective")
                ok = obj is not None and r.get("status") not in ("check_failed", "error")
                gap = None if not ok or best is None else (best - obj) / max(1e-9, abs(best))
                rows.append(dict(half=half, instance=name, level=tag, method=m,
                                 status=r.get("status"), objective=obj, feasible=ok,
                                 milp_feasible=milp_feasible, active=active, proven=proven, reference=best,
                                 rel_gap=gap, violation=(r.get("check") or {}).get("max_violation")))
            print(name, tag, ref.get("status"), best,
                  {m: (r.get("status"), None if r.get("objective") is None else round(r["objective"], 6))
                   for m, r in res.items()}, file=sys.stderr, flush=True)

os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "outputs.csv"), "w", newline="") as f:
    wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    wr.writeheader()
    wr.writerows(rows)
lines = [f"# Output constraints: maximize y0 s.t. y1 <= level ({a.limit} s per method)\n",
         "feasible: share of runs with a point that passes the check; missed: runs where the MILP "
         "(reference) has a feasible point and the method none; gap: mean relative gap to the "
         "reference (the MILP optimum, or the best point of any run where it is not proven), over "
         "the runs with a point; within 1%: share of those runs within 1% of the reference.\n",
         "| half | method | runs | feasible | missed | mean gap | within 1% | check failures |",
         "|---|---|---|---|---|---|---|---|"]
for half in ("small", "large"):
    for m in METHODS:
        rs = [r for r in rows if r["half"] == half and r["method"] == m]
        if not rs:
            continue
        feas = sum(r["feasible"] for r in rs)
        missed = sum(1 for r in rs if r["milp_feasible"] and not r["feasible"])
        gaps = [r["rel_gap"] for r in rs if r["rel_gap"] is not None]
        within = sum(1 for g in gaps if g <= 0.01)
        failed = sum(1 for r in rs if r["status"] == "check_failed")
        lines.append(f"| {half} | {m} | {len(rs)} | {feas}/{len(rs)} | {missed} | "
                     f"{np.mean(gaps) if gaps else float('nan'):.2e} | {within}/{len(gaps)} | {failed} |")
lines.append("\nThe row binds at the reference point on "
             f"{len({(r['instance'], r['level']) for r in rows if r['active']})} of "
             f"{len({(r['instance'], r['level']) for r in rows})} instances.")
lines.append("\nReference proven optimal on "
             f"{len({(r['instance'], r['level']) for r in rows if r['proven']})} of "
             f"{len({(r['instance'], r['level']) for r in rows})} instances.")
with open(os.path.join(out, "outputs.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
