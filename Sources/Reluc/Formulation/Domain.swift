import RelucBase
import RelucIR
import RelucHiGHS

/// The feasible set of inputs: Euclidean projection (the gradient methods) and sampling (their
/// starts and the walks).
///
/// Projection onto a box is exact clamping. Onto a general polytope with at most 64 rows it is
/// `DualProjection` (a Newton method on the rows' dual, certified by the KKT conditions); when that
/// declines, or with more rows, the QP `min 1/2 |p - v|^2  s.t.  A p <= b, l <= p <= u` solved by
/// HiGHS's active-set QP solver (warm-started from the previous projection).
final class Domain {
  let polytope: Polytope
  let n: Int
  let diameter: Double
  private let qp: HighsSolver?
  private let dual: DualProjection?
  /// Projections answered by the QP solver (the dual method declined or was not used).
  private(set) var qpProjections = 0

  init(_ polytope: Polytope) throws(HighsError) {
    self.polytope = polytope
    n = polytope.dimension
    var d2 = 0.0
    for j in 0..<n { d2 += (polytope.upper[j] - polytope.lower[j]) * (polytope.upper[j] - polytope.lower[j]) }
    diameter = max(d2.squareRoot(), 1e-12)
    dual = !polytope.isBox && polytope.rowCount <= 64 ? DualProjection(polytope) : nil
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

  /// Projects `v` onto the domain, in place. Returns false if the QP failed.
  @discardableResult
  func project(_ v: UnsafeMutablePointer<Double>) -> Bool {
    guard let qp else {
      for j in 0..<n { v[j] = min(max(v[j], polytope.lower[j]), polytope.upper[j]) }
      return true
    }
    if let dual, let p = dual.project(UnsafePointer(v)) {
      for j in 0..<n { v[j] = p[j] }
      return true
    }
    qpProjections += 1
    // min 1/2 |p|^2 - v.p  ==  min 1/2 |p - v|^2 + const
    do {
      try qp.setCosts((0..<n).map { -v[$0] })
      guard try qp.run() == .optimal else { return false }
    } catch { return false }
    let p = qp.columnValues()
    for j in 0..<n { v[j] = min(max(p[j], polytope.lower[j]), polytope.upper[j]) }
    return true
  }

  /// A random point of the domain: uniform on a box; on a polytope, uniform by rejection from
  /// the bounding box (up to 1000 draws), else the projection of a uniform box point.
  func sample(_ rng: inout Xoshiro256, into x: UnsafeMutablePointer<Double>) {
    for _ in 0..<(polytope.isBox ? 1 : 1000) {
      for j in 0..<n {
        x[j] = polytope.lower[j] + rng.unit() * (polytope.upper[j] - polytope.lower[j])
      }
      if polytope.isBox || polytope.maxViolation(Array(UnsafeBufferPointer(start: x, count: n))) <= 0 {
        return
      }
    }
    project(x)
  }

  /// Latin hypercube samples of the bounding box (projected onto the domain).
  func latinHypercube(_ count: Int, _ rng: inout Xoshiro256) -> [[Double]] {
    var points = [[Double]](repeating: [Double](repeating: 0, count: n), count: count)
    for j in 0..<n {
      var perm = Array(0..<count)
      perm.shuffle(using: &rng)
      for k in 0..<count {
        let u = (Double(perm[k]) + rng.unit()) / Double(count)
        points[k][j] = polytope.lower[j] + u * (polytope.upper[j] - polytope.lower[j])
      }
    }
    for k in 0..<count { points[k].withUnsafeMutableBufferPointer { _ = project($0.baseAddress!) } }
    return points
  }
}

/// The QP projection alone (no dual method), for tests that compare the two.
struct RelucHiGHSQP {
  let domain: Domain?
  let dimension: Int

  init(_ p: Polytope) {
    var q = p
    // More than 64 rows makes Domain use the QP: pad with copies of a redundant row.
    while q.rowCount <= 64 {
      q.matrix += [Double](repeating: 0, count: p.dimension)
      q.rhs.append(1)
      q.rowNames.append("pad")
    }
    domain = try? Domain(q)
    dimension = p.dimension
  }

  func project(_ v: [Double]) -> [Double]? {
    guard let domain else { return nil }
    var x = v
    let ok = x.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) }
    return ok ? x : nil
  }
}
