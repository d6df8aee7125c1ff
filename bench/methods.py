"""The heuristics on the papers' grid (Tong, Zhu, Serra, Burer 2025; Tong, Cai, Serra 2024):
inputs {10, 100, 1000} x hidden layers {1, 2, 3, 4} x width {100, 500}, PyTorch-style random
weights, X = [0, 1]^n, maximize the output, the same time limit per method (every method anytime:
no `starts`, so each runs until the limit; both cores each), a few seeds.

    python3 bench/methods.py [--seconds S] [--seeds K] [--subset all|quick|deep|SIZES]
                             [--methods ppga,ppga_lr,...] [--against CSV] [--repeat K]
                             [--render CSV]
                             [--ablation] [--overshoot]

--subset: `all` (the 24 networks), `quick` (inputs 10 and 100, widths 100, 1-3 layers), `deep`
(3-4 layers), or a comma list of sizes such as `100-500-500-1,1000-100-100-100-1`.
--against CSV: the methods that CSV (an earlier run's methods.csv) holds and --methods does not
are taken from it for the same instances and seeds (not run again): to re-run one method, e.g.
`auto` after a change, against the others' committed results (fair only when their code did not
change; say so).
--render CSV: no runs; the tables and plots of that methods.csv (all its methods), written again
(after merging rows of runs on a subset into a whole grid's CSV).
--repeat K: no grid; each method K times on the same network and seed, seed 1 of the subset
(`repeat.csv`): the spread between identical runs of one anytime method; with `auto`, its mean
against the best member's mean and, run by run, against the best member run of the same index.
--ablation: PPGA_LR with its region skip and its step trimming on and off, at a small
(0.005) and the default (0.05) step size, on a few instances (`ablation.csv`).
--overshoot: every method on 10000-50-50-1 (`overshoot.csv`): seconds past the limit.
--prepare: only write the networks; --locked: the caller holds the lock for the whole script
(`flock /tmp/reluc-timing.lock python3 bench/methods.py --locked ...`).

Every run holds /tmp/reluc-timing.lock (one timing run at a time on a shared machine). Writes
bench/out/methods.csv (one row per instance, seed and method: objective, relative gap to the best
value any method found on that instance and seed, seconds, time of the first point, the incumbent
trace), bench/out/methods.md (tables), and plots bench/out/methods_gap.png (relative gap vs network
size per method) and bench/out/methods_curves.png (incumbent vs time on a few instances).
matplotlib is installed (pip) when missing.
"""
import argparse, csv, json, os, subprocess, sys, time
import numpy as np

from common import out, reluc, model, write_network, random_network

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=float, default=20)
ap.add_argument("--seeds", type=int, default=3)
ap.add_argument("--subset", default="all")
ap.add_argument("--methods", default="ppga,ppga_lr,lp_walk,milp_walk,auto")
ap.add_argument("--against", help="an earlier methods.csv: the other methods' rows from it")
ap.add_argument("--render", help="a methods.csv: its tables and plots again (no runs)")
ap.add_argument("--repeat", type=int, default=0, help="K runs of each method per instance (seed 1)")
ap.add_argument("--ablation", action="store_true")
ap.add_argument("--overshoot", action="store_true")
ap.add_argument("--no-grid", action="store_true", help="only --ablation / --overshoot")
ap.add_argument("--reluc", default=reluc, help="the binary (default: the release build)")
ap.add_argument("--prepare", action="store_true", help="only write the networks (no timing)")
ap.add_argument("--locked", action="store_true",
                help="the caller holds /tmp/reluc-timing.lock for the whole script: no lock per run")
ap.add_argument("--curves", default="100-500-500-1,1000-100-100-100-1,10-500-500-500-500-1")
a = ap.parse_args()
METHODS = [] if a.render else a.methods.split(",")
SHOWN = list(METHODS)  # the methods of the tables: METHODS, and those --against adds


def grid(subset):
    sizes = []
    for n in (10, 100, 1000):
        for depth in (1, 2, 3, 4):
            for w in (100, 500):
                sizes.append([n] + [w] * depth + [1])
    if subset == "all":
        return sizes
    if subset == "quick":
        return [s for s in sizes if s[0] <= 100 and s[1] == 100 and len(s) <= 5]
    if subset == "deep":
        return [s for s in sizes if len(s) >= 5]
    return [[int(v) for v in t.split("-")] for t in subset.split(",")]


def network(sizes, seed):
    name = "-".join(map(str, sizes)) + f"_s{seed}"
    path = os.path.join(out, f"methods_{name}.xml")
    if not os.path.exists(path):
        write_network(path, random_network(sizes, seed), name="n" + name.replace("-", "_"))
    return name, path


def solve(rmod, method, seconds, extra=()):
    """One run under the timing lock: the JSON report and the wall-clock seconds."""
    cmd = ([] if a.locked else ["flock", "/tmp/reluc-timing.lock"]) + [
        a.reluc, rmod, "--method", method, "--time-limit", str(seconds), "--json", "-q", *extra]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0  # includes waiting for the lock: not used for timing
    try:
        return json.loads(p.stdout), wall
    except json.JSONDecodeError:
        return {"status": "error", "objective": None, "statistics": {}, "seconds": None,
                "trace": [], "message": p.stderr[-300:]}, wall


def row(instance, sizes, seed, method, r, **more):
    tr = r.get("trace") or []
    st = r.get("statistics", {})
    return dict(instance=instance, inputs=sizes[0], depth=len(sizes) - 2, width=sizes[1],
                neurons=sum(sizes[1:-1]), seed=seed, method=method,
                objective=r.get("objective"), status=r.get("status"), seconds=r.get("seconds"),
                first_point=tr[0][0] if tr else None, found_by=st.get("found_by"),
                trace=json.dumps(tr, separators=(",", ":")), **more)


def relative(a, b):
    """(a - b) / |b|: how far a is above b, relative to b."""
    return (a - b) / max(1e-12, abs(b))


def with_gaps(rows):
    best = {}
    for r in rows:
        if r["objective"] is not None:
            k = (r["instance"], r["seed"])
            best[k] = max(best.get(k, -np.inf), r["objective"])
    for r in rows:
        b = best.get((r["instance"], r["seed"]))
        r["rel_gap"] = None if r["objective"] is None or b is None else (b - r["objective"]) / max(1e-12, abs(b))
    return rows


def write_csv(name, rows):
    if not rows:
        return
    with open(os.path.join(out, name), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)


def plots(rows, seconds):
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for m in SHOWN:
        pts = {}
        for r in rows:
            if r["method"] == m and r["rel_gap"] is not None:
                pts.setdefault(r["neurons"] * 1000 + r["inputs"], []).append(r["rel_gap"])
        if not pts:
            continue
        keys = sorted(pts)
        xs = np.arange(len(keys))
        ax.plot([k // 1000 + 0.0 for k in keys], [max(1e-7, np.mean(pts[k])) for k in keys], "o", label=m, alpha=0.75)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hidden neurons (inputs 10, 100, 1000 at each size)")
    ax.set_ylabel("relative gap to the best value found (floor 1e-7)")
    ax.set_title(f"Relative gap vs network size, {seconds:g} s per method")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "methods_gap.png"), dpi=110)

    curves = [c for c in a.curves.split(",") if any(r["instance"].startswith(c + "_") for r in rows)]
    if curves:
        fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.8), squeeze=False)
        for ax, c in zip(axes[0], curves):
            for m in SHOWN:
                rs = [r for r in rows if r["instance"].startswith(c + "_") and r["method"] == m and r["seed"] == 1]
                if not rs:
                    continue
                tr = json.loads(rs[0]["trace"])
                if not tr:
                    continue
                ts = [t[0] for t in tr] + [seconds]
                vs = [t[1] for t in tr] + [tr[-1][1]]
                ax.step(ts, vs, where="post", label=m)
            ax.set_title(c + ", seed 1")
            ax.set_xlabel("seconds")
            ax.set_xscale("symlog", linthresh=0.1)
        axes[0][0].set_ylabel("incumbent objective")
        axes[0][0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "methods_curves.png"), dpi=110)


ABLATION = ("100-100-100-100-1", "1000-500-500-500-1", "10-500-500-500-500-1")
if a.prepare:
    for sizes in grid(a.subset) + [[int(v) for v in c.split("-")] for c in ABLATION] + [[10000, 50, 50, 1]]:
        for seed in range(1, a.seeds + 1):
            network(sizes, seed)
    sys.exit(0)

md = []
rows = []
if not a.no_grid and not a.repeat:
    for sizes in [] if a.render else grid(a.subset):
        for seed in range(1, a.seeds + 1):
            name, path = network(sizes, seed)
            rmod = model(path)
            for m in METHODS:
                r, _ = solve(rmod, m, a.seconds)
                rows.append(row(name, sizes, seed, m, r))
            print(name, {r["method"]: r["objective"] for r in rows if r["instance"] == name and r["seed"] == seed},
                  file=sys.stderr, flush=True)
    if a.against or a.render:
        keys = {(r["instance"], r["seed"]) for r in rows}
        for r in csv.DictReader(open(a.against or a.render)):
            if r["method"] in METHODS or (a.against and (r["instance"], int(r["seed"])) not in keys):
                continue
            for k in ("inputs", "depth", "width", "neurons", "seed"):
                r[k] = int(r[k])
            for k in ("objective", "seconds", "first_point"):
                r[k] = float(r[k]) if r[k] not in ("", None) else None
            r.pop("rel_gap", None)
            rows.append(r)
            if r["method"] not in SHOWN:
                SHOWN.insert(len(SHOWN) - ("auto" in SHOWN), r["method"])
    with_gaps(rows)
    write_csv("methods.csv", rows)
    plots(rows, a.seconds)
    md += [f"# Heuristics on the papers' grid ({a.seconds:g} s per method, seeds 1-{a.seeds}, subset {a.subset})\n",
           *([f"{', '.join(m for m in SHOWN if m not in METHODS)}: from {a.against} (not run again).\n"]
             if a.against else []),
           *([f"Tables and plots of {a.render} (no runs).\n"] if a.render else []),
           "Relative gap to the best value any method found on the instance (0 = best); first: seconds to the first point.\n",
           "| instance | " + " | ".join(SHOWN) + " |", "|---" * (len(SHOWN) + 1) + "|"]
    for inst in dict.fromkeys(r["instance"] for r in rows):
        cells = []
        for m in SHOWN:
            r = next(r for r in rows if r["instance"] == inst and r["method"] == m)
            g = "no point" if r["rel_gap"] is None else f"{r['rel_gap']:.2e}"
            fp = "" if r["first_point"] is None else f" (first {r['first_point']:.2f} s)"
            cells.append(g + fp)
        md.append(f"| {inst} | " + " | ".join(cells) + " |")
    md.append("")
    for m in SHOWN:
        gaps = [r["rel_gap"] for r in rows if r["method"] == m and r["rel_gap"] is not None]
        deep = [r["rel_gap"] for r in rows if r["method"] == m and r["rel_gap"] is not None and r["depth"] >= 3]
        nopoint = sum(1 for r in rows if r["method"] == m and r["objective"] is None)
        wins = sum(1 for r in rows if r["method"] == m and r["rel_gap"] == 0)
        over = [r["seconds"] - a.seconds for r in rows if r["method"] == m and r["seconds"] is not None]
        md.append(f"- {m}: mean gap {np.mean(gaps):.2e} (3-4 layers: {np.mean(deep) if deep else float('nan'):.2e}), "
                  f"best on {wins}/{len(gaps) + nopoint}, no point on {nopoint}, "
                  f"seconds past the limit at most {max(over) if over else float('nan'):.3f}")
    if "ppga" in SHOWN and "ppga_lr" in SHOWN:
        pairs = [(r, q) for r in rows for q in rows if r["method"] == "ppga_lr" and q["method"] == "ppga"
                 and r["instance"] == q["instance"] and r["seed"] == q["seed"] and r["depth"] >= 3
                 and r["objective"] is not None and q["objective"] is not None]
        # Equal up to rounding: the same vertex reached from two points (a relative 1e-12, the
        # region polish's rounding gain) counts as equal.
        ties = sum(r["objective"] >= q["objective"] - 1e-12 * abs(q["objective"]) for r, q in pairs)
        md.append(f"- PPGA_LR >= PPGA on {sum(r['objective'] >= q['objective'] for r, q in pairs)}/{len(pairs)} "
                  f"instances with 3-4 hidden layers ({ties} counting values within 1e-12 relative as equal)")
    if "auto" in SHOWN:
        others = [m for m in SHOWN if m != "auto"]
        # Each auto row against the members' rows of its instance and seed.
        value = {(r["instance"], r["seed"], r["method"]): r["objective"] for r in rows
                 if r["objective"] is not None}
        autos = [r for r in rows if r["method"] == "auto" and r["objective"] is not None]
        below = []
        for r in autos:
            members = [value[r["instance"], r["seed"], m] for m in others
                       if (r["instance"], r["seed"], m) in value]
            if members:
                below.append(max(0.0, -relative(r["objective"], max(members))))
        worst = max(below, default=0.0)
        md.append(f"- auto: at most {worst:.2e} below the best single method; within 0.01% of it on "
                  f"{sum(b <= 1e-4 for b in below)}/{len(below)}, within 0.1% on "
                  f"{sum(b <= 1e-3 for b in below)}/{len(below)}, within 1% on {sum(b <= 1e-2 for b in below)}/{len(below)}")
        # The portfolio against each member alone (not the best of several runs): in expectation
        # over the instances of each input size, and how often it is at least that method.
        for n in sorted({r["inputs"] for r in rows}):
            parts = []
            for m in others:
                d = [relative(r["objective"], value[r["instance"], r["seed"], m]) for r in autos
                     if r["inputs"] == n and (r["instance"], r["seed"], m) in value]
                if d:
                    parts.append(f"{m} {100 * np.mean(d):+.3f}% (at least it, within 0.01%, on "
                                 f"{sum(x >= -1e-4 for x in d)}/{len(d)})")
            md.append(f"- auto against each method alone, {n} inputs (mean relative difference): "
                      + "; ".join(parts))

if a.repeat:
    rep = []
    for sizes in grid(a.subset):
        name, path = network(sizes, 1)
        rmod = model(path)
        for m in METHODS:
            values = []
            for k in range(a.repeat):
                r, _ = solve(rmod, m, a.seconds)
                values.append(r.get("objective"))
                rep.append(dict(instance=name, method=m, run=k + 1, objective=r.get("objective"),
                                seconds=r.get("seconds")))
            print(name, m, values, file=sys.stderr, flush=True)
    write_csv("repeat.csv", rep)
    md += ["", f"## The same run {a.repeat} times ({a.seconds:g} s, seed 1: same network, same seed)\n",
           "| instance | method | objectives | spread (max - min) / max |", "|---|---|---|---|"]
    for name in dict.fromkeys(r["instance"] for r in rep):
        for m in METHODS:
            v = [r["objective"] for r in rep if r["instance"] == name and r["method"] == m and r["objective"] is not None]
            if v:
                md.append(f"| {name} | {m} | {', '.join(f'{x:.6f}' for x in v)} | "
                          f"{(max(v) - min(v)) / max(1e-12, abs(max(v))):.1e} |")
    if "auto" in METHODS and len(METHODS) > 1:
        # auto against the members over the K runs: its mean against each member's mean, and run
        # by run against the best of the members' runs of the same index (the grid's criterion).
        md += ["", "| instance | auto's mean against the best member's mean | auto's runs within 0.01% of "
               "the best member run of the same index |", "|---|---|---|"]
        for name in dict.fromkeys(r["instance"] for r in rep):
            runs = {m: [r["objective"] for r in rep if r["instance"] == name and r["method"] == m]
                    for m in METHODS}
            if any(v is None for vs in runs.values() for v in vs):
                continue
            means = {m: np.mean(v) for m, v in runs.items()}
            best = max(means[m] for m in METHODS if m != "auto")
            per_run = [max(runs[m][k] for m in METHODS if m != "auto") for k in range(a.repeat)]
            ok = sum(runs["auto"][k] >= per_run[k] - 1e-4 * abs(per_run[k]) for k in range(a.repeat))
            md.append(f"| {name} | {100 * relative(means['auto'], best):+.3f}% | "
                      f"{ok}/{a.repeat} |")

if a.ablation:
    abl = []
    for c in ABLATION:
        sizes = [int(v) for v in c.split("-")]
        name, path = network(sizes, 1)
        rmod = model(path)
        for step in (0.005, 0.05):
            for skip, trim in ((True, True), (True, False), (False, True), (False, False)):
                flags = ["-O", f"step_size={step}", "-O", f"ppga_lr_skip={str(skip).lower()}",
                         "-O", f"ppga_lr_trim={str(trim).lower()}"]
                r, _ = solve(rmod, "ppga_lr", a.seconds, flags)
                st = r.get("statistics", {})
                abl.append(dict(instance=name, step_size=step, skip=skip, trim=trim, objective=r.get("objective"),
                                iterations=st.get("iterations"), region_skips=st.get("region_skips"),
                                step_trims=st.get("step_trims")))
            r, _ = solve(rmod, "ppga", a.seconds, ["-O", f"step_size={step}"])
            abl.append(dict(instance=name, step_size=step, skip="ppga", trim="ppga", objective=r.get("objective"),
                            iterations=r.get("statistics", {}).get("iterations"), region_skips=None, step_trims=None))
            print(name, step, [x["objective"] for x in abl[-5:]], file=sys.stderr, flush=True)
    write_csv("ablation.csv", abl)
    md += ["", f"## PPGA_LR's mechanisms ({a.seconds:g} s each, seed 1)\n",
           "| instance | step_size | skip | trim | objective | iterations | region skips | step trims |",
           "|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['instance']} | {r['step_size']} | {r['skip']} | {r['trim']} | {r['objective']} | {r['iterations']} | "
           f"{r['region_skips']} | {r['step_trims']} |" for r in abl]

if a.overshoot:
    sizes = [10000, 50, 50, 1]
    name, path = network(sizes, 1)
    rmod = model(path)
    ov = []
    for m in METHODS:
        r, _ = solve(rmod, m, a.seconds)
        ov.append(dict(instance=name, method=m, limit=a.seconds, seconds=r.get("seconds"), objective=r.get("objective"),
                       status=r.get("status")))
        print(ov[-1], file=sys.stderr, flush=True)
    write_csv("overshoot.csv", ov)
    md += ["", f"## Time limit on {name} ({a.seconds:g} s)\n", "| method | seconds | past the limit | objective |",
           "|---|---|---|---|"]
    md += [f"| {r['method']} | {r['seconds']} | {100 * (r['seconds'] - a.seconds) / a.seconds:+.1f}% | {r['objective']} |"
           for r in ov if r["seconds"] is not None]

with open(os.path.join(out, "methods.md"), "w") as f:
    f.write("\n".join(md) + "\n")
print("\n".join(md))
