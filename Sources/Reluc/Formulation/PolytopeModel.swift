import RelucBase
import RelucHiGHS
import RelucIR

extension HighsSolver {
  /// Adds one column per input (with its bounds) and the rows `A x <= b` of a polytope; returns
  /// the input columns. Shared by the projection QP, the region LPs and the MILP.
  @discardableResult
  func addPolytope(_ p: Polytope) throws(HighsError) -> [Int] {
    let n = p.dimension
    var columns: [Int] = []
    for j in 0..<n { columns.append(try addColumn(lower: p.lower[j], upper: p.upper[j])) }
    for r in 0..<p.rowCount {
      var idx: [Int32] = []
      var val: [Double] = []
      for j in 0..<n where p.matrix[r * n + j] != 0 {
        idx.append(Int32(columns[j]))
        val.append(p.matrix[r * n + j])
      }
      try addRow(lower: -infinity, upper: p.rhs[r], indices: idx, values: val)
    }
    return columns
  }
}

/// What the emptiness LP shows about the polytope of inputs (`Polytope.emptiness`).
enum Emptiness: Equatable {
  /// HiGHS found a point, and it passes the final check's feasibility rule.
  case nonEmpty
  /// HiGHS proved the LP infeasible at `tolerance`, a primal feasibility tolerance tighter than the
  /// final check's; `leastViolation`: the smallest largest violation any input reaches (a second
  /// LP, `leastViolation()`), nil when that LP failed.
  case empty(tolerance: Double, leastViolation: Double?)
  /// Not decided: HiGHS failed or its point violates the constraints by more than the final
  /// check accepts; the reason.
  case undecided(String)
}

extension Polytope {
  /// The primal feasibility tolerance of the emptiness LP: a tenth of the violation the final
  /// check accepts, at most 1e-9 and at least 1e-10 (HiGHS's smallest).
  static func emptinessTolerance(accepted: Double) -> Double {
    min(1e-9, max(1e-10, 0.1 * accepted))
  }

  /// Whether some input satisfies the rows and the variable bounds: one LP with zero costs,
  /// solved by HiGHS with a primal feasibility tolerance tighter than the final check's
  /// (`emptinessTolerance`). `feasibilityTolerance`: the option (the check accepts that times the
  /// largest input bound magnitude, at least 1). HiGHS's infeasibility is the proof of `empty`
  /// (then a second LP measures the least violation, for the message); a point from HiGHS that
  /// fails the final check's rule leaves the question `undecided`.
  func emptiness(feasibilityTolerance: Double) -> Emptiness {
    let accepted = feasibilityTolerance * max(1, upper.map(abs).max() ?? 1)
    let tolerance = Self.emptinessTolerance(accepted: accepted)
    do {
      let s = HighsSolver()
      try s.addPolytope(self)
      try s.setCosts([Double](repeating: 0, count: dimension))
      try s.set("primal_feasibility_tolerance", tolerance)
      switch try s.run() {
      case .infeasible:
        return .empty(tolerance: tolerance, leastViolation: try? leastViolation())
      case .optimal:
        let x = s.columnValues()
        let violation = maxViolation(x)
        if violation <= accepted { return .nonEmpty }
        return .undecided(
          "HiGHS's point of the emptiness LP violates the constraints on the inputs by "
            + "\(formatNumber(violation)), more than the final check accepts (\(formatNumber(accepted)))"
        )
      case let status:
        return .undecided("HiGHS ended the emptiness LP with status \(status)")
      }
    } catch {
      return .undecided("HiGHS could not solve the emptiness LP: \(error)")
    }
  }

  /// An input close to the least largest violation of the rows and bounds: `min t` subject to
  /// `A x - t <= b`, `l - t <= x <= u + t`, `t >= 0` solved by HiGHS at primal feasibility
  /// tolerance 1e-10; returns the violation of its `x` as computed here (`maxViolation`), an exact
  /// statement about that input (nil if HiGHS does not solve the LP).
  func leastViolation() throws(HighsError) -> Double? {
    let s = HighsSolver()
    try s.set("primal_feasibility_tolerance", 1e-10)
    let n = dimension
    var columns: [Int] = []
    for _ in 0..<n { columns.append(try s.addColumn(lower: -s.infinity, upper: s.infinity)) }
    let t = try s.addColumn(lower: 0, upper: s.infinity, cost: 1)
    for r in 0..<rowCount {
      var idx: [Int32] = [Int32(t)]
      var val: [Double] = [-1]
      for j in 0..<n where matrix[r * n + j] != 0 {
        idx.append(Int32(columns[j]))
        val.append(matrix[r * n + j])
      }
      try s.addRow(lower: -s.infinity, upper: rhs[r], indices: idx, values: val)
    }
    for j in 0..<n {
      try s.addRow(
        lower: -s.infinity, upper: upper[j], indices: [Int32(columns[j]), Int32(t)],
        values: [1, -1])
      try s.addRow(
        lower: lower[j], upper: s.infinity, indices: [Int32(columns[j]), Int32(t)], values: [1, 1])
    }
    guard try s.run() == .optimal else { return nil }
    return maxViolation(Array(s.columnValues()[0..<n]))
  }
}
