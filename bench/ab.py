"""A/B: two reluc binaries (say, before and after a refactoring) on the same models, run
alternately in one session so both see the same machine; each case best of N wall-clock runs.

    python3 bench/ab.py OLD_RELUC NEW_RELUC [--runs 3] [--quick]

Cases: the issue-8 MILP instances (10-100-1 and 10-30-30-1, seeds 1-5; 10-50-50-1 seed 1 unless
--quick), batched PPGA and LP Walk with a fixed number of starts and one worker (deterministic:
the same objective is expected), and `--validate` of a model over a generated 89 MB network (read
and lower). Writes bench/out/ab.md and prints it; the objective columns must agree.
"""
import argparse, json, os, subprocess, sys, time

from common import out, model, write_network, random_network


def run(binary, args):
    t0 = time.perf_counter()
    p = subprocess.run([binary] + args, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if "--validate" in args:
        return (p.returncode, None), wall
    try:
        r = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"{binary} {args}: {p.stdout} {p.stderr}")
    return (r["status"], r.get("objective")), wall


def cases(quick):
    out_cases = []
    hard = [([10, 100, 1], s) for s in range(1, 6)] + [([10, 30, 30, 1], s) for s in range(1, 6)]
    if not quick:
        hard.append(([10, 50, 50, 1], 1))
    for sizes, seed in hard:
        name = "-".join(map(str, sizes)) + f"_s{seed}"
        path = os.path.join(out, f"milp_{name}.xml")
        if not os.path.exists(path):
            write_network(path, random_network(sizes, seed), name=name)
        m = model(path, "option method = milp\noption time_limit = 120\n")
        out_cases.append((f"milp {name}", [m, "--json", "-q"]))
    path = os.path.join(out, "ab_100-100-100-1.xml")
    if not os.path.exists(path):
        write_network(path, random_network([100, 100, 100, 1], 7), name="ab")
    for method, starts in (("ppga", 512), ("lp_walk", 16), ("ppga_lr", 32)):
        m = model(path, f"option method = {method}\noption starts = {starts}\noption workers = 1\n"
                  "option time_limit = 600\n", method)
        out_cases.append((f"{method} 100-100-100-1, {starts} starts, 1 worker", [m, "--json", "-q"]))
    big = os.path.join(out, "xml_big.xml")
    if not os.path.exists(big) or os.path.getsize(big) < 50e6:
        write_network(big, random_network([1000, 1600, 1600, 1], 3), name="big")
    out_cases.append(("--validate, 89 MB network", ["--validate", model(big, "", "ab")]))
    return out_cases


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    lines = [f"# A/B ({time.strftime('%Y-%m-%d')}): {a.old} vs {a.new}, best of {a.runs}\n",
             "| case | old s | new s | new/old | old result | new result |", "|---|---|---|---|---|---|"]
    for label, args in cases(a.quick):
        best = {"old": float("inf"), "new": float("inf")}
        result = {}
        for _ in range(a.runs):
            for tag in ("old", "new"):
                r, wall = run(getattr(a, tag), args)
                best[tag] = min(best[tag], wall)
                result[tag] = r
        row = (f"| {label} | {best['old']:.2f} | {best['new']:.2f} | {best['new'] / best['old']:.2f} | "
               f"{result['old'][0]} {result['old'][1]} | {result['new'][0]} {result['new'][1]} |")
        lines.append(row)
        print(row, file=sys.stderr, flush=True)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "ab.md"), "w") as f:
        f.write(text)
    print(text)
