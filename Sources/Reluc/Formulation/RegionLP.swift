import RelucBase
import RelucHiGHS
import RelucIR

/// The linear region of a point: on the activation pattern of `x` every pre-activation is affine
/// in the inputs, `z_i(x) = M_i x + m_i`, and so is the objective, `T(z) x + t(z)`
/// (Tong, Cai, Serra 2024, section 3). Neurons with `z_i(x) >= 0` count as active.
struct LinearRegion {
  /// Per ReLU neuron (all ReLU layers, in order): its row M_i (dense, n), m_i and whether active.
  var rows: [[Double]] = []
  var constants: [Double] = []
  var active: [Bool] = []
  /// The objective's gradient T(z) and constant t(z), in the problem's sense (not signed).
  var objective: [Double] = []
  var objectiveConstant = 0.0

  init(problem: Problem, at x: [Double]) {
    let net = problem.network
    let n = net.inputSize
    // H: the current layer's activations as affine maps of x (rows of length n), hc constants.
    var H: [[Double]] = (0..<n).map { j in (0..<n).map { $0 == j ? 1.0 : 0.0 } }
    var hc = [Double](repeating: 0, count: n)
    let pass = net.forward(x)
    for (l, layer) in net.layers.enumerated() {
      var Z = [[Double]](repeating: [Double](repeating: 0, count: n), count: layer.outputSize)
      var zc = layer.bias
      for i in 0..<layer.outputSize {
        Z[i].withUnsafeMutableBufferPointer { zi in
          for j in 0..<layer.inputSize {
            let w = layer.weights[i * layer.inputSize + j]
            if w == 0 { continue }
            zc[i] += w * hc[j]
            H[j].withUnsafeBufferPointer { hj in
              for k in 0..<n { zi[k] += w * hj[k] }
            }
          }
        }
      }
      if layer.activation == .relu {
        for i in 0..<layer.outputSize {
          let on = pass.preactivations[l][i] >= 0
          rows.append(Z[i])
          constants.append(zc[i])
          active.append(on)
          if !on {
            Z[i] = [Double](repeating: 0, count: n)
            zc[i] = 0
          }
        }
      }
      H = Z
      hc = zc
    }
    objective = problem.objective.inputWeights
    objectiveConstant = problem.objective.constant
    for (i, c) in problem.objective.outputWeights.enumerated() where c != 0 {
      for k in 0..<n { objective[k] += c * H[i][k] }
      objectiveConstant += c * hc[i]
    }
  }

  /// A hash of the pattern.
  var patternHash: Int {
    var h = Hasher()
    for a in active { h.combine(a) }
    return h.finalize()
  }
}

/// A HiGHS LP over the inputs, kept across regions: the polytope rows stay, the region's rows are
/// replaced for each new region, and the previous basis warm-starts the next solve.
final class RegionLPSolver {
  let solver = HighsSolver()
  let problem: Problem
  let fixedRows: Int
  var solves = 0

  init(problem: Problem) throws(HighsError) {
    self.problem = problem
    try solver.addPolytope(problem.polytope)
    fixedRows = problem.polytope.rowCount
    try solver.setMaximize(problem.objective.sense == .maximize)
  }

  /// Optimizes the objective over the region of `x` (intersected with X). Returns the LP optimum
  /// and its value, or nil if the LP failed.
  func solve(_ region: LinearRegion, timeLimit: Double) throws(HighsError) -> ([Double], Double)? {
    let n = problem.network.inputSize
    if solver.rowCount > fixedRows {
      try solver.deleteRows(from: fixedRows, to: solver.rowCount - 1)
    }
    var rows = RowBatch()
    let inf = solver.infinity
    for (i, row) in region.rows.enumerated() {
      // active: M x + m >= 0;  inactive: M x + m <= 0
      let m = region.constants[i]
      rows.beginRow(lower: region.active[i] ? -m : -inf, upper: region.active[i] ? inf : -m)
      for k in 0..<n where row[k] != 0 { rows.add(k, row[k]) }
    }
    try solver.addRows(rows)
    try solver.setCosts(region.objective)
    try solver.setOffset(region.objectiveConstant)
    try solver.setTimeLimit(timeLimit)
    solves += 1
    guard try solver.run() == .optimal else { return nil }
    return (solver.columnValues(), solver.objectiveValue)
  }
}
