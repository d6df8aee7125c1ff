import RelucBase
import RelucHiGHS
import RelucIR

/// The exact big-M MILP (`method = milp`), solved by HiGHS.
public struct MILPBackend: Backend {
  /// An optional starting point (e.g. from a heuristic), completed into a full MILP solution.
  public var warmStart: [Double]?

  /// Pre-activation bounds of the problem's network computed by the caller (valid over the
  /// inputs' box), used instead of the ones `bounds` names (`reluc verify`'s refined symbolic
  /// bounds on many inputs).
  var givenBounds: PreactivationBounds? = nil

  /// Creates the back end.
  public init(warmStart: [Double]? = nil) { self.warmStart = warmStart }

  /// HiGHS's absolute MIP gap (its default, pinned here because the reported bound depends on it).
  static let absoluteGap = 1e-6
  /// Rounds of ideal cuts in each bound LP of `bounds = lp` (unless `cuts = none`).
  static let boundCutRounds = 3
  /// Rounds of the root cut loop of `cuts = root`.
  static let rootCutRounds = 20

  public func solve(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    do throws(HighsError) {
      return try highsStage("solve the MILP") { () throws(HighsError) in
        try solveThrowing(problem, context)
      }
    } catch  where error.isStop {
      // The model was still being built at the deadline (or an interrupt): no point of our own.
      return SolveResult(
        status: context.stopStatus, method: .milp,
        message: "the time limit passed while the MILP was being built")
    } catch {
      return SolveResult(status: .error, method: .milp, message: "\(error)")
    }
  }

  /// The bounds the formulation uses: interval bounds, symbolic ones (`bounds = symbolic`), or
  /// LP-tightened ones (`bounds = lp` from interval bounds, `symbolic_lp` from symbolic ones, with
  /// `Budget.boundTightening` of the time left).
  func preactivationBounds(_ problem: Problem, _ context: SolveContext) throws(HighsError)
    -> PreactivationBounds
  {
    if let givenBounds { return givenBounds }
    switch problem.options.bounds {
    case .interval:
      return context.intervalBounds(problem)
    case .symbolic:
      return symbolicBounds(of: problem)
    case .lp, .symbolic_lp:
      let rounds = problem.options.cuts == .none ? 0 : Self.boundCutRounds
      return try lpTightenedBounds(
        problem, context, budget: context.remaining * Budget.boundTightening, cutRounds: rounds,
        splits: problem.options.obbtSplits, objective: problem.objective,
        workers: problem.options.workers,
        start: problem.options.bounds == .symbolic_lp ? symbolicBounds(of: problem) : nil)
    }
  }

  /// The root cut loop of `cuts = root` on the model (`Budget.rootCuts` of the time left), and
  /// its statistics.
  func rootCuts(_ model: BigMModel, _ context: SolveContext) throws(HighsError) -> [(String, JSON)]
  {
    let t = monotonicSeconds()
    let r = try model.rootCuts(
      rounds: Self.rootCutRounds, budget: Budget.rootCuts * context.remaining)
    return [
      ("cuts", .int(r.cuts)), ("cut_rounds", .int(r.rounds)),
      ("root_bound_before_cuts", r.bounds.first.map { .number($0) } ?? .null),
      ("root_bound_after_cuts", r.bounds.last.map { .number($0) } ?? .null),
      ("cut_seconds", .number(((monotonicSeconds() - t) * 1000).rounded() / 1000)),
    ]
  }

  func solveThrowing(_ problem: Problem, _ context: SolveContext) throws(HighsError) -> SolveResult
  {
    let t0 = monotonicSeconds()
    let bounds = try highsStage("compute the pre-activation bounds (bound LPs)") {
      () throws(HighsError) in
      try preactivationBounds(problem, context)
    }
    let boundSeconds = monotonicSeconds() - t0
    if problem.options.cuts == .all {
      return try highsStage("run the branch and bound (cuts = all)") { () throws(HighsError) in
        try solveByTree(problem, context, bounds: bounds, boundSeconds: boundSeconds)
      }
    }
    let model = try highsStage("build the big-M MILP") { () throws(HighsError) in
      let model = try BigMModel(
        problem: problem, bounds: bounds, objective: problem.objective, stop: context.deadline)
      try model.setObjective(problem)
      return model
    }
    let s = model.solver
    try s.setLogging(context.verbose)
    try s.stopping(at: context.deadline)
    var cutStats: [(String, JSON)] = []
    if problem.options.cuts == .root, !model.unstable.isEmpty {
      cutStats = try highsStage("run the root cut loop") { () throws(HighsError) in
        try rootCuts(model, context)
      }
    }
    try s.setTimeLimit(context.remaining)
    try s.set("mip_rel_gap", problem.options.mipGap)
    try s.set("mip_abs_gap", Self.absoluteGap)
    try s.set("random_seed", problem.options.seed)
    if problem.options.threads > 0 {
      HighsSolver.resetThreadPool()
      try s.set("threads", problem.options.threads)
    }
    let progress = context.progress
    s.onImprovingSolution = { v in progress?(v, nil, nil) }
    if let progress {
      let throttle = ProgressThrottle()
      s.onMipProgress = { incumbent, bound, nodes in
        guard throttle.due() else { return }
        progress(incumbent ?? .nan, bound.isFinite ? bound : nil, Int(nodes))
      }
    }
    try s.enableCallbacks()
    if let w = Self.admissibleStart(warmStart, problem) {
      try s.setSolution(model.completion(of: w, network: problem.network))
    }
    let status = try highsStage("solve the MILP") { () throws(HighsError) in try s.run() }
    var stats: [(String, JSON)] =
      Self.formulationStatistics(model.counts, problem, boundSeconds) + [
        ("nodes", .int(Int(s.int64Info("mip_node_count") ?? 0)))
      ] + cutStats + [
        ("highs", .string(HighsSolver.version))
      ]
    let n = problem.network.inputSize
    var point: [Double]? =
      s.hasPrimalSolution ? Array(s.columnValues()[0..<n]) : nil
    var claimed: Double? = nil
    var repairNote: String? = nil
    if let x = point {
      (point, claimed, repairNote) = Self.checkedIncumbent(x, problem, context)
    }
    // HiGHS prunes nodes within its gap tolerances and may then report the incumbent's value as
    // its dual bound; widened by those tolerances it is a bound on the optimum. A model without
    // binaries (every ReLU stable) is an LP, which HiGHS solves without a MIP dual bound (it
    // reports 0): its optimal value is the bound.
    let lpOnly = model.counts.binaries == 0
    let dual =
      lpOnly ? (status == .optimal ? s.objectiveValue : nil) : s.doubleInfo("mip_dual_bound")
    let bound = dual.flatMap { d -> Double? in
      guard d.isFinite else { return nil }
      return d + problem.objective.sign * max(Self.absoluteGap, problem.options.mipGap * abs(d))
    }
    if let repairNote { stats.append(("output_rows", .string(repairNote))) }
    switch status {
    case .optimal:
      stats.append(("mip_gap", .number(s.doubleInfo("mip_gap") ?? 0)))
      guard let c = claimed, let b = bound else {
        return SolveResult(
          status: .error, method: .milp, bound: bound, statistics: stats, message: repairNote)
      }
      // A repaired point is optimal only when it is within the gap of the bound.
      let optimal =
        problem.objective.sign * (b - c)
        <= 2 * max(Self.absoluteGap, problem.options.mipGap * abs(b)) + 1e-9 * (1 + abs(b))
      return SolveResult(
        status: optimal ? .optimal : .feasible, method: .milp, point: point,
        claimedObjective: claimed, bound: bound, statistics: stats)
    case .infeasible:
      return SolveResult(
        status: .infeasible, method: .milp, statistics: stats,
        message: problem.hasOutputConstraints
          ? "HiGHS proves the MILP infeasible: no input in the polytope meets the constraints on "
            + "the outputs" : nil)
    case .unbounded, .unboundedOrInfeasible:
      return SolveResult(
        status: .unbounded, method: .milp, statistics: stats,
        message: "HiGHS reports the MILP unbounded or infeasible")
    case .timeLimit, .interrupted, .iterationLimit, .solutionLimit, .objectiveBound:
      return SolveResult(
        // HiGHS's interrupt callback also ends the run at the deadline (`stopping(at:)`):
        // interrupted only when SIGINT asked for it.
        status: context.stopStatus,
        method: .milp, point: point, claimedObjective: claimed, bound: bound, statistics: stats)
    case .other(let code):
      return SolveResult(
        status: .error, method: .milp, point: point, claimedObjective: claimed, bound: bound,
        statistics: stats, message: "HiGHS ended with model status \(code)")
    }
  }

  /// The formulation's statistics: binaries, neurons without one, the bounds and their time.
  static func formulationStatistics(
    _ counts: BigMModel.Counts, _ problem: Problem, _ boundSeconds: Double
  ) -> [(String, JSON)] {
    [
      ("binaries", .int(counts.binaries)),
      ("convex_side", .int(counts.convexSide)),
      ("stable_active", .int(counts.stableActive)),
      ("stable_inactive", .int(counts.stableInactive)),
      ("bounds", .string(problem.options.bounds.rawValue)),
      (
        "obbt_splits",
        .int(
          [.lp, .symbolic_lp].contains(problem.options.bounds) ? problem.options.obbtSplits : 0)
      ),
      ("bound_seconds", .number((boundSeconds * 1000).rounded() / 1000)),
    ]
  }

  /// `cuts = all`: our branch and bound with the ideal cuts at every node (`IdealCutTree`).
  func solveByTree(
    _ problem: Problem, _ context: SolveContext, bounds: PreactivationBounds, boundSeconds: Double
  ) throws(HighsError) -> SolveResult {
    let tree = IdealCutTree(
      problem: problem, bounds: bounds, context: context, absoluteGap: Self.absoluteGap)
    let t = monotonicSeconds()
    let r = try tree.solve(start: Self.admissibleStart(warmStart, problem))
    let stats: [(String, JSON)] =
      Self.formulationStatistics(r.formulation, problem, boundSeconds) + [
        (
          "tree",
          .string("reluc branch and bound, ideal cuts at every node, \(tree.workers) workers")
        ),
        ("nodes", .int(r.nodes)),
        ("max_depth", .int(r.maxDepth)),
        ("lps", .int(r.lps)),
        ("strong_branching_lps", .int(r.strongLPs)),
        ("lp_failures", .int(r.lpFailures)),
        ("cuts", .int(r.rootCuts + r.cuts)),
        ("root_cuts", .int(r.rootCuts)),
        ("root_bound_before_cuts", r.rootBounds.first.map { .number($0) } ?? .null),
        ("root_bound_after_cuts", r.rootBounds.last.map { .number($0) } ?? .null),
        ("tree_seconds", .number(((monotonicSeconds() - t) * 1000).rounded() / 1000)),
        ("highs", .string(HighsSolver.version)),
      ]
    if r.complete, r.point == nil {
      return SolveResult(
        status: .infeasible, method: .milp, statistics: stats,
        message: problem.hasOutputConstraints
          ? "the branch and bound proves that no input in the polytope meets the constraints on "
            + "the outputs" : nil)
    }
    let status: SolveStatus = r.complete ? .optimal : context.stopStatus
    return SolveResult(
      status: status, method: .milp, point: r.point, claimedObjective: r.value, bound: r.bound,
      statistics: stats)
  }

  /// Writes the MILP (interval bounds) to an MPS or LP file.
  public static func export(_ problem: Problem, to path: String) throws(HighsError) {
    try highsStage("build and write the big-M MILP") { () throws(HighsError) in
      let model = try BigMModel(
        problem: problem, bounds: intervalBounds(of: problem), objective: problem.objective)
      try model.setObjective(problem)
      try model.nameForExport(problem)
      try model.solver.writeModel(path)
    }
  }
}
