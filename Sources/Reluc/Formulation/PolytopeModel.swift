import RelucBase
import RelucIR
import RelucHiGHS

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

extension Polytope {
  /// Whether no input satisfies the rows and the variable bounds: one LP with zero costs.
  func isEmpty() throws(HighsError) -> Bool {
    let s = HighsSolver()
    try s.addPolytope(self)
    try s.setCosts([Double](repeating: 0, count: dimension))
    return try s.run() == .infeasible
  }
}
