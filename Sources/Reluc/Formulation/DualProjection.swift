import RelucBase
import RelucIR

/// Exact Euclidean projection onto `{x : l <= x <= u, A x <= b}` for a few rows, by a semismooth
/// Newton method on the dual of the rows (the bounds stay primal):
///   x(lambda) = clamp(v - A^T lambda, l, u),  maximize over lambda >= 0
///   g(lambda) = 1/2 |x(lambda) - v|^2 + lambda . (A x(lambda) - b),
/// whose gradient is `A x(lambda) - b` and whose generalized Hessian is `-A_F A_F^T` (F: the
/// coordinates strictly inside their bounds). Each step solves the Newton system on the rows that
/// are active or violated, with a projected backtracking line search. The answer is returned only
/// when it satisfies the KKT conditions to `1e-10 (1 + |b|)`: primal feasibility, lambda >= 0, and
/// complementarity; otherwise nil, and the caller falls back to the QP solver. Where a Newton step
/// does not ascend (at a kink of the dual) a projected-gradient step with step 1/|A|_F^2 is taken.
struct DualProjection {
  let n: Int
  let m: Int
  let a: [Double]  // m x n row-major
  let b: [Double]
  let lower: [Double]
  let upper: [Double]

  init(_ p: Polytope) {
    n = p.dimension
    m = p.rowCount
    a = p.matrix
    b = p.rhs
    lower = p.lower
    upper = p.upper
  }

  func primal(_ v: UnsafePointer<Double>, _ lambda: [Double], into x: inout [Double]) {
    for j in 0..<n {
      var s = v[j]
      for i in 0..<m where lambda[i] != 0 { s -= a[i * n + j] * lambda[i] }
      x[j] = min(max(s, lower[j]), upper[j])
    }
  }

  func residual(_ x: [Double]) -> [Double] {
    (0..<m).map { i in
      var s = -b[i]
      for j in 0..<n { s += a[i * n + j] * x[j] }
      return s
    }
  }

  func dual(_ v: UnsafePointer<Double>, _ x: [Double], _ r: [Double], _ lambda: [Double]) -> Double
  {
    var g = 0.0
    for j in 0..<n { g += 0.5 * (x[j] - v[j]) * (x[j] - v[j]) }
    for i in 0..<m { g += lambda[i] * r[i] }
    return g
  }

  /// The projection of `v`, or nil when the method did not certify an answer.
  func project(_ v: UnsafePointer<Double>) -> [Double]? {
    var lambda = [Double](repeating: 0, count: m)
    var x = [Double](repeating: 0, count: n)
    let scale = 1 + (b.map(abs).max() ?? 0)
    let tol = 1e-10 * scale
    // Step of the fallback projected-gradient ascent: 1/L with L >= |A|^2 (Frobenius).
    let lipschitz = max(1e-300, a.reduce(0) { $0 + $1 * $1 })
    for _ in 0..<2000 {
      primal(v, lambda, into: &x)
      let r = residual(x)
      var optimal = true
      for i in 0..<m {
        if r[i] > tol || (lambda[i] > 0 && abs(r[i]) > tol) {
          optimal = false
          break
        }
      }
      if optimal { return x }
      // Newton system on S = rows with lambda > 0 or r > 0: (A_S,F A_S,F^T) d = r_S.
      let s = (0..<m).filter { lambda[$0] > 0 || r[$0] > 0 }
      let k = s.count
      var free: [Int] = []
      for j in 0..<n {
        var t = v[j]
        for i in 0..<m where lambda[i] != 0 { t -= a[i * n + j] * lambda[i] }
        if t > lower[j] && t < upper[j] { free.append(j) }
      }
      var mat = [Double](repeating: 0, count: k * k)
      for p in 0..<k {
        for q in p..<k {
          var sum = 0.0
          for j in free { sum += a[s[p] * n + j] * a[s[q] * n + j] }
          mat[p * k + q] = sum
          mat[q * k + p] = sum
        }
        mat[p * k + p] += 1e-12 * scale
      }
      guard let d = solveSPD(mat, s.map { r[$0] }, k) else {
        for i in 0..<m { lambda[i] = max(0, lambda[i] + r[i] / lipschitz) }
        continue
      }
      // Projected backtracking on the concave dual.
      let g0 = dual(v, x, r, lambda)
      var t = 1.0
      var accepted = false
      var trial = lambda
      var xt = x
      while t > 1e-12 {
        trial = lambda
        for (p, i) in s.enumerated() { trial[i] = max(0, lambda[i] + t * d[p]) }
        primal(v, trial, into: &xt)
        if dual(v, xt, residual(xt), trial) >= g0 - 1e-14 * (1 + abs(g0)) {
          accepted = true
          break
        }
        t /= 2
      }
      if accepted {
        lambda = trial
      } else {
        // Newton failed to ascend (a kink of the dual): one projected-gradient step instead.
        for i in 0..<m { lambda[i] = max(0, lambda[i] + r[i] / lipschitz) }
      }
    }
    return nil
  }
}
