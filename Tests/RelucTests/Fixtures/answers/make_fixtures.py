"""Generates the fixtures of issue 19's "wrong or failed answers" class, independently of reluc:

- net_10_100_100_1.xml: a random 10-100-100-1 network (PyTorch-style initialization).
- rows_1000.rmod, rows_300.rmod: feasible polytopes of 1,000 and 300 random rows over the box
  [-1, 1]^10, every row through a known interior point c: a.x <= a.c + margin, margin in
  [0.02, 0.3]; scipy's LP (HiGHS) confirms the polytope is non-empty and c satisfies every row,
  as printed, by at least 0.02.
- empty_box.rmod: -1 <= u <= 1 with u[0] + u[1] >= 2.00000001, empty by 1e-8 (the least
  violation of any point, min t with the row and the bounds relaxed by t, is 1e-8 / 3; scipy's
  LP confirms its order).
- overflow.rmod: an objective coefficient 1e400 (overflows a double).

    python3 Tests/RelucTests/Fixtures/answers/make_fixtures.py
"""
import os, sys
import numpy as np
from scipy.optimize import linprog

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "..", "scripts"))
from netxml import write_network, random_network, fmt

N = 10


def polytope(m, seed):
    rng = np.random.default_rng(seed)
    c = rng.uniform(-0.5, 0.5, size=N)
    A = rng.uniform(-1, 1, size=(m, N))
    margin = rng.uniform(0.02, 0.3, size=m)
    b = A @ c + margin
    # The rows as printed (repr round-trips exactly) keep c strictly inside.
    assert np.all(A @ c - b <= -0.02 + 1e-12)
    res = linprog(np.zeros(N), A_ub=A, b_ub=b, bounds=[(-1, 1)] * N, method="highs")
    assert res.status == 0, res.message
    return A, b


def write_rows(name, m, seed):
    A, b = polytope(m, seed)
    lines = [f"# expect: feasible ({m} rows through an interior point; scipy's LP finds a point)",
             "# (make_fixtures.py)",
             'network "net_10_100_100_1.xml"',
             "",
             "maximize y[0] + 0.1 * sum(i in 0..9) x[i]",
             "",
             "constraint box: -1 <= x <= 1"]
    for i in range(m):
        terms = " + ".join(f"{fmt(A[i, j])} * x[{j}]" for j in range(N))
        lines.append(f"constraint r{i}: {terms} <= {fmt(b[i])}")
    with open(os.path.join(here, name), "w") as f:
        f.write("\n".join(lines) + "\n")


def least_violation(A, b, lo, hi):
    """min t s.t. A x <= b + t, lo - t <= x <= hi + t (an LP in (x, t))."""
    n = A.shape[1]
    rows = [np.append(A[i], -1.0) for i in range(A.shape[0])]
    rhs = list(b)
    for j in range(n):
        e = np.zeros(n + 1); e[j] = 1; e[n] = -1
        rows.append(e); rhs.append(hi[j])
        e = np.zeros(n + 1); e[j] = -1; e[n] = -1
        rows.append(e); rhs.append(-lo[j])
    cost = np.zeros(n + 1); cost[n] = 1
    res = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs),
                  bounds=[(None, None)] * (n + 1), method="highs")
    assert res.status == 0
    return res.fun


def main():
    layers = random_network([N, 100, 100, 1], seed=19)
    write_network(os.path.join(here, "net_10_100_100_1.xml"), layers, name="net_10_100_100_1")
    write_rows("rows_1000.rmod", 1000, seed=1000)
    write_rows("rows_300.rmod", 300, seed=300)

    # The box made empty by 1e-8: u[0] + u[1] >= 2.00000001 over [-1, 1]^2 (as -u0 - u1 <= -2.00000001).
    t = least_violation(np.array([[-1.0, -1.0]]), np.array([-2.00000001]), [-1, -1], [1, 1])
    # Exact value 1e-8 / 3 (the row and both upper bounds share the excess); scipy's own tolerance
    # blurs it, so only its order is asserted.
    assert 1e-9 < t < 1e-8, t
    layers = random_network([2, 8, 1], seed=7)
    write_network(os.path.join(here, "net_u_2_8_1.xml"), layers, input_name="u", output_name="v",
                  name="net_u_2_8_1")
    with open(os.path.join(here, "empty_box.rmod"), "w") as f:
        f.write("# expect: infeasible (empty by 1e-8; the least violation of any point is 1e-8 / 3)\n"
                "# (make_fixtures.py)\n"
                'network "net_u_2_8_1.xml"\n\n'
                "maximize v[0]\n\n"
                "constraint box: -1 <= u <= 1\n"
                "constraint cut: u[0] + u[1] >= 2.00000001\n")
    with open(os.path.join(here, "overflow.rmod"), "w") as f:
        f.write("# expect: error non-finite-coefficient at 5:10\n"
                "# (make_fixtures.py)\n"
                'network "net_u_2_8_1.xml"\n\n'
                "maximize 1e400 * v[0]\n\n"
                "constraint box: -1 <= u <= 1\n")


if __name__ == "__main__":
    main()
