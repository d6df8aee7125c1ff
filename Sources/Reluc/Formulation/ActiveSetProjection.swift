import RelucBase
import RelucIR

/// Exact Euclidean projection onto `{x : A x <= b, l <= x <= u}` for any number of rows, by the
/// dual active-set method of Goldfarb and Idnani (1983) specialised to the Hessian I:
/// start from the unconstrained minimizer `x = v` with no active constraint; repeatedly take the
/// most violated constraint p (violation over the norm of its normal), and raise its multiplier:
/// the primal point moves along `-z`, z the part of the normal `n_p` orthogonal to the active
/// normals N (`n_p = N r + z`), the active multipliers change by `-t r`; the step is the smaller of
/// the one making p active (`s_p / |z|^2`) and the one bringing an active multiplier to zero (that
/// constraint leaves the active set and p is taken up again). The active normals stay linearly
/// independent (at most n), so the small systems `(N^T N) r = N^T n_p` are solved by Cholesky.
/// Each iteration costs one pass over the rows (`(m + 2n) n`), and the method ends after finitely
/// many steps: when no constraint is violated by more than `1e-12` times the largest right-hand
/// side or bound magnitude (at least 1). Returns nil when it does not end within its iteration
/// cap, more than `maximumActive` constraints are active, or a system is singular (the caller
/// falls back to HiGHS's QP), or when the constraints have no common point (a violated
/// constraint whose normal is spanned by active normals with no multiplier to trade).
///
/// The bounds are constraints like the rows (`x_j <= u_j`, `-x_j <= -l_j`). Used for more than
/// 64 rows, where `DualProjection`'s Newton system on all violated rows is singular.
struct ActiveSetProjection {
  let n: Int
  let m: Int
  let a: [Double]  // m x n row-major
  let b: [Double]
  let lower: [Double]
  let upper: [Double]
  let rowNorm: [Double]
  let tolerance: Double
  /// The most active constraints the method handles before it declines.
  static let maximumActive = 64

  init(_ p: Polytope) {
    n = p.dimension
    m = p.rowCount
    a = p.matrix
    b = p.rhs
    lower = p.lower
    upper = p.upper
    rowNorm = (0..<p.rowCount).map { r in
      var s = 0.0
      for j in 0..<p.dimension {
        s += p.matrix[r * p.dimension + j] * p.matrix[r * p.dimension + j]
      }
      return max(s.squareRoot(), 1e-300)
    }
    let magnitude =
      (p.rhs.map(abs) + p.lower.map(abs) + p.upper.map(abs)).filter(\.isFinite).max() ?? 0
    tolerance = 1e-12 * max(1, magnitude)
  }

  /// Constraint k's normal into `into` (k < m: row k; then `x_j <= u_j` at m + 2j and
  /// `-x_j <= -l_j` at m + 2j + 1), and its right-hand side.
  func normal(_ k: Int, into v: inout [Double]) -> Double {
    if k < m {
      for j in 0..<n { v[j] = a[k * n + j] }
      return b[k]
    }
    for j in 0..<n { v[j] = 0 }
    let j = (k - m) / 2
    if (k - m) % 2 == 0 {
      v[j] = 1
      return upper[j]
    }
    v[j] = -1
    return -lower[j]
  }

  /// The residual `n_k . x - b_k` of constraint k.
  func residual(_ k: Int, _ x: [Double]) -> Double {
    if k < m {
      var s = -b[k]
      for j in 0..<n { s += a[k * n + j] * x[j] }
      return s
    }
    let j = (k - m) / 2
    return (k - m) % 2 == 0 ? x[j] - upper[j] : lower[j] - x[j]
  }

  /// The projection of `v`, or nil (see the type's comment).
  func project(_ v: UnsafePointer<Double>) -> [Double]? {
    var x = (0..<n).map { v[$0] }
    var active: [Int] = []
    var normals: [[Double]] = []  // the active normals
    var u: [Double] = []  // their multipliers
    var isActive = [Bool](repeating: false, count: m + 2 * n)
    var np = [Double](repeating: 0, count: n)
    let cap = 20 * (m + 2 * n) + 100
    var steps = 0
    while true {
      // The most violated constraint, by violation over the norm of its normal.
      var p = -1
      var worst = 0.0
      a.withUnsafeBufferPointer { a in
        for k in 0..<m where !isActive[k] {
          var s = -b[k]
          for j in 0..<n { s += a[k * n + j] * x[j] }
          guard s > tolerance else { continue }
          let scaled = s / rowNorm[k]
          if scaled > worst {
            worst = scaled
            p = k
          }
        }
      }
      for k in m..<(m + 2 * n) where !isActive[k] {
        let s = residual(k, x)
        if s > tolerance, s > worst {
          worst = s
          p = k
        }
      }
      if p < 0 { return x }
      let bp = normal(p, into: &np)
      let npNorm2 = np.reduce(0) { $0 + $1 * $1 }
      var up = 0.0
      // Raise p's multiplier until p is active, dropping active constraints on the way.
      while true {
        steps += 1
        if steps > cap { return nil }
        let q = active.count
        // Each step re-factors the active normals (q^2 n): with many active constraints in a high
        // dimension leave the projection to HiGHS's QP.
        if q > Self.maximumActive { return nil }
        var gram = [Double](repeating: 0, count: q * q)
        var rhs = [Double](repeating: 0, count: q)
        for i in 0..<q {
          for k in i..<q {
            var s = 0.0
            for j in 0..<n { s += normals[i][j] * normals[k][j] }
            gram[i * q + k] = s
            gram[k * q + i] = s
          }
          var s = 0.0
          for j in 0..<n { s += normals[i][j] * np[j] }
          rhs[i] = s
        }
        guard let r = solveSPD(gram, rhs, q) else { return nil }
        var z = np
        for i in 0..<q { for j in 0..<n { z[j] -= r[i] * normals[i][j] } }
        let zz = z.reduce(0) { $0 + $1 * $1 }
        // The partial step: the first active multiplier to reach zero.
        var t1 = Double.infinity
        var block = -1
        for i in 0..<q where r[i] > 1e-14 {
          let t = u[i] / r[i]
          if t < t1 {
            t1 = t
            block = i
          }
        }
        // The full step: p becomes active (none when n_p lies in the span of the active normals).
        var sp = -bp
        for j in 0..<n { sp += np[j] * x[j] }
        let t2 = zz > 1e-12 * max(npNorm2, 1e-300) ? max(0, sp) / zz : Double.infinity
        let t = min(t1, t2)
        guard t.isFinite else { return nil }  // no common point (or numerically so)
        if t2.isFinite { for j in 0..<n { x[j] -= t * z[j] } }
        for i in 0..<q { u[i] -= t * r[i] }
        up += t
        if t2 <= t1 {
          active.append(p)
          normals.append(np)
          u.append(up)
          isActive[p] = true
          break
        }
        isActive[active[block]] = false
        active.remove(at: block)
        normals.remove(at: block)
        u.remove(at: block)
      }
    }
  }
}
