import RelucBase
import RelucHiGHS
import RelucIR

/// The lifted region LP (of MILP Walk, of LP Walk's relaxation starts, and of its walks with
/// `lp_walk_region_lp = lifted`), one HiGHS model used two ways: the LP relaxation of the big-M
/// MILP (binaries in [0, 1], some fixed by the flipped starts) and the LP of a linear region
/// (every binary fixed to the region's activation pattern). With a binary fixed to 1 the big-M
/// rows reduce to `a = z`, `z >= 0`; fixed to 0, to `a = 0`, `z <= 0`: exactly the region's
/// constraints, on the lifted variables (inputs, pre-activations and activations) instead of the
/// region's affine maps of x.
/// Moving from one region to the next changes only the bounds of the binaries that flip, so the
/// previous optimal basis warm-starts the next solve (HiGHS's dual simplex from a dual feasible
/// basis), and no dense n x (neurons) region matrix is ever formed (on 10000 inputs and 10000
/// neurons that matrix alone is 800 MB).
final class PatternLP {
  let model: BigMModel
  let problem: Problem
  var solver: HighsSolver { model.solver }
  /// Per binary: its index among all ReLU neurons (layer after layer) and its column.
  let binaries: [(relu: Int, column: Int)]
  /// Per binary: its current bounds (0 or 1 when fixed, -1 when free in [0, 1]).
  private var state: [Int8]
  /// Region LPs solved.
  private(set) var solves = 0

  init(
    problem: Problem, bounds: PreactivationBounds, stop: Double,
    cancellation: Cancellation? = nil, verbose: Bool = false
  ) throws(HighsError) {
    self.problem = problem
    model = try BigMModel(problem: problem, bounds: bounds, relaxed: true, stop: stop)
    try model.solver.setLogging(verbose)
    try model.setObjective(problem)
    try model.solver.stopping(at: stop, cancellation: cancellation)
    // HiGHS's own choice of dual pricing rather than the Devex of `BigMModel`'s relaxations: the
    // relaxation's first solve, from scratch, is the one that matters, and on a wide network
    // Devex makes it several times slower.
    try model.solver.set("simplex_dual_edge_weight_strategy", -1)
    // No presolve: it would take seconds on a wide first layer (10^6 nonzeros) before every
    // solve, and it discards the basis that warm-starts the next region.
    try model.solver.set("presolve", "off")
    var binaries: [(Int, Int)] = []
    var reluIndex = 0
    for (l, layer) in problem.network.layers.enumerated() where layer.activation == .relu {
      for i in 0..<layer.outputSize {
        if let col = model.binaryColumns[l][i] { binaries.append((reluIndex, col)) }
        reluIndex += 1
      }
    }
    self.binaries = binaries
    state = [Int8](repeating: -1, count: binaries.count)
  }

  /// The activation pattern of x (a pre-activation >= 0 is active), per ReLU neuron, and its hash.
  static func pattern(_ problem: Problem, at x: [Double]) -> (active: [Bool], hash: Int) {
    let pass = problem.network.forward(x)
    var active: [Bool] = []
    var h = Hasher()
    for (l, layer) in problem.network.layers.enumerated() where layer.activation == .relu {
      for z in pass.preactivations[l] {
        active.append(z >= 0)
        h.combine(z >= 0)
      }
    }
    return (active, h.finalize())
  }

  /// Sets binary k's bounds (-1: free in [0, 1]) unless they already are.
  private func set(_ k: Int, _ s: Int8) throws(HighsError) {
    guard state[k] != s else { return }
    state[k] = s
    let (lo, hi): (Double, Double) = s < 0 ? (0, 1) : (Double(s), Double(s))
    try solver.setColumnBounds(binaries[k].column, lower: lo, upper: hi)
  }

  /// Optimizes over the region of the pattern `active` (intersected with X) within `timeLimit`
  /// seconds: the LP optimum's inputs and value, or nil when the LP did not solve.
  func solveRegion(_ active: [Bool], timeLimit: Double) throws(HighsError) -> ([Double], Double)? {
    for k in binaries.indices { try set(k, active[binaries[k].relu] ? 1 : 0) }
    try solver.setTimeLimit(timeLimit)
    solves += 1
    guard try solver.run() == .optimal else { return nil }
    let values = solver.columnValues()
    return (model.inputColumns.map { values[$0] }, solver.objectiveValue)
  }

  /// Optimizes the relaxation with the binaries in `fixes` (column index into `binaries` ->
  /// value) fixed and the others free, within `timeLimit` seconds: the HiGHS status and, when
  /// optimal, the optimum's inputs and every binary's value.
  func solveRelaxation(fixes: [Int: Double], timeLimit: Double) throws(HighsError) -> (
    HighsModelStatus, inputs: [Double], binaries: [Double]
  ) {
    for k in binaries.indices { try set(k, fixes[k].map { Int8($0) } ?? -1) }
    try solver.setTimeLimit(timeLimit)
    let status = try solver.run()
    guard status == .optimal else { return (status, [], []) }
    let values = solver.columnValues()
    return (status, model.inputColumns.map { values[$0] }, binaries.map { values[$0.column] })
  }
}
