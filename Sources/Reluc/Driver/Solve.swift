import RelucBase

/// Runs the back end a problem's options name and checks the result.
public enum Solver {
  /// Methods with no back end in this version.
  public static let unavailable: Set<Method> = [.lp_walk, .milp_walk]

  /// Solves and returns the checked report. `auto` runs PPGA_LR for a tenth of the time (at most
  /// 16 starts), then, when the network has at most `auto_milp_neurons` unstable ReLUs (interval
  /// bounds), the exact MILP warm-started from PPGA_LR's point; otherwise PPGA_LR alone.
  public static func solve(_ problem: Problem, _ context: SolveContext) -> SolutionReport {
    let result: SolveResult
    switch problem.options.method {
    case .milp:
      result = problem.options.warmStart
        ? warmStartedMILP(problem, context, note: nil)
        : MILPBackend().solve(problem, context)
    case .ppga, .ppga_lr, .gradient_walk:
      result = GradientBackend(problem.options.method).solve(problem, context)
    case .lp_walk, .milp_walk:
      result = SolveResult(
        status: .error, method: problem.options.method,
        message: "method \(problem.options.method.rawValue) is not built in this version of reluc")
    case .auto:
      result = auto(problem, context)
    }
    return SolutionReport(
      problem: problem, result: result, seconds: monotonicSeconds() - context.start)
  }

  static func auto(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    let bounds = intervalBounds(
      problem.network, lower: problem.polytope.lower, upper: problem.polytope.upper)
    let unstable = bounds.stableCounts(problem.network).unstable
    guard unstable <= problem.options.autoMilpNeurons else {
      var r = GradientBackend(.ppga_lr).solve(problem, context)
      r.statistics.insert(("auto", .string("ppga_lr (\(unstable) unstable ReLUs)")), at: 0)
      return r
    }
    return warmStartedMILP(
      problem, context, note: "ppga_lr warm start, then milp (\(unstable) unstable ReLUs)")
  }

  /// PPGA_LR for 5% of the time (at most 8 starts), then the MILP started from its best point.
  /// When HiGHS ends without a point of its own, PPGA_LR's point is reported (never as optimal).
  static func warmStartedMILP(_ problem: Problem, _ context: SolveContext, note: String?)
    -> SolveResult
  {
    var heuristicContext = context
    heuristicContext.deadline = context.start + 0.05 * (context.deadline - context.start)
    var h = problem
    h.options.starts = min(h.options.starts, 8)
    var first = GradientBackend(.ppga_lr).solve(h, heuristicContext)
    guard !Interrupt.requested else { return first }
    var exact = MILPBackend(warmStart: first.point).solve(problem, context)
    if let note { exact.statistics.insert(("auto", .string(note)), at: 0) }
    if let f = first.claimedObjective {
      exact.statistics.append(("warm_start_objective", .number(f)))
    }
    if exact.point == nil, first.point != nil, exact.status != .infeasible {
      first.statistics = exact.statistics
      first.bound = exact.bound
      first.method = .milp
      first.status = exact.status == .optimal ? .feasible : exact.status
      return first
    }
    return exact
  }
}
