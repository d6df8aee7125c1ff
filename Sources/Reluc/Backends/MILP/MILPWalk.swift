import RelucBase
import RelucHiGHS
import RelucIR

/// MILP Walk (Perakis and Tsiourvas 2022, "sample-and-MIP"). Sample x uniformly in X; solve the
/// LP of its linear region; if the value is within `milp_walk_gap` (relative) of the best so far,
/// repeatedly solve the big-M MILP with every neuron fixed to its state at the current point
/// except the neurons at zero pre-activation there (the region's tight neurons), moving to the
/// MILP's point while it improves.
public struct MILPWalkBackend: Backend {
  /// Creates the back end.
  public init() {}

  public func solve(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    do throws(HighsError) {
      return try highsStage("run MILP Walk (region LPs and restricted MILPs)") {
        () throws(HighsError) in try run(problem, context)
      }
    } catch  where error.isStop {
      return SolveResult(status: context.stopStatus, method: .milp_walk)
    } catch {
      return SolveResult(status: .error, method: .milp_walk, message: "\(error)")
    }
  }

  func run(_ problem: Problem, _ context: SolveContext) throws(HighsError) -> SolveResult {
    // The region LPs on the big-M relaxation with fixed binaries (`PatternLP`: no dense region
    // matrix, warm-started).
    let lp = try PatternLP(
      problem: problem, bounds: context.intervalBounds(problem), stop: context.deadline,
      verbose: context.verbose)
    let domain = try Domain(problem.polytope)
    var rng = Xoshiro256(seed: UInt64(problem.options.seed))
    let sign = problem.objective.sign
    let bounds = context.intervalBounds(problem)
    let milp = try BigMModel(
      problem: problem, bounds: bounds, objective: problem.objective, stop: context.deadline)
    try milp.setObjective(problem)
    try milp.solver.stopping(at: context.deadline)
    // HiGHS's sub-MIPs (the heuristics RENS and RINS) do not watch the interrupt callback: an
    // interrupt waited for them, 7 s on 1000-100-100-1.
    try milp.solver.set("mip_heuristic_run_rens", false)
    try milp.solver.set("mip_heuristic_run_rins", false)
    var best: [Double]? = nil
    var bestValue = -Double.infinity
    var samples = 0
    var milps = 0
    let n = problem.network.inputSize
    var repair = OutputRowRepair(problem: problem)

    // Starts until the deadline when `starts` is 0 (anytime), else `starts` of them.
    let anytime = context.anytime(problem)
    while !context.shouldStop, anytime || samples < problem.options.starts {
      samples += 1
      var x = [Double](repeating: 0, count: n)
      x.withUnsafeMutableBufferPointer { domain.sample(&rng, into: $0.baseAddress!) }
      // The sample itself is a point: the walk has one before its first LP ends.
      // With output rows a point counts only when it passes the final check.
      func meetsRows(_ p: [Double]) -> Bool {
        !problem.hasOutputConstraints || PointCheck(problem: problem, point: p).feasible
      }
      let sampled = sign * problem.evaluate(x).objective
      if sampled > bestValue,
        problem.polytope.maxViolation(x) <= problem.options.feasibilityTolerance, meetsRows(x)
      {
        bestValue = sampled
        best = x
        context.improved(x, value: sampled, sign: sign, by: .milp_walk)
      }
      guard
        let (xs, v) = try lp.solveRegion(
          PatternLP.pattern(problem, at: x).active, timeLimit: context.remaining)
      else { continue }
      var current = sign * v
      x = xs
      guard meetsRows(x) else { continue }
      if current > bestValue {
        bestValue = current
        best = x
        context.improved(x, value: current, sign: sign, by: .milp_walk)
      }
      let gapOK = bestValue - current <= problem.options.milpWalkGap * max(1e-12, abs(bestValue))
      guard gapOK else { continue }
      while !context.shouldStop {
        try fixBinaries(milp, problem.network, at: x)
        try milp.solver.setTimeLimit(context.remaining)
        milps += 1
        let status = try milp.solver.run()
        guard status == .optimal || milp.solver.hasPrimalSolution else { break }
        var value = sign * milp.solver.objectiveValue
        var next = Array(milp.solver.columnValues()[0..<n])
        if problem.hasOutputConstraints {
          // The restricted MILP's point checked against the output rows (repaired if need be).
          guard let r = try repair.checked(next, until: context.deadline) else { break }
          (next, value) = (r.point, sign * r.objective)
        }
        guard value > current + 1e-9 * (1 + abs(current)) else { break }
        current = value
        x = next
        if current > bestValue {
          bestValue = current
          best = x
          context.improved(x, value: current, sign: sign, by: .milp_walk)
        }
      }
    }
    var stats: [(String, JSON)] = [
      ("samples", .int(samples)), ("lps", .int(lp.solves)), ("milps", .int(milps)),
    ]
    if problem.hasOutputConstraints {
      stats.append(("repairs", .int(repair.repaired)))
    }
    guard let best else {
      return .walkWithoutPoint(
        .milp_walk, problem, context, statistics: stats, searched: "\(samples) sampled regions")
    }
    return SolveResult(
      status: context.shouldStop ? context.stopStatus : .feasible, method: .milp_walk, point: best,
      claimedObjective: sign * bestValue, statistics: stats)
  }

  /// Fixes every binary of `milp` to its neuron's state at `x`, except the tight neurons (a
  /// pre-activation within `1e-7 (1 + |b| + sum |w_j h_j|)` of zero), which are freed.
  func fixBinaries(_ milp: BigMModel, _ network: Network, at x: [Double]) throws(HighsError) {
    let pass = network.forward(x)
    for (l, layer) in network.layers.enumerated() {
      let h = pass.layerInput(l)
      for i in 0..<layer.outputSize {
        guard let col = milp.binaryColumns[l][i] else { continue }
        let z = pass.preactivations[l][i]
        var scale = abs(layer.bias[i])
        for j in 0..<layer.inputSize { scale += abs(layer.weights[i * layer.inputSize + j] * h[j]) }
        if abs(z) <= 1e-7 * (1 + scale) {
          try milp.solver.setColumnBounds(col, lower: 0, upper: 1)
        } else {
          let s: Double = z > 0 ? 1 : 0
          try milp.solver.setColumnBounds(col, lower: s, upper: s)
        }
      }
    }
  }
}
