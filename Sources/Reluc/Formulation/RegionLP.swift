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
/// are replaced for each new region. Each solve after the first starts warm or cold, as
/// `warmStarts` chooses (see `WarmStarts`).
final class RegionLPSolver {
  let solver = HighsSolver()
  let problem: Problem
  let fixedRows: Int
  var solves = 0
  /// How each region's solve starts.
  var warmStarts = WarmStarts()

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
    // The last region's basis (its rows are the same neurons and output rows, in the same order).
    let last = solver.rowCount > fixedRows ? solver.basis() : nil
    if solver.rowCount > fixedRows {
      try solver.deleteRows(from: fixedRows, to: solver.rowCount - 1)
    }
    var rows = RowBatch()
    let inf = solver.infinity
    for i in 0..<region.rowCount {
      // active: M x + m >= 0;  inactive: M x + m <= 0
      let m = region.constants[i]
      rows.beginRow(lower: region.active[i] ? -m : -inf, upper: region.active[i] ? inf : -m)
      let row = region.row(i)
      for k in row.indices where row[k] != 0 { rows.add(k - row.startIndex, row[k]) }
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
    var warmStarted: Bool? = nil
    if var warm = last, warm.rows.count == solver.rowCount {
      warmStarted = warmStarts.next()
      if warmStarted == true {
        // A row that was tight stays nonbasic, at the bound of its new side: LP Walk steps just
        // past the last optimum, which is on the new region's boundary too (the pre-activations
        // are continuous), so this basis is that vertex, feasible in the new region.
        for i in 0..<region.rowCount where warm.rows[fixedRows + i] != HighsBasis.basic {
          warm.rows[fixedRows + i] = region.active[i] ? HighsBasis.lower : HighsBasis.upper
        }
        for r in (fixedRows + region.rowCount)..<warm.rows.count
        where warm.rows[r] != HighsBasis.basic {
          warm.rows[r] = HighsBasis.upper
        }
        if !solver.setBasis(warm) { warmStarted = nil }
      }
    }
    try solver.setCosts(region.objective)
    try solver.setOffset(region.objectiveConstant)
    try solver.setTimeLimit(timeLimit)
    solves += 1
    let before = solver.runSeconds
    let status = try solver.run()
    if let warmStarted, status == .optimal {
      warmStarts.record(warm: warmStarted, seconds: solver.runSeconds - before)
    }
    guard status == .optimal else { return nil }
    return (solver.columnValues(), solver.objectiveValue)
  }

  /// The LP optimum over `region` clamped into the inputs' box (HiGHS's tolerance may leave a
  /// bound slightly violated), or nil when the LP did not solve.
  func optimum(_ region: LinearRegion, timeLimit: Double) throws(HighsError) -> [Double]? {
    guard let (solution, _) = try solve(region, timeLimit: timeLimit) else { return nil }
    return problem.polytope.clamped(solution)
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

/// The start of each region LP after the first: warm, from the last region's basis with its
/// tight rows kept nonbasic on their new side (the last optimum, a vertex of the new region), or
/// cold, from HiGHS's own start after the rows are replaced (the columns' statuses, the new rows
/// basic). Neither is faster everywhere. Measured on LP Walk at 20 s, always cold / always warm
/// (HiGHS seconds per LP; simplex iterations per LP): 1000-500-500-500-1 0.99 / 0.37 s
/// (946 / 286); 1000-100-1 11.8 / 8.1 ms (106 / 66); 100-500-500-1 14.0 / 20.6 ms (98 / 105);
/// 100-100-100-1 2.2 / 2.3 ms (49 / 42): a warm iteration took 10-35% longer. So `adaptive` times
/// both: it alternates for the first `trials` LPs of each, then takes the one with the lower
/// moving average of seconds per LP, and the other every `exploreEvery`-th LP. Region LPs solved
/// in 20 s, always cold / adaptive: 1000-500-500-500-1 19 / 33; 1000-100-1 1,195 / 1,359;
/// 10000-50-50-1 85 / 94; 100-500-500-1 710 / 744; 100-100-100-1 6,381 / 6,224.
struct WarmStarts {
  enum Policy { case adaptive, warm, cold }
  var policy = Policy.adaptive
  /// LPs of each start before `adaptive` chooses.
  static let trials = 4
  /// `adaptive` tries the other start once in this many LPs.
  static let exploreEvery = 16
  /// Weight of the newest LP in the moving averages.
  static let weight = 0.125
  /// Per start (cold, warm): LPs timed and their moving average of seconds.
  private(set) var counts = [0, 0]
  private(set) var averages = [0.0, 0.0]
  private var decisions = 0

  /// Whether the next LP starts warm.
  mutating func next() -> Bool {
    switch policy {
    case .warm: return true
    case .cold: return false
    case .adaptive: break
    }
    decisions += 1
    if counts[0] < Self.trials || counts[1] < Self.trials { return counts[1] <= counts[0] }
    let warmFaster = averages[1] < averages[0]
    return decisions % Self.exploreEvery == 0 ? !warmFaster : warmFaster
  }

  /// Records the seconds of an LP that started warm or cold.
  mutating func record(warm: Bool, seconds: Double) {
    let k = warm ? 1 : 0
    counts[k] += 1
    let w = counts[k] <= Self.trials ? 1 / Double(counts[k]) : Self.weight
    averages[k] += w * (seconds - averages[k])
  }

  /// The share of the timed LPs that started warm, for the statistics.
  var summary: String {
    let total = counts[0] + counts[1]
    guard total > 0 else { return "none timed" }
    return "\(counts[1]) of \(total) warm"
  }
}
