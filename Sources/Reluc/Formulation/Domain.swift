import RelucBase
import RelucHiGHS
import RelucIR

/// The feasible set of inputs: Euclidean projection (the gradient methods) and sampling (their
/// starts and the walks).
///
/// Projection onto a box is exact clamping. Onto a general polytope with at most 64 rows it is
/// `DualProjection` (a Newton method on the rows' dual, certified by the KKT conditions); with
/// more rows, or when that declines, `ActiveSetProjection` (Goldfarb-Idnani's dual active-set
/// method, exact after finitely many steps); when that declines too, the QP
/// `min 1/2 |p - v|^2  s.t.  A p <= b, l <= p <= u` solved by HiGHS's active-set QP solver
/// (warm-started from the previous projection). Whatever answered, the point is accepted only
/// when it satisfies the final check's rule (`admits`: violation at most `feasibility_tolerance`
/// times the largest input bound magnitude, at least 1); otherwise the next method is tried, and
/// `project` returns false when none gives an admissible point (the callers then do not use it).
final class Domain {
  let polytope: Polytope
  let n: Int
  let diameter: Double
  /// The largest violation the final check accepts (`PointCheck`'s rule).
  let acceptedViolation: Double
  private let qp: HighsSolver?
  private let dual: DualProjection?
  private let activeSet: ActiveSetProjection?
  /// Projections answered by the QP solver (the exact methods declined).
  private(set) var qpProjections = 0
  /// Projections that gave no admissible point (the caller discarded the point).
  private(set) var failedProjections = 0

  /// `feasibilityTolerance`: the option of the same name (the final check's); `exact`: false
  /// leaves only HiGHS's QP (tests that compare the methods).
  init(
    _ polytope: Polytope, feasibilityTolerance: Double = SolveOptions().feasibilityTolerance,
    exact: Bool = true
  ) throws(HighsError) {
    self.polytope = polytope
    n = polytope.dimension
    diameter = Self.diameter(lower: polytope.lower, upper: polytope.upper)
    acceptedViolation = feasibilityTolerance * max(1, polytope.upper.map(abs).max() ?? 1)
    dual = exact && !polytope.isBox && polytope.rowCount <= 64 ? DualProjection(polytope) : nil
    activeSet = exact && !polytope.isBox ? ActiveSetProjection(polytope) : nil
    if polytope.isBox {
      qp = nil
    } else {
      let s = HighsSolver()
      try s.addPolytope(polytope)
      try s.setIdentityHessian(n)
      try s.set("primal_feasibility_tolerance", 1e-10)
      try s.set("dual_feasibility_tolerance", 1e-10)
      qp = s
    }
  }

  /// Whether `x` passes the final check's feasibility rule (the same computation as `PointCheck`).
  func admits(_ x: [Double]) -> Bool {
    polytope.maxViolation(x) <= acceptedViolation
  }

  /// Projects `v` onto the domain, in place. Returns false when no method gave a point the final
  /// check admits (`v` is then left unchanged and must not be used as a point of the domain).
  @discardableResult
  func project(_ v: UnsafeMutablePointer<Double>) -> Bool {
    guard let qp else {
      for j in 0..<n { v[j] = polytope.clamp(v[j], j) }
      return true
    }
    func accept(_ p: [Double]) -> Bool {
      let clamped = polytope.clamped(p)
      guard admits(clamped) else { return false }
      for j in 0..<n { v[j] = clamped[j] }
      return true
    }
    if let dual, let p = dual.project(UnsafePointer(v)), accept(p) { return true }
    if let activeSet, let p = activeSet.project(UnsafePointer(v)), accept(p) { return true }
    qpProjections += 1
    // min 1/2 |p|^2 - v.p  ==  min 1/2 |p - v|^2 + const
    do {
      try qp.setCosts((0..<n).map { -v[$0] })
      if try qp.run() == .optimal, accept(qp.columnValues()) { return true }
    } catch {}
    failedProjections += 1
    return false
  }

  /// The box's diagonal, at least 1e-12 and at most the largest double. Where the sum of
  /// squares overflows (widths beyond 1e154), it is computed on widths scaled by the largest:
  /// an infinite diameter made steps of infinite length, which halving never shortens.
  static func diameter(lower: [Double], upper: [Double]) -> Double {
    let d2 = zip(lower, upper).reduce(0.0) { $0 + ($1.1 - $1.0) * ($1.1 - $1.0) }
    if d2.isFinite { return max(d2.squareRoot(), 1e-12) }
    let widths = zip(lower, upper).map { min(Double.greatestFiniteMagnitude, $1 - $0) }
    let scale = widths.max() ?? 0
    guard scale > 0 else { return 1e-12 }
    let sum = widths.reduce(0.0) { $0 + ($1 / scale) * ($1 / scale) }
    return min(Double.greatestFiniteMagnitude, max(1e-12, scale * sum.squareRoot()))
  }

  /// A random point of the domain: uniform on a box; on a polytope, uniform by rejection from
  /// the bounding box (up to 1000 draws), else the projection of a uniform box point.
  func sample(_ rng: inout Xoshiro256, into x: UnsafeMutablePointer<Double>) {
    for _ in 0..<(polytope.isBox ? 1 : 1000) {
      for j in 0..<n {
        x[j] = interpolate(polytope.lower[j], polytope.upper[j], rng.unit())
      }
      if polytope.isBox || inside(x) { return }
    }
    project(x)
  }

  /// Whether `x` satisfies every row exactly (bounds hold by construction); stops at the first
  /// violated row, so a rejected draw usually costs a few rows.
  private func inside(_ x: UnsafeMutablePointer<Double>) -> Bool {
    polytope.matrix.withUnsafeBufferPointer { a in
      for r in 0..<polytope.rowCount {
        var s = 0.0
        for j in 0..<n { s += a[r * n + j] * x[j] }
        if s > polytope.rhs[r] { return false }
      }
      return true
    }
  }

  /// Latin hypercube samples of the bounding box (projected onto the domain).
  func latinHypercube(_ count: Int, _ rng: inout Xoshiro256) -> [[Double]] {
    var points = [[Double]](repeating: [Double](repeating: 0, count: n), count: count)
    for j in 0..<n {
      var perm = Array(0..<count)
      perm.shuffle(using: &rng)
      for k in 0..<count {
        let u = (Double(perm[k]) + rng.unit()) / Double(count)
        points[k][j] = interpolate(polytope.lower[j], polytope.upper[j], u)
      }
    }
    for k in 0..<count { points[k].withUnsafeMutableBufferPointer { _ = project($0.baseAddress!) } }
    return points
  }
}

/// The QP projection alone (no dual or active-set method), for tests that compare them.
struct RelucHiGHSQP {
  let domain: Domain?
  let dimension: Int

  init(_ p: Polytope) {
    domain = try? Domain(p, exact: false)
    dimension = p.dimension
  }

  func project(_ v: [Double]) -> [Double]? {
    guard let domain else { return nil }
    var x = v
    let ok = x.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) }
    return ok ? x : nil
  }
}

/// `a + t (b - a)` for t in [0, 1], also where `b - a` overflows a double (bounds near
/// +-1.8e308): then `a (1 - t) + b t`.
func interpolate(_ a: Double, _ b: Double, _ t: Double) -> Double {
  let w = b - a
  return w.isFinite ? a + t * w : a * (1 - t) + b * t
}
