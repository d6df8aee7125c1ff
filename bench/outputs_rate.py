"""The gradient methods' per-iteration cost with output rows: iterations per second of PPGA
(batched), PPGA_LR and Gradient Walk (one worker, 256 starts, at most 10 s) without rows (reluc),
with a row that never binds (y1 <= 1e9: the penalty's evaluation only) and with a binding row
(y1 <= its 0.1 quantile: penalty gradients and restorations).

    flock /tmp/reluc-timing.lock python3 bench/outputs_rate.py

Writes bench/out/outputs_rate.md.
"""
import os, sys
import numpy as np

from common import out, reluc, rbench, run_json, model, write_network, random_network
from netxml import forward

lines = ["# Gradient methods: iterations per second with output rows (1 worker, 256 starts)\n",
         "| network | method | no rows | row never binding | binding row (q10) | restorations (binding) |",
         "|---|---|---|---|---|---|"]
for n, hidden, seed in [(10, [30, 30], 1), (100, [50, 50, 50], 2)]:
    name = f"rate_{n}-{'-'.join(map(str, hidden))}-2_s{seed}"
    path = os.path.join(out, name + ".xml")
    layers = random_network([n] + hidden + [2], seed)
    write_network(path, layers, name=name)
    ys = np.array([forward(layers, x) for x in np.random.default_rng(seed).random((10000, n))])
    level = float(np.quantile(ys[:, 1], 0.1))
    rmod = model(path, "option starts = 256\noption workers = 1\noption time_limit = 10\n")
    for m in ("ppga", "ppga_lr", "gradient_walk"):
        base = run_json([reluc, rmod, "--method", m, "--json", "-q"])[0]
        loose = run_json([rbench, "outputs", rmod, "1:1e9", f"method={m}"])[0]
        tight = run_json([rbench, "outputs", rmod, f"1:{level!r}", f"method={m}"])[0]
        rate = lambda r: r.get("statistics", {}).get("iterations_per_second")
        line = (f"| {name} | {m} | {rate(base)} | {rate(loose)} | {rate(tight)} | "
                f"{tight.get('statistics', {}).get('restorations')} |")
        lines.append(line)
        print(line, file=sys.stderr, flush=True)
with open(os.path.join(out, "outputs_rate.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
