import RelucBLAS
import RelucBase
import RelucHiGHS
import RelucIR

/// The linear region of a point: on the activation pattern of `x` every pre-activation is affine
/// in the inputs, `z_i(x) = M_i x + m_i`, and so is the objective, `T(z) x + t(z)`
/// (Tong, Cai, Serra 2024, section 3). Neurons with `z_i(x) >= 0` count as active.
struct LinearRegion {
  /// The number of inputs (the length of every row).
  let n: Int
  /// Per ReLU neuron (all ReLU layers, in order): its row M_i (`row(i)`, stored row-major in
  /// `matrix`), m_i and whether active.
  private(set) var matrix: [Double] = []
  var constants: [Double] = []
  var active: [Bool] = []
  /// The objective's gradient T(z) and constant t(z), in the problem's sense (not signed).
  var objective: [Double] = []
  var objectiveConstant = 0.0
  /// The network's outputs on the region, `y = N x + nc`: rows N_i (dense, n) and constants.
  var outputs: [[Double]] = []
  var outputConstants: [Double] = []

  /// Row M_i of ReLU neuron `i`.
  func row(_ i: Int) -> ArraySlice<Double> { matrix[(i * n)..<((i + 1) * n)] }

  /// The number of ReLU neurons (rows).
  var rowCount: Int { constants.count }

  /// Neuron `i`'s pre-activation at `x`, `M_i x + m_i`.
  func value(_ i: Int, at x: [Double]) -> Double {
    var value = constants[i]
    matrix.withUnsafeBufferPointer { m in
      let base = i * n
      for k in 0..<n { value += m[base + k] * x[k] }
    }
    return value
  }

  /// The Euclidean norm of row M_i.
  func norm(_ i: Int) -> Double {
    row(i).reduce(0) { $0 + $1 * $1 }.squareRoot()
  }

  /// The region of the point `x` (its pattern by a forward pass, `PatternLP.pattern`).
  init(problem: Problem, at x: [Double]) {
    self.init(problem: problem, pattern: PatternLP.pattern(problem, at: x).active)
  }

  /// The region of the activation pattern `pattern` (per ReLU neuron, all ReLU layers in order,
  /// as `PatternLP.pattern` gives it). Layer by layer, one matrix product (dgemm):
  /// `[Z | zc] = W [H | hc]` plus the bias in the last column, where row j of `[H | hc]` is the
  /// previous layer's activation j as an affine map of x (0 for an inactive ReLU); before the
  /// first layer H is the identity, never formed (on 10^4 inputs it would be 800 MB): `Z = W`,
  /// `zc = b`.
  init(problem: Problem, pattern: [Bool]) {
    let net = problem.network
    precondition(pattern.count == net.reluCount, "one state per ReLU neuron")
    n = net.inputSize
    active = pattern
    matrix.reserveCapacity(pattern.count * n)
    let stride = n + 1
    // [H | hc], row-major with `stride` columns; nil: the identity (before the first layer).
    var H: [Double]? = nil
    // The index in `pattern` of the current layer's first neuron.
    var first = 0
    for layer in net.layers {
      let m = layer.outputSize
      let k = layer.inputSize
      var Z = [Double](repeating: 0, count: m * stride)
      if let H {
        Double.gemm(
          transposeA: false, m: m, n: stride, k: k, a: layer.weights, b: H, beta: 0, c: &Z)
      } else {
        for i in 0..<m {
          for j in 0..<k { Z[i * stride + j] = layer.weights[i * k + j] }
        }
      }
      for i in 0..<m { Z[i * stride + n] += layer.bias[i] }
      if layer.activation == .relu {
        for i in 0..<m {
          constants.append(Z[i * stride + n])
          matrix.append(contentsOf: Z[(i * stride)..<(i * stride + n)])
          if !pattern[first + i] {
            for c in 0..<stride { Z[i * stride + c] = 0 }
          }
        }
        first += m
      }
      H = Z
    }
    // The outputs: the last layer's rows (its activation is the identity), or the inputs
    // themselves when the network has no layer.
    if let H {
      outputs = (0..<(H.count / stride)).map { Array(H[($0 * stride)..<($0 * stride + n)]) }
      outputConstants = (0..<(H.count / stride)).map { H[$0 * stride + n] }
    } else {
      outputs = (0..<n).map { j in (0..<n).map { $0 == j ? 1.0 : 0.0 } }
      outputConstants = [Double](repeating: 0, count: n)
    }
    objective = problem.objective.inputWeights
    objectiveConstant = problem.objective.constant
    for (i, c) in problem.objective.outputWeights.enumerated() where c != 0 {
      for k in 0..<n { objective[k] += c * outputs[i][k] }
      objectiveConstant += c * outputConstants[i]
    }
  }
}

/// A HiGHS LP over the inputs, kept across regions: the polytope rows stay and the region's rows
/// are replaced for each new region, generated as its optimum needs them (`regionOptimum`).
final class RegionLPSolver {
  let solver = HighsSolver()
  let problem: Problem
  let fixedRows: Int
  /// Regions solved (`regionOptimum` calls).
  var solves = 0
  /// Neuron rows added by `regionOptimum`'s row generation, over all its calls.
  var generatedRows = 0
  /// A neuron row is violated by more than this (HiGHS's primal feasibility tolerance).
  let rowTolerance: Double

  /// The LP of `problem`'s polytope; HiGHS stops at `stop` (monotonic seconds) or when
  /// `cancellation` is cancelled.
  init(problem: Problem, stop: Double, cancellation: Cancellation? = nil) throws(HighsError) {
    self.problem = problem
    fixedRows = problem.polytope.rowCount
    rowTolerance =
      problem.hasOutputConstraints
      ? Polytope.emptinessTolerance(accepted: problem.options.feasibilityTolerance) : 1e-7
    try solver.stopping(at: stop, cancellation: cancellation)
    try solver.addPolytope(problem.polytope)
    try solver.setMaximize(problem.objective.sense == .maximize)
    if problem.hasOutputConstraints {
      // The output rows are met with a margin (`outputRowMargin`) at a tolerance tighter than
      // the final check's, so that the forward pass at the LP's point passes the check although
      // the region's rows hold only up to HiGHS's tolerance.
      try solver.set("primal_feasibility_tolerance", rowTolerance)
    }
  }

  /// The margin by which the region LP tightens output row `r`: a tenth of the violation the
  /// final check accepts.
  func outputRowMargin(_ r: Int) -> Double {
    0.1 * problem.options.feasibilityTolerance * max(1, abs(problem.outputConstraints.rhs[r]))
  }

  /// Adds ReLU neuron `i`'s row of `region` to `rows`: active, `M x + m >= 0`; inactive,
  /// `M x + m <= 0`.
  private func add(_ i: Int, of region: LinearRegion, to rows: inout RowBatch) {
    let m = region.constants[i]
    let inf = solver.infinity
    rows.beginRow(lower: region.active[i] ? -m : -inf, upper: region.active[i] ? inf : -m)
    let row = region.row(i)
    for k in row.indices where row[k] != 0 { rows.add(k - row.startIndex, row[k]) }
  }

  /// Adds the output rows on `region` to `rows`: there `y = N x + nc`, so `G x + H y <= h` is
  /// `(G + H N) x <= h - H nc` (tightened by `outputRowMargin`).
  private func addOutputRows(of region: LinearRegion, to rows: inout RowBatch) {
    let n = problem.network.inputSize
    let oc = problem.outputConstraints
    for r in 0..<oc.rowCount {
      var coefficients = Array(oc.inputRow(r))
      var rhs = oc.rhs[r] - outputRowMargin(r)
      for (i, hri) in oc.outputRow(r).enumerated() where hri != 0 {
        rhs -= hri * region.outputConstants[i]
        let ni = region.outputs[i]
        for k in 0..<n { coefficients[k] += hri * ni[k] }
      }
      rows.beginRow(lower: -solver.infinity, upper: rhs)
      for k in 0..<n where coefficients[k] != 0 { rows.add(k, coefficients[k]) }
    }
  }

  /// The optimum over `region` (which contains `x`), clamped into the inputs' box (HiGHS's
  /// tolerance may leave a bound slightly violated), by row generation: the LP starts with the
  /// output rows and the `initialRows` neuron rows nearest to `x` (distance to their
  /// hyperplanes); while its optimum violates neuron rows (by more than `rowTolerance`), the
  /// violated ones are added and the LP re-solved from its last basis. It ends with every row
  /// met, so its optimum is the whole region's. Returns nil when an LP does not solve.
  ///
  /// Few of a region's rows are needed. The whole LP (every row at once) took
  /// 1.5-1.6 s from anytime PPGA's point at 30 s on 1000-500-500-500-500-1 (2,000 dense rows of
  /// 1,000 columns, about 600 simplex iterations); with the rows generated, 0.25-0.38 s (200
  /// rows, at most 6 added, one to three LPs). LP Walk's region LPs in 20 s, whole / generated:
  /// 1000-500-500-500-1 22 / 154; 1000-500-500-1 56 / 279; 1000-100-1 1,302 / 1,715;
  /// 100-500-500-1 761 / 4,418; 100-100-100-1 5,489 / 15,316 (the whole LP started warm or cold
  /// from the last region's basis, whichever was faster).
  func regionOptimum(_ region: LinearRegion, at x: [Double], timeLimit: Double)
    throws(HighsError) -> [Double]?
  {
    let stop = monotonicSeconds() + timeLimit
    solves += 1
    if solver.rowCount > fixedRows {
      try solver.deleteRows(from: fixedRows, to: solver.rowCount - 1)
    }
    var distance = [Double](repeating: .infinity, count: region.rowCount)
    for i in 0..<region.rowCount {
      let norm = region.norm(i)
      // A row of zeros cannot be violated: its value is its constant, as at x.
      if norm > 0 { distance[i] = abs(region.value(i, at: x)) / norm }
    }
    let candidates = (0..<region.rowCount).filter { distance[$0].isFinite }
    var inLP = [Bool](repeating: false, count: region.rowCount)
    var rows = RowBatch()
    for i in candidates.sorted(by: { distance[$0] < distance[$1] }).prefix(initialRows(region)) {
      inLP[i] = true
      add(i, of: region, to: &rows)
    }
    addOutputRows(of: region, to: &rows)
    try solver.addRows(rows)
    try solver.setCosts(region.objective)
    try solver.setOffset(region.objectiveConstant)
    while true {
      try solver.setTimeLimit(max(0.001, stop - monotonicSeconds()))
      guard try solver.run() == .optimal else { return nil }
      let xs = solver.columnValues()
      var added = RowBatch()
      for i in candidates where !inLP[i] {
        let v = region.value(i, at: xs)
        if region.active[i] ? v < -rowTolerance : v > rowTolerance {
          inLP[i] = true
          add(i, of: region, to: &added)
        }
      }
      guard added.count > 0 else { return problem.polytope.clamped(xs) }
      generatedRows += added.count
      try solver.addRows(added)
    }
  }

  /// The neuron rows the row generation starts with: a tenth of the region's, at least 64.
  func initialRows(_ region: LinearRegion) -> Int { max(64, region.rowCount / 10) }

  /// The repair of a point for the output rows (and its polish, `RegionPolish`): the optimum of
  /// the region LP of `x`'s activation pattern (`regionOptimum`), when it passes the final check
  /// (`PointCheck`); nil when that region has no feasible point or the LP fails. Its value is the
  /// forward pass's.
  func repair(_ x: [Double], timeLimit: Double) throws(HighsError) -> ([Double], Double)? {
    guard
      let xs = try regionOptimum(
        LinearRegion(problem: problem, at: x), at: x, timeLimit: timeLimit)
    else { return nil }
    let check = PointCheck(problem: problem, point: xs)
    guard check.feasible, check.objective.isFinite else { return nil }
    return (xs, check.objective)
  }
}
