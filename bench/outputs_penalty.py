"""The gradient methods' design with output rows, measured: the exact penalty's first multiplier
mu in {0 (restoration by the region LP alone), 1, 10 (the default), 100}, on the instances of
bench/outputs.py with the tighter levels (0.1 and 0.01 quantiles of y1), 5 s per run.

    flock /tmp/reluc-timing.lock python3 bench/outputs_penalty.py

Writes bench/out/outputs_penalty.md: per method and mu the runs with a feasible point and the
mean relative gap to the best value any run found on the instance.
"""
import os, sys
import numpy as np

from common import out, rbench, run_json, output_row_instance

METHODS = ["ppga", "ppga_lr", "gradient_walk"]
MUS = [0, 1, 10, 100]
rows = []
for n, hidden, seed in [(10, [30, 30], 1), (10, [30, 30], 3), (50, [100], 3), (100, [50, 50, 50], 2)]:
    path, rmod, ys = output_row_instance(n, hidden, seed)
    name = os.path.basename(path)[:-4]
    for q in (0.1, 0.01):
        level = float(np.quantile(ys[:, 1], q))
        res = {}
        for m in METHODS:
            for mu in MUS:
                r = run_json([rbench, "outputs", rmod, f"1:{level!r}", f"method={m}", "time_limit=5",
                              "starts=1000000", f"seed={seed}", f"penalty_mu={mu}"], timeout=80)[0]
                ok = r.get("objective") is not None and r.get("status") != "check_failed"
                res[(m, mu)] = r.get("objective") if ok else None
        best = max(v for v in res.values() if v is not None)
        for (m, mu), v in res.items():
            rows.append((m, mu, v is not None, None if v is None else (best - v) / max(1e-9, abs(best))))
        print(name, q, {f"{m}/{mu}": v for (m, mu), v in res.items()}, file=sys.stderr, flush=True)
lines = ["# Gradient methods with output rows: first penalty multiplier (5 s per run)\n",
         "| method | mu | feasible | mean gap to the best run | within 1% |", "|---|---|---|---|---|"]
for m in METHODS:
    for mu in MUS:
        rs = [r for r in rows if r[0] == m and r[1] == mu]
        gaps = [r[3] for r in rs if r[3] is not None]
        lines.append(f"| {m} | {mu} | {sum(r[2] for r in rs)}/{len(rs)} | "
                     f"{np.mean(gaps) if gaps else float('nan'):.2e} | "
                     f"{sum(g <= 0.01 for g in gaps)}/{len(gaps)} |")
with open(os.path.join(out, "outputs_penalty.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
