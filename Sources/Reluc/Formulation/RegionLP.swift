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
  /// The network's outputs on the region, `y = N x + nc`: rows N_i (dense, n) and constants.
  var outputs: [[Double]] = []
  var outputConstants: [Double] = []

  init(problem: Problem, at x: [Double]) {
    let net = problem.network
    let n = net.inputSize
    // H: the current layer's activations as affine maps of x (rows of length n; nil before the
    // first layer: the identity, never formed, which on 10^4 inputs would be 800 MB), hc their
    // constants; `live[j]`: whether row j can be nonzero (an inactive ReLU's is 0).
    var H: [[Double]]? = nil
    var hc = [Double](repeating: 0, count: n)
    var live = [Bool](repeating: true, count: n)
    let pass = net.forward(x)
    for (l, layer) in net.layers.enumerated() {
      var Z = [[Double]](repeating: [Double](repeating: 0, count: n), count: layer.outputSize)
      var zc = layer.bias
      for i in 0..<layer.outputSize {
        Z[i].withUnsafeMutableBufferPointer { zi in
          for j in 0..<layer.inputSize where live[j] {
            let w = layer.weights[i * layer.inputSize + j]
            if w == 0 { continue }
            guard let H else {
              zi[j] += w
              continue
            }
            zc[i] += w * hc[j]
            H[j].withUnsafeBufferPointer { hj in
              for k in 0..<n { zi[k] += w * hj[k] }
            }
          }
        }
      }
      live = [Bool](repeating: true, count: layer.outputSize)
      if layer.activation == .relu {
        for i in 0..<layer.outputSize {
          let on = pass.preactivations[l][i] >= 0
          rows.append(Z[i])
          constants.append(zc[i])
          active.append(on)
          if !on {
            Z[i] = [Double](repeating: 0, count: n)
            zc[i] = 0
            live[i] = false
          }
        }
      }
      H = Z
      hc = zc
    }
    let last = H ?? (0..<n).map { j in (0..<n).map { $0 == j ? 1.0 : 0.0 } }
    outputs = last
    outputConstants = hc
    objective = problem.objective.inputWeights
    objectiveConstant = problem.objective.constant
    for (i, c) in problem.objective.outputWeights.enumerated() where c != 0 {
      for k in 0..<n { objective[k] += c * last[i][k] }
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

/// A HiGHS LP over the inputs, kept across regions: the polytope rows stay and the region's rows
/// are replaced for each new region. HiGHS 1.15 keeps its basis valid through the deletion (the
/// columns' statuses stay) and adds the new rows basic, so the next solve starts from what is
/// left of the previous basis.
final class RegionLPSolver {
  let solver = HighsSolver()
  let problem: Problem
  let fixedRows: Int
  var solves = 0

  /// The LP of `problem`'s polytope; HiGHS stops at `stop` (monotonic seconds) or when
  /// `cancellation` is cancelled.
  init(problem: Problem, stop: Double, cancellation: Cancellation? = nil) throws(HighsError) {
    self.problem = problem
    try solver.stopping(at: stop, cancellation: cancellation)
    try solver.addPolytope(problem.polytope)
    fixedRows = problem.polytope.rowCount
    try solver.setMaximize(problem.objective.sense == .maximize)
    if problem.hasOutputConstraints {
      // The output rows are met with a margin (`outputRowMargin`) at a tolerance tighter than
      // the final check's, so that the forward pass at the LP's point passes the check although
      // the region's rows hold only up to HiGHS's tolerance.
      try solver.set(
        "primal_feasibility_tolerance",
        Polytope.emptinessTolerance(accepted: problem.options.feasibilityTolerance))
    }
  }

  /// The margin by which the region LP tightens output row `r`: a tenth of the violation the
  /// final check accepts.
  func outputRowMargin(_ r: Int) -> Double {
    0.1 * problem.options.feasibilityTolerance * max(1, abs(problem.outputConstraints.rhs[r]))
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
    // Output rows: on the region y = N x + nc, so G x + H y <= h is
    // (G + H N) x <= h - H nc (tightened by `outputRowMargin`).
    let oc = problem.outputConstraints
    for r in 0..<oc.rowCount {
      var coefficients = Array(oc.inputRow(r))
      var rhs = oc.rhs[r] - outputRowMargin(r)
      for (i, hri) in oc.outputRow(r).enumerated() where hri != 0 {
        rhs -= hri * region.outputConstants[i]
        let ni = region.outputs[i]
        for k in 0..<n { coefficients[k] += hri * ni[k] }
      }
      rows.beginRow(lower: -inf, upper: rhs)
      for k in 0..<n where coefficients[k] != 0 { rows.add(k, coefficients[k]) }
    }
    try solver.addRows(rows)
    try solver.setCosts(region.objective)
    try solver.setOffset(region.objectiveConstant)
    try solver.setTimeLimit(timeLimit)
    solves += 1
    guard try solver.run() == .optimal else { return nil }
    return (solver.columnValues(), solver.objectiveValue)
  }

  /// The LP optimum over `region` clamped into the inputs' box (HiGHS's tolerance may leave a
  /// bound slightly violated), or nil when the LP did not solve.
  func optimum(_ region: LinearRegion, timeLimit: Double) throws(HighsError) -> [Double]? {
    guard let (solution, _) = try solve(region, timeLimit: timeLimit) else { return nil }
    let box = problem.polytope
    return solution.indices.map { min(max(solution[$0], box.lower[$0]), box.upper[$0]) }
  }

  /// The repair of a point for the output rows (and its polish, `RegionPolish`): the optimum of
  /// the region LP of `x`'s activation pattern with every row, clamped into the inputs' box
  /// (HiGHS's tolerance may leave a bound slightly violated), when it passes the final check
  /// (`PointCheck`); nil when that region has no feasible point or the LP fails. Its value is the
  /// forward pass's.
  func repair(_ x: [Double], timeLimit: Double) throws(HighsError) -> ([Double], Double)? {
    guard let xs = try optimum(LinearRegion(problem: problem, at: x), timeLimit: timeLimit)
    else { return nil }
    let check = PointCheck(problem: problem, point: xs)
    guard check.feasible, check.objective.isFinite else { return nil }
    return (xs, check.objective)
  }
}
