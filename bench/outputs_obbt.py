"""Does OBBT pay with output rows? The exact MILP with `bounds = lp` on output-constrained
instances (maximize y0 s.t. y1 <= level, as bench/outputs.py), with the rows in the bound LPs
(their relaxation of the whole network) and without (layers before the neuron only, as without
rows); HiGHS's tree (`cuts = root`) and reluc's (`cuts = all`).

    flock /tmp/reluc-timing.lock python3 bench/outputs_obbt.py [--limit 30]

Writes bench/out/outputs_obbt.md: per instance the time to optimality, nodes and binaries.
"""
import argparse, os, sys
import numpy as np

from common import out, rbench, run_json, model, write_network, random_network
from netxml import forward

ap = argparse.ArgumentParser()
ap.add_argument("--limit", type=float, default=30)
a = ap.parse_args()

lines = [f"# OBBT with and without the output rows (time limit {a.limit} s)\n",
         "| instance | level | cuts | rows in OBBT | status | objective | seconds | bound_seconds | nodes | binaries |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for n, hidden, seed in [(10, [30, 30], 1), (10, [40, 40], 2), (5, [50, 50], 3)]:
    name = f"obbt_{n}-{'-'.join(map(str, hidden))}-2_s{seed}"
    path = os.path.join(out, name + ".xml")
    layers = random_network([n] + hidden + [2], seed)
    ys = np.array([forward(layers, x) for x in np.random.default_rng(seed).random((10000, n))])
    write_network(path, layers, name=name)
    rmod = model(path, f"option seed = {seed}\n")
    for q in (0.1,):
        level = float(np.quantile(ys[:, 1], q))
        for cuts in ("root", "all"):
            for rows in ("1", "0"):
                r = run_json([rbench, "outputs", rmod, f"1:{level!r}", "method=milp", "bounds=lp",
                              f"cuts={cuts}", f"time_limit={a.limit}", "warm_start=false",
                              f"obbt_rows={rows}"], timeout=a.limit * 3 + 60)[0]
                st = r.get("statistics", {})
                obj = r.get("objective")
                line = (f"| {name} | q{int(q * 100)} | {cuts} | {'yes' if rows == '1' else 'no'} | "
                        f"{r.get('status')} | {'' if obj is None else f'{obj:.6f}'} | "
                        f"{r.get('seconds')} | {st.get('bound_seconds')} | {st.get('nodes')} | "
                        f"{st.get('binaries')} |")
                lines.append(line)
                print(line, file=sys.stderr, flush=True)
with open(os.path.join(out, "outputs_obbt.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
