import RelucBase
import RelucHiGHS
import RelucIR

/// LP Walk (Tong, Cai, Serra 2024, "relax-and-walk"). From a point, solve the LP of its linear
/// region, step past the optimum by `lp_walk_epsilon` (x <- x* + eps (x* - x), kept in X) into a
/// neighbouring region, and repeat while the value strictly improves. Starts: the user's points,
/// the LP relaxation of the big-M MILP, then relaxations with randomly chosen neurons fixed to the
/// flipped state (drawn with probability proportional to |z_int - z_relaxed| + 0.05; a fix that
/// makes the relaxation infeasible is undone), then uniform samples of X; patterns already walked
/// from are skipped.
///
/// Time: each relaxation LP gets at most `relaxationShare` of the time left (on a wide network
/// HiGHS may need seconds for it; a relaxation that times out once is not tried again and the
/// starts are sampled), every LP has HiGHS's time limit and interrupt callback, and the best point
/// so far is returned whenever the walk stops.
public struct LPWalkBackend: Backend {
  /// Creates the back end.
  public init() {}

  /// The share of the time left that one relaxation LP may take.
  static let relaxationShare = 0.25

  public func solve(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    do throws(HighsError) {
      return try highsStage("run LP Walk (region LPs)") { () throws(HighsError) in
        try run(problem, context)
      }
    } catch  where error.isStop {
      return SolveResult(status: context.stopStatus, method: .lp_walk)
    } catch {
      return SolveResult(status: .error, method: .lp_walk, message: "\(error)")
    }
  }

  func run(_ problem: Problem, _ context: SolveContext) throws(HighsError) -> SolveResult {
    var walk = try LPWalk(problem: problem, context: context)
    let user = context.userStarts.filter { $0.count == problem.network.inputSize }
    var startIndex = 0
    do throws(HighsError) {
      while !context.shouldStop, startIndex < problem.options.starts + context.userStarts.count {
        let start = try walk.start(startIndex, user: user)
        startIndex += 1
        try walk.walk(from: start)
      }
    } catch  where error.isStop {}
    return walk.result()
  }
}

/// The state of one LP Walk: the region LP, the relaxation the starts come from, the best point.
struct LPWalk {
  let problem: Problem
  let context: SolveContext
  let lp: RegionLPSolver
  let domain: Domain
  var rng: Xoshiro256
  let sign: Double
  var best: [Double]? = nil
  /// The best value, signed (`sign * objective`).
  var bestValue = -Double.infinity
  var seen = Set<Int>()
  var walks = 0
  /// The LP relaxation of the big-M MILP and the binaries fixed in it.
  let relaxation: BigMModel
  var fixes: [Int: Double] = [:]
  /// Whether a relaxation LP ran out of its share of the time (no more are tried).
  var relaxationTooSlow = false
  /// Per binary of the relaxation: its index among all ReLU neurons (as in `LinearRegion`) and
  /// its column.
  let binaries: [(Int, Int)]

  init(problem: Problem, context: SolveContext) throws(HighsError) {
    self.problem = problem
    self.context = context
    lp = try RegionLPSolver(problem: problem)
    try lp.solver.stopping(at: context.deadline)
    domain = try Domain(problem.polytope)
    rng = Xoshiro256(seed: UInt64(problem.options.seed))
    sign = problem.objective.sign
    relaxation = try BigMModel(
      problem: problem, bounds: context.intervalBounds(problem), relaxed: true,
      stop: context.deadline)
    try relaxation.setObjective(problem)
    try relaxation.solver.stopping(at: context.deadline)
    // HiGHS's own choice of dual pricing rather than the Devex of `BigMModel`'s relaxations
    // (chosen there for many re-solves after small changes): here the first solve, from
    // scratch, is the one that matters, and on a wide network Devex makes it several times
    // slower.
    try relaxation.solver.set("simplex_dual_edge_weight_strategy", -1)
    var binaries: [(Int, Int)] = []
    var reluIndex = 0
    for (l, layer) in problem.network.layers.enumerated() where layer.activation == .relu {
      for i in 0..<layer.outputSize {
        if let col = relaxation.binaryColumns[l][i] { binaries.append((reluIndex, col)) }
        reluIndex += 1
      }
    }
    self.binaries = binaries
  }

  /// Start `k`: the user's points (projected), the relaxation, relaxations with flipped neurons,
  /// then uniform samples (also whenever a relaxation fails).
  mutating func start(_ k: Int, user: [[Double]]) throws(HighsError) -> [Double] {
    if k < user.count {
      var p = user[k]
      p.withUnsafeMutableBufferPointer { _ = domain.project($0.baseAddress!) }
      return p
    }
    var start: [Double]?
    if relaxationTooSlow {
    } else if k == user.count {
      start = try relaxedStart()
    } else if !binaries.isEmpty, k < user.count + max(2, problem.options.starts / 2) {
      start = try flippedStart()
    }
    if let start { return start }
    var p = [Double](repeating: 0, count: problem.network.inputSize)
    p.withUnsafeMutableBufferPointer { domain.sample(&rng, into: $0.baseAddress!) }
    return p
  }

  /// The inputs of the relaxation's optimum, or nil when its LP does not solve (in its share of
  /// the time left: else `relaxationTooSlow`).
  mutating func relaxedStart() throws(HighsError) -> [Double]? {
    let s = relaxation.solver
    try s.setTimeLimit(LPWalkBackend.relaxationShare * context.remaining)
    let status = try s.run()
    if status == .timeLimit || status == .interrupted { relaxationTooSlow = true }
    guard status == .optimal else { return nil }
    return Array(s.columnValues()[0..<problem.network.inputSize])
  }

  /// Fixes one more neuron of the relaxation to the state opposite to the best point's (or the
  /// last relaxed point's), chosen by its fractionality, and returns the relaxation's optimum.
  mutating func flippedStart() throws(HighsError) -> [Double]? {
    let values = relaxation.solver.columnValues()
    let pattern = LinearRegion(
      problem: problem, at: best ?? Array(values[0..<problem.network.inputSize])
    ).active
    let on = { (k: Int) in pattern.indices.contains(k) && pattern[k] }
    let weights = binaries.map { (k, col) in abs((on(k) ? 1.0 : 0.0) - values[col]) + 0.05 }
    var u = rng.unit() * weights.reduce(0, +)
    var pick = 0
    while pick < weights.count - 1, u > weights[pick] {
      u -= weights[pick]
      pick += 1
    }
    let (k, col) = binaries[pick]
    let flipped: Double = on(k) ? 0 : 1
    try relaxation.solver.setColumnBounds(col, lower: flipped, upper: flipped)
    fixes[col] = flipped
    let start = try relaxedStart()
    if start == nil {
      try relaxation.solver.setColumnBounds(col, lower: 0, upper: 1)
      fixes[col] = nil
    }
    if fixes.count > max(1, binaries.count / 10) {
      for c in fixes.keys { try relaxation.solver.setColumnBounds(c, lower: 0, upper: 1) }
      fixes = [:]
    }
    return start
  }

  /// Walks from `start` (unless its region was walked already) while the region LPs improve.
  mutating func walk(from start: [Double]) throws(HighsError) {
    var x = start
    // The start itself is a point (in X): the walk has one before its first LP ends.
    let check = PointCheck(problem: problem, point: x)
    if problem.polytope.maxViolation(x) <= problem.options.feasibilityTolerance, check.feasible {
      let v = check.objective
      if v.isFinite, sign * v > bestValue {
        bestValue = sign * v
        best = x
        context.progress?(v, nil, nil)
      }
    }
    if context.shouldStop { return }
    var region = LinearRegion(problem: problem, at: x)
    if !seen.insert(region.patternHash).inserted { return }
    walks += 1
    var current = -Double.infinity
    while !context.shouldStop {
      guard let (xs, v) = try lp.solve(region, timeLimit: context.remaining) else { break }
      let sv = sign * v
      if sv <= current + 1e-9 * (1 + abs(current)) { break }
      current = sv
      // With output rows the LP's point is kept only when it passes the final check.
      if sv > bestValue,
        !problem.hasOutputConstraints || PointCheck(problem: problem, point: xs).feasible
      {
        bestValue = sv
        best = xs
        context.progress?(v, nil, nil)
      }
      x = stepPast(xs, from: x)
      region = LinearRegion(problem: problem, at: x)
      seen.insert(region.patternHash)
    }
  }

  /// `xs + eps (xs - x)`, with `eps` halved from `lp_walk_epsilon` until the point is in X
  /// (`xs` itself when it gets below 1e-12).
  func stepPast(_ xs: [Double], from x: [Double]) -> [Double] {
    let polytope = problem.polytope
    var eps = problem.options.lpWalkEpsilon
    var next = xs
    while eps > 1e-12 {
      for j in 0..<xs.count {
        next[j] = min(max(xs[j] + eps * (xs[j] - x[j]), polytope.lower[j]), polytope.upper[j])
      }
      if polytope.maxViolation(next) <= 0 { break }
      eps /= 2
    }
    return eps <= 1e-12 ? xs : next
  }

  /// The result: the best point and the walk's statistics.
  func result() -> SolveResult {
    let seconds = max(1e-9, monotonicSeconds() - context.start)
    let stats: [(String, JSON)] = [
      ("walks", .int(walks)), ("lps", .int(lp.solves)),
      ("lps_per_second", .number((Double(lp.solves) / seconds).rounded())),
      ("regions_visited", .int(seen.count)),
      (
        "relaxation_starts",
        .string(relaxationTooSlow ? "stopped: the relaxation LP took too long" : "used")
      ),
    ]
    guard let best else {
      // A heuristic proves nothing: with output rows, no region it walked met them.
      if problem.hasOutputConstraints, !Interrupt.requested {
        return SolveResult(
          status: .noFeasiblePoint, method: .lp_walk, statistics: stats,
          message: "lp_walk found no point that satisfies the constraints on the outputs in "
            + "\(seen.count) regions")
      }
      return SolveResult(
        status: context.shouldStop ? context.stopStatus : .infeasible, method: .lp_walk,
        statistics: stats)
    }
    return SolveResult(
      status: context.shouldStop ? context.stopStatus : .feasible, method: .lp_walk, point: best,
      claimedObjective: sign * bestValue, statistics: stats)
  }
}
