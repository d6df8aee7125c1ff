import RelucBase
import RelucIR
import RelucHiGHS

/// LP Walk (Tong, Cai, Serra 2024, "relax-and-walk"). From a point, solve the LP of its linear
/// region, step past the optimum by `lp_walk_epsilon` (x <- x* + eps (x* - x), kept in X) into a
/// neighbouring region, and repeat while the value strictly improves. Starts: the LP relaxation of
/// the big-M MILP, then relaxations with randomly chosen neurons fixed to the flipped state (drawn
/// with probability proportional to |z_int - z_relaxed| + 0.05; a fix that makes the relaxation
/// infeasible is undone), then uniform samples of X; patterns already walked from are skipped.
public struct LPWalkBackend: Backend {
  /// Creates the back end.
  public init() {}

  public func solve(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    do { return try run(problem, context) } catch {
      return SolveResult(status: .error, method: .lp_walk, message: "\(error)")
    }
  }

  func run(_ problem: Problem, _ context: SolveContext) throws(HighsError) -> SolveResult {
    let lp = try RegionLPSolver(problem: problem)
    let domain = try Domain(problem.polytope)
    var rng = Xoshiro256(seed: UInt64(problem.options.seed))
    let sign = problem.objective.sign
    var best: [Double]? = nil
    var bestValue = -Double.infinity  // signed
    var seen = Set<Int>()
    var walks = 0

    // The relaxation and its fixes.
    let bounds = context.intervalBounds(problem)
    let relaxation = try BigMModel(problem: problem, bounds: bounds, relaxed: true)
    try relaxation.setObjective(problem)
    // (index among all ReLU neurons, as in LinearRegion, and the binary's column).
    var binaries: [(Int, Int)] = []
    var reluIndex = 0
    for (l, layer) in problem.network.layers.enumerated() where layer.activation == .relu {
      for i in 0..<layer.outputSize {
        if let col = relaxation.binaryColumns[l][i] { binaries.append((reluIndex, col)) }
        reluIndex += 1
      }
    }
    var fixes: [Int: Double] = [:]

    func relaxedStart() throws(HighsError) -> [Double]? {
      let s = relaxation.solver
      try s.setTimeLimit(context.remaining)
      guard try s.run() == .optimal else { return nil }
      return Array(s.columnValues()[0..<problem.network.inputSize])
    }

    var startIndex = 0
    while !context.shouldStop, startIndex < problem.options.starts + context.userStarts.count {
      var start: [Double]?
      let user = context.userStarts.filter { $0.count == problem.network.inputSize }
      if startIndex < user.count {
        var p = user[startIndex]
        p.withUnsafeMutableBufferPointer { _ = domain.project($0.baseAddress!) }
        start = p
      } else if startIndex == user.count {
        start = try relaxedStart()
      } else if !binaries.isEmpty, startIndex < user.count + max(2, problem.options.starts / 2) {
        // Flip one more neuron of the relaxation, chosen by its fractionality.
        let values = relaxation.solver.columnValues()
        let pattern = LinearRegion(problem: problem, at: best ?? Array(values[0..<problem.network.inputSize])).active
        let weights = binaries.map { (k, col) in abs((pattern.indices.contains(k) && pattern[k] ? 1.0 : 0.0) - values[col]) + 0.05 }
        var u = rng.unit() * weights.reduce(0, +)
        var pick = 0
        while pick < weights.count - 1, u > weights[pick] {
          u -= weights[pick]
          pick += 1
        }
        let (k, col) = binaries[pick]
        let flipped: Double = pattern.indices.contains(k) && pattern[k] ? 0 : 1
        try relaxation.solver.setColumnBounds(col, lower: flipped, upper: flipped)
        fixes[col] = flipped
        start = try relaxedStart()
        if start == nil {
          try relaxation.solver.setColumnBounds(col, lower: 0, upper: 1)
          fixes[col] = nil
        }
        if fixes.count > max(1, binaries.count / 10) {
          for c in fixes.keys { try relaxation.solver.setColumnBounds(c, lower: 0, upper: 1) }
          fixes = [:]
        }
      }
      if start == nil {
        var p = [Double](repeating: 0, count: problem.network.inputSize)
        p.withUnsafeMutableBufferPointer { domain.sample(&rng, into: $0.baseAddress!) }
        start = p
      }
      startIndex += 1
      guard var x = start else { continue }
      var region = LinearRegion(problem: problem, at: x)
      if !seen.insert(region.patternHash).inserted { continue }
      walks += 1
      var current = -Double.infinity
      while !context.shouldStop {
        guard let (xs, v) = try lp.solve(region, timeLimit: context.remaining) else { break }
        let sv = sign * v
        if sv <= current + 1e-9 * (1 + abs(current)) { break }
        current = sv
        if sv > bestValue {
          bestValue = sv
          best = xs
          context.progress?(v, nil)
        }
        // Step past the optimum, staying in X.
        var eps = problem.options.lpWalkEpsilon
        var next = xs
        while eps > 1e-12 {
          for j in 0..<xs.count {
            next[j] = min(max(xs[j] + eps * (xs[j] - x[j]), problem.polytope.lower[j]), problem.polytope.upper[j])
          }
          if problem.polytope.maxViolation(next) <= 0 { break }
          eps /= 2
        }
        if eps <= 1e-12 { next = xs }
        x = next
        region = LinearRegion(problem: problem, at: x)
        seen.insert(region.patternHash)
      }
    }
    let seconds = max(1e-9, monotonicSeconds() - context.start)
    let stats: [(String, JSON)] = [
      ("walks", .int(walks)), ("lps", .int(lp.solves)),
      ("lps_per_second", .number((Double(lp.solves) / seconds).rounded())),
      ("regions_visited", .int(seen.count)),
    ]
    guard let best else {
      return SolveResult(status: context.shouldStop ? context.stopStatus : .infeasible, method: .lp_walk, statistics: stats)
    }
    return SolveResult(
      status: context.shouldStop ? context.stopStatus : .feasible, method: .lp_walk, point: best,
      claimedObjective: sign * bestValue, statistics: stats)
  }
}
