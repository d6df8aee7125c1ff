"""VNN-COMP benchmarks through `reluc verify` and through Marabou.

    python3 bench/vnncomp.py                     # ACAS Xu, VNN-COMP's time limits (116 s)
    python3 bench/vnncomp.py --subset 1_1:prop_1,1_2:prop_2 --timeout 30
    python3 bench/vnncomp.py --subset prop_3 --limit 5 --timeout-scale 0.1 --no-marabou
    python3 bench/vnncomp.py --benchmark mnistfc  # MNIST 256x2, 30 instances (120 s)

`--benchmark acasxu` (the default; `bench/acasxu.py` is the same): the 186 instances of
../shared/networks/acasxu/. `--benchmark mnistfc`: VNN-COMP 2021's fully connected MNIST
benchmark on its network with 2 hidden layers of 256 (../shared/networks/mnist-net_256x2.onnx):
15 test images, each an L-infinity ball of radius 0.03 and 0.05 around it, clipped to [0, 1],
unsafe where another class scores at least the label's. The properties are written to
bench/out/mnistfc/ from bench/mnistfc_images.txt (one line per image: its label, then its 784
pixels as hexadecimal bytes, recovered from the published properties), byte for byte as
VNN-COMP's generate_properties.py wrote them (stanleybak/vnncomp2021 at 90419aad).

Every instance runs `reluc verify PROP --network NET --timeout T` (release build) and
`Marabou NET PROP --num-workers 2 --timeout T` (maraboupy 2.0 from PyPI, installed here with pip
when missing). Every `sat` witness reluc prints is checked independently: its inputs must lie in
a disjunct's box and its output conditions hold within 1e-4 (VNN-COMP's tolerance) at
onnxruntime's evaluation of the ONNX network (onnxruntime from PyPI, installed here with pip when
missing). One CSV (bench/out/acasxu.csv) and a table:
answers, agreement, time per instance, totals. Wrap timing runs in
`flock /tmp/reluc-timing.lock`.
"""
import argparse, csv, os, re, shutil, subprocess, sys, time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
networks = os.path.normpath(os.path.join(root, "..", "shared", "networks"))
reluc = os.path.join(root, ".build", "release", "reluc")
out_dir = os.path.join(here, "out")
MARABOU_VERSION = "2.0.0"
ATOL = 1e-4


# --- an independent reader of the VNN-COMP subset of VNN-LIB (for the witness check) ---

def sexprs(text):
    text = re.sub(r";[^\n]*", "", text)
    tokens = re.findall(r"\(|\)|[^\s()]+", text)
    stack = [[]]
    for t in tokens:
        if t == "(":
            stack.append([])
        elif t == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(t)
    return stack[0]


def linear(e):
    """{name: coefficient, '': constant}."""
    if isinstance(e, str):
        try:
            return {"": float(e)}
        except ValueError:
            return {e: 1.0}
    op, args = e[0], [linear(a) for a in e[1:]]
    def add(a, b, k=1.0):
        r = dict(a)
        for v, c in b.items():
            r[v] = r.get(v, 0.0) + k * c
        return r
    if op == "+":
        r = {}
        for a in args:
            r = add(r, a)
        return r
    if op == "-":
        if len(args) == 1:
            return {v: -c for v, c in args[0].items()}
        r = args[0]
        for a in args[1:]:
            r = add(r, a, -1.0)
        return r
    if op == "*":
        r = {"": 1.0}
        for a in args:
            if set(a) == {""}:
                r = {v: c * a[""] for v, c in r.items()}
            else:
                k = r.get("", 0.0) if set(r) == {""} else None
                assert k is not None, "nonlinear"
                r = {v: c * k for v, c in a.items()}
        return r
    raise ValueError(op)


def dnf(f):
    """A list of conjunctions, each a list of atoms {var: coef, '': const} meaning sum <= 0."""
    op = f[0]
    if op in ("<=", ">="):
        terms = [linear(a) for a in f[1:]]
        out = []
        for a, b in zip(terms, terms[1:]):
            small, large = (a, b) if op == "<=" else (b, a)
            atom = dict(small)
            for v, c in large.items():
                atom[v] = atom.get(v, 0.0) - c
            out.append(atom)
        return [out]
    if op == "and":
        result = [[]]
        for g in f[1:]:
            result = [a + b for a in result for b in dnf(g)]
        return result
    if op == "or":
        return [c for g in f[1:] for c in dnf(g)]
    raise ValueError(op)


def read_property(path):
    forms = sexprs(open(path).read())
    asserts = [f[1] for f in forms if f[0] == "assert"]
    return dnf(["and"] + asserts)


def holds(atom, values, tolerance):
    s = atom.get("", 0.0) + sum(c * values[v] for v, c in atom.items() if v)
    return s <= tolerance


def witness_checks(net, prop, witness):
    """The witness's inputs lie in some disjunct exactly (inputs-only atoms) and its output
    atoms hold within ATOL at onnxruntime's outputs."""
    try:
        import onnxruntime as ort
    except ImportError:  # installed here when missing, as maraboupy is
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "onnxruntime"], check=True)
        import onnxruntime as ort
    n = sum(1 for v in witness if v.startswith("X_"))
    x = np.array([witness[f"X_{j}"] for j in range(n)])
    sess = ort.InferenceSession(net)
    inp = sess.get_inputs()[0]
    y = sess.run(None, {inp.name: x.reshape(inp.shape).astype(np.float32)})[0].reshape(-1)
    values = {f"X_{j}": x[j] for j in range(n)}
    values.update({f"Y_{i}": float(y[i]) for i in range(len(y))})
    for conj in read_property(prop):
        inputs = [a for a in conj if all(v.startswith("X_") or v == "" for v in a)]
        outputs = [a for a in conj if a not in inputs]
        if all(holds(a, values, 0.0) for a in inputs) and all(holds(a, values, ATOL) for a in outputs):
            return True
    return False


def parse_witness(text):
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"\((\w+_\d+)\s+(\S+?)\)", text)}


# --- running the tools ---

def run(cmd, timeout):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        return None, "", "", time.perf_counter() - t0


def run_reluc(net, prop, timeout):
    code, out, err, wall = run([reluc, "verify", prop, "--network", net, "--timeout", str(timeout)],
                               timeout + 60)
    if code is None:
        return "killed", None, wall, "killed 60 s after its time limit"
    first = out.split("\n", 1)[0].strip()
    if code != 0 or first not in ("sat", "unsat", "unknown", "timeout"):
        return "error", None, wall, f"exit {code}: {err.strip()[:200]}"
    return first, parse_witness(out) if first == "sat" else None, wall, ""


def marabou_command():
    exe = shutil.which("Marabou") or os.path.join(os.path.dirname(sys.executable), "Marabou")
    if not os.path.exists(exe):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"maraboupy=={MARABOU_VERSION}"],
                       check=True)
        exe = shutil.which("Marabou") or os.path.join(os.path.dirname(sys.executable), "Marabou")
    return exe


def run_marabou(exe, net, prop, timeout):
    code, out, err, wall = run([exe, net, prop, "--num-workers", "2", "--timeout", str(int(max(1, timeout)))],
                               timeout + 60)
    if code is None:
        return "killed", wall
    words = re.findall(r"^\s*(sat|unsat|unknown|TIMEOUT|timeout)\s*$", out, re.M | re.I)
    if words:
        return words[-1].lower(), wall
    return "error", wall


# --- main ---

def write_mnist_property(path, label, pixels, eps):
    """One property of VNN-COMP 2021's mnistfc (its generate_properties.py's format, byte for
    byte): the pixels are bytes, the image pixel / 255 in float32, the box clipped to [0, 1]."""
    p = np.array(pixels, dtype=np.float32) / np.float32(255)
    lo = np.clip(p - np.float32(eps), np.float32(0), np.float32(1)).astype(np.float32)
    up = np.clip(p + np.float32(eps), np.float32(0), np.float32(1)).astype(np.float32)
    out = [f"; Mnist property with label: {label}.\n", "\n"]
    out += [f"(declare-const X_{i} Real)\n" for i in range(len(p))]
    out += ["\n", "\n"]
    out += [f"(declare-const Y_{i} Real)\n" for i in range(10)]
    out += ["\n", "; Input constraints:\n"]
    for i in range(len(p)):
        out += [f"(assert (<= X_{i} {float(up[i])!r}))\n", f"(assert (>= X_{i} {float(lo[i])!r}))\n", "\n"]
    out += ["\n", "; Output constraints:\n", "(assert (or\n"]
    out += [f"    (and (>= Y_{i} Y_{label}))\n" for i in range(10) if i != label]
    out += ["))"]
    with open(path, "w") as f:
        f.write("".join(out))


def acasxu_instances():
    """(network path, property path, VNN-COMP limit, key) of the 186 ACAS Xu instances."""
    folder = os.path.join(networks, "acasxu")
    rows = list(csv.reader(open(os.path.join(folder, "acasxu_instances.csv"))))
    for net, prop, limit in rows:
        tag = re.search(r"run2a_(\d_\d)_", net).group(1)
        yield (os.path.join(folder, net), os.path.join(folder, prop), float(limit),
               f"{tag}:{prop.replace('.vnnlib', '')}")


def mnistfc_instances():
    """The 30 mnistfc instances on the 256x2 network (VNN-COMP's 120 s each), properties
    written to bench/out/mnistfc/."""
    folder = os.path.join(out_dir, "mnistfc")
    os.makedirs(folder, exist_ok=True)
    images = [line.split() for line in open(os.path.join(here, "mnistfc_images.txt"))]
    net = os.path.join(networks, "mnist-net_256x2.onnx")
    for eps in ("0.03", "0.05"):
        for i, (label, pixels) in enumerate(images):
            prop = os.path.join(folder, f"prop_{i}_{eps}.vnnlib")
            write_mnist_property(prop, int(label), list(bytes.fromhex(pixels)), float(eps))
            yield net, prop, 120.0, f"256x2:prop_{i}_{eps}"


def instances(args):
    picked = []
    every = acasxu_instances() if args.benchmark == "acasxu" else mnistfc_instances()
    for net, prop, limit, key in every:
        if args.subset:
            tag, name = key.split(":")
            if not any(w in (key, name, tag) for w in args.subset.split(",")):
                continue
        picked.append((net, prop, limit, key))
    return picked[: args.limit] if args.limit else picked


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmark", choices=["acasxu", "mnistfc"], default="acasxu")
    ap.add_argument("--subset", help="comma-separated: 1_1:prop_1 (one instance), prop_2 (a property), 1_3 (a network); "
                    "mnistfc: 256x2:prop_0_0.03, prop_0_0.03")
    ap.add_argument("--limit", type=int, help="at most this many instances (after --subset)")
    ap.add_argument("--timeout", type=float, help="seconds per instance instead of VNN-COMP's")
    ap.add_argument("--timeout-scale", type=float, default=1.0, help="multiply VNN-COMP's limits")
    ap.add_argument("--no-marabou", action="store_true", help="reluc only")
    ap.add_argument("--csv", help="default: bench/out/BENCHMARK.csv")
    args = ap.parse_args(argv)
    args.csv = args.csv or os.path.join(out_dir, f"{args.benchmark}.csv")
    os.makedirs(os.path.dirname(args.csv), exist_ok=True)
    exe = None if args.no_marabou else marabou_command()
    results = []
    for net_path, prop_path, limit, key in instances(args):
        t = args.timeout if args.timeout else limit * args.timeout_scale
        answer, witness, wall, note = run_reluc(net_path, prop_path, t)
        checked = ""
        if answer == "sat":
            checked = "yes" if witness and witness_checks(net_path, prop_path, witness) else "NO"
        m_answer, m_wall = run_marabou(exe, net_path, prop_path, t) if exe else ("", 0.0)
        decided = {"sat", "unsat"}
        agree = "" if not (answer in decided and m_answer in decided) else ("yes" if answer == m_answer else "NO")
        row = dict(instance=key, timeout=t, reluc=answer, reluc_seconds=round(wall, 3), witness_checks=checked,
                   marabou=m_answer, marabou_seconds=round(m_wall, 3), agree=agree, note=note)
        results.append(row)
        print(f"{key:20} {answer:8} {wall:8.2f} s  {checked:4} | marabou {m_answer:8} {m_wall:8.2f} s {agree}",
              flush=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0].keys()) if results else ["instance"])
        w.writeheader()
        w.writerows(results)
    table(results, exe is not None)
    print(f"CSV: {args.csv}")


def table(results, with_marabou):
    def count(tool, word):
        return sum(1 for r in results if r[tool] == word)
    print()
    print("| tool | sat | unsat | unknown | timeout | other | decided | total seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for tool in ["reluc"] + (["marabou"] if with_marabou else []):
        s, u = count(tool, "sat"), count(tool, "unsat")
        unk, to = count(tool, "unknown"), count(tool, "timeout")
        other = len(results) - s - u - unk - to
        total = sum(r[f"{tool}_seconds"] for r in results)
        print(f"| {tool} | {s} | {u} | {unk} | {to} | {other} | {s + u} of {len(results)} | {total:.1f} |")
    bad = [r["instance"] for r in results if r["agree"] == "NO"]
    unchecked = [r["instance"] for r in results if r["witness_checks"] == "NO"]
    print(f"\ndisagreements: {bad or 'none'}; witnesses that fail the check: {unchecked or 'none'}")


if __name__ == "__main__":
    main()
