"""All methods on the papers' grid (Tong, Zhu, Serra, Burer 2025; Tong, Cai, Serra 2024):
inputs {10, 100, 1000} x hidden layers {1, 2, 3} x width {100, 500}, PyTorch-style random weights,
X = [0, 1]^n, maximize the output, equal time limits per method, a few seeds.

    python3 bench/methods.py [--limit S] [--seeds K] [--quick]

Writes bench/out/methods.csv and bench/out/methods.md: per instance and method the objective, the
relative gap to the best value found by any method, and iterations (or LPs) per second.
"""
import argparse, csv, os, sys
import numpy as np

from common import out, reluc, run_json, model, write_network, random_network

METHODS = ["ppga_lr", "ppga", "gradient_walk", "lp_walk", "milp_walk", "milp"]

ap = argparse.ArgumentParser()
ap.add_argument("--limit", type=float, default=10)
ap.add_argument("--seeds", type=int, default=2)
ap.add_argument("--quick", action="store_true", help="inputs {10, 100}, width 100, one seed")
a = ap.parse_args()
inputs = [10, 100] if a.quick else [10, 100, 1000]
widths = [100] if a.quick else [100, 500]
seeds = 1 if a.quick else a.seeds

rows = []
for n in inputs:
    for depth in (1, 2, 3):
        for w in widths:
            for seed in range(1, seeds + 1):
                name = f"{n}-{'-'.join([str(w)] * depth)}-1_s{seed}"
                path = os.path.join(out, f"methods_{name}.xml")
                if not os.path.exists(path):
                    write_network(path, random_network([n] + [w] * depth + [1], seed), name=name)
                rmod = model(path, f"option time_limit = {a.limit}\noption starts = 1000000\noption seed = {seed}\n")
                results = {}
                for m in METHODS:
                    try:
                        r = run_json([reluc, rmod, "--method", m, "--json", "-q"])[0]
                    except RuntimeError:
                        r = {"objective": None, "status": "error", "statistics": {}, "seconds": None}
                    st = r.get("statistics", {})
                    rate = st.get("iterations_per_second") or st.get("lps_per_second")
                    results[m] = (r.get("objective"), r.get("status"), rate, r.get("seconds"))
                best = max(v[0] for v in results.values() if v[0] is not None)
                for m, (obj, status, rate, secs) in results.items():
                    gap = None if obj is None else (best - obj) / max(1e-12, abs(best))
                    rows.append(dict(instance=name, method=m, objective=obj, status=status, rel_gap=gap,
                                     rate_per_s=rate, seconds=secs))
                print(name, {m: (round(v[0], 6) if v[0] is not None else None) for m, v in results.items()},
                      file=sys.stderr)

with open(os.path.join(out, "methods.csv"), "w", newline="") as f:
    wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    wr.writeheader()
    wr.writerows(rows)
lines = [f"# Methods on the papers' grid (time limit {a.limit} s each)\n",
         "Relative gap to the best value found by any method (0 = best); rate: iterations/s (gradient) or LPs/s (walks).\n",
         "| instance | " + " | ".join(METHODS) + " |", "|---" * (len(METHODS) + 1) + "|"]
by = {}
for r in rows:
    by.setdefault(r["instance"], {})[r["method"]] = r
for inst, d in by.items():
    cells = []
    for m in METHODS:
        r = d[m]
        g = "-" if r["rel_gap"] is None else f"{r['rel_gap']:.2e}"
        rate = "" if not r["rate_per_s"] else f" ({r['rate_per_s']:.0f}/s)"
        cells.append(g + rate)
    lines.append(f"| {inst} | " + " | ".join(cells) + " |")
mean = {m: np.mean([r["rel_gap"] for r in rows if r["method"] == m and r["rel_gap"] is not None] or [np.nan]) for m in METHODS}
lines.append("\nMean relative gap: " + ", ".join(f"{m} {v:.2e}" for m, v in mean.items()))
with open(os.path.join(out, "methods.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
