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
      result = MILPBackend().solve(problem, context)
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
    var heuristicContext = context
    let useMILP = unstable <= problem.options.autoMilpNeurons
    if useMILP { heuristicContext.deadline = context.start + 0.1 * (context.deadline - context.start) }
    var h = problem
    if useMILP { h.options.starts = min(h.options.starts, 16) }
    var first = GradientBackend(.ppga_lr).solve(h, heuristicContext)
    guard useMILP, !Interrupt.requested else {
      first.statistics.insert(("auto", .string("ppga_lr (\(unstable) unstable ReLUs)")), at: 0)
      return first
    }
    var exact = MILPBackend(warmStart: first.point).solve(problem, context)
    exact.statistics.insert(
      ("auto", .string("ppga_lr warm start, then milp (\(unstable) unstable ReLUs)")), at: 0)
    if let f = first.claimedObjective {
      exact.statistics.append(("warm_start_objective", .number(f)))
    }
    if exact.point == nil, first.point != nil, exact.status != .infeasible {
      first.statistics = exact.statistics
      first.status = exact.status == .optimal ? .feasible : exact.status
      return first
    }
    return exact
  }
}
