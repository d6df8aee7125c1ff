"""What the benchmark scripts share: paths, running a command that prints JSON, model files."""
import json, os, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, os.path.join(root, "scripts"))
from netxml import write_network, random_network

out = os.path.join(here, "out")
os.makedirs(out, exist_ok=True)
reluc = os.path.join(root, ".build", "release", "reluc")
rbench = os.path.join(root, ".build", "release", "reluc-bench")


def run_json(cmd, timeout=None):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        # pyomo's appsi_highs does not always honour its time limit: stop it ourselves.
        return {"status": "killed_after_timeout", "objective": None}, time.perf_counter() - t0
    wall = time.perf_counter() - t0
    try:
        return json.loads(p.stdout), wall
    except json.JSONDecodeError:
        raise RuntimeError(f"{cmd}: {p.stdout} {p.stderr}")


def model(net_path, extra="", tag=""):
    """Writes the model `maximize y[0] over [0,1]^n` (plus `extra`) beside the network, as
    NAME.rmod or, with a tag, NAME_TAG.rmod; returns its path."""
    path = net_path.replace(".xml", f"_{tag}.rmod" if tag else ".rmod")
    with open(path, "w") as f:
        f.write(f'network "{os.path.basename(net_path)}"\nmaximize y[0]\nconstraint 0 <= x <= 1\n{extra}')
    return path
