"""Pre-activation bounds for the MILP (issue 17): `bounds = lp` (the default), `symbolic_lp`
(OBBT started from the symbolic bounds) and `symbolic` (no LP), and `method = bab`, on the hard
instances of issue 8 (bench/run.py --hard). Every run holds /tmp/reluc-timing.lock.

    python3 bench/bounds.py [--limit S] [--sizes 10-50-50-1 ...] [--variants lp symbolic_lp ...]

Times are the solves' own `seconds` (from the JSON report), not the wall clock (which would
count the wait for the lock). Results: bench/out/bounds.md and bounds.csv.
"""
import argparse, csv, os, sys

from common import out, reluc, run_json, model, write_network, random_network

VARIANTS = {
    "lp": "option method = milp\n",
    "symbolic_lp": "option method = milp\noption bounds = symbolic_lp\n",
    "symbolic": "option method = milp\noption bounds = symbolic\n",
    "bab": "option method = bab\n",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=float, default=120)
    ap.add_argument("--sizes", nargs="*", default=["10-50-50-1", "10-30-30-1", "10-100-1"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3, 4, 5])
    ap.add_argument("--variants", nargs="*", default=["lp", "symbolic_lp", "symbolic"])
    a = ap.parse_args()
    rows = []
    for size in a.sizes:
        sizes = [int(s) for s in size.split("-")]
        for seed in a.seeds:
            name = f"{size}_s{seed}"
            path = os.path.join(out, f"milp_{name}.xml")
            write_network(path, random_network(sizes, seed), name=name)
            row = dict(instance=name)
            for v in a.variants:
                m = model(path, VARIANTS[v] + f"option time_limit = {a.limit}\n", "b_" + v)
                # The solve's own seconds (the wall clock would count the wait for the lock).
                r, _ = run_json(["flock", "/tmp/reluc-timing.lock", reluc, m, "--json", "-q"])
                wall = r.get("seconds")
                st = dict(r.get("statistics", {}))
                row.update({f"{v}_s": round(wall, 2), f"{v}_status": r["status"],
                            f"{v}_obj": r["objective"], f"{v}_bound": r.get("bound"),
                            f"{v}_binaries": st.get("binaries", st.get("unstable_symbolic"))})
                print(name, v, round(wall, 2), r["status"], r["objective"], r.get("bound"),
                      file=sys.stderr, flush=True)
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    with open(os.path.join(out, "bounds.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    lines = [f"## MILP bounds (time limit {a.limit} s, end to end)\n",
             "| instance | " + " | ".join(f"{v} s | {v} status" for v in a.variants) + " |",
             "|---|" + "---|---|" * len(a.variants)]
    for r in rows:
        lines.append(f"| {r['instance']} | " + " | ".join(
            f"{r[f'{v}_s']:.2f} | {r[f'{v}_status']}" for v in a.variants) + " |")
    with open(os.path.join(out, "bounds.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
