import Dispatch
import RelucBase
import RelucIR

/// Runs the back end a problem's options name and checks the result.
public enum Solver {
  /// Solves and returns the checked report. The interval bounds are computed here, once, and
  /// handed to the back ends in the context (`SolveContext.bounds`). `auto`: when the network has
  /// at most `auto_milp_neurons` unstable ReLUs (interval bounds), the exact MILP warm-started by
  /// PPGA; otherwise PPGA (batched) and LP Walk in parallel on two threads, keeping the better
  /// point.
  public static func solve(_ problem: Problem, _ context: SolveContext) -> SolutionReport {
    if let empty = emptyPolytope(problem) {
      return SolutionReport(
        problem: problem, result: empty, seconds: monotonicSeconds() - context.start)
    }
    var context = context
    context.bounds = intervalBounds(of: problem)
    let result: SolveResult
    switch problem.options.method {
    case .milp:
      result = problem.options.warmStart
        ? warmStartedMILP(problem, context, note: nil)
        : MILPBackend().solve(problem, context)
    case .ppga, .ppga_lr, .gradient_walk:
      result = GradientBackend(problem.options.method).solve(problem, context)
    case .lp_walk:
      result = LPWalkBackend().solve(problem, context)
    case .milp_walk:
      result = MILPWalkBackend().solve(problem, context)
    case .auto:
      result = auto(problem, context)
    }
    return SolutionReport(
      problem: problem, result: result, seconds: monotonicSeconds() - context.start)
  }

  /// An `infeasible` result when the polytope of inputs is empty (`Polytope.emptiness`: HiGHS's
  /// LP at a tolerance tighter than the final check's; a box never is, since lowering checked its
  /// bounds), an `error` when that LP could not decide; nil otherwise.
  static func emptyPolytope(_ problem: Problem) -> SolveResult? {
    guard !problem.polytope.isBox else { return nil }
    return problem.polytope.emptiness(feasibilityTolerance: problem.options.feasibilityTolerance)
      .result(problem.options.method)
  }

  static func auto(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    let unstable = context.intervalBounds(problem).stableCounts(problem.network).unstable
    guard unstable <= problem.options.autoMilpNeurons else {
      return race(problem, context, unstable: unstable)
    }
    return warmStartedMILP(
      problem, context, note: "ppga warm start, then milp (\(unstable) unstable ReLUs)")
  }

  /// PPGA and LP Walk on the two cores (one thread each) under the same deadline; the better
  /// point wins. PPGA (batched) rather than PPGA_LR: the batched starts make it the stronger
  /// heuristic of the two on wide networks.
  static func race(_ problem: Problem, _ context: SolveContext, unstable: Int) -> SolveResult {
    let results = ResultBox()
    DispatchQueue.concurrentPerform(iterations: 2) { k in
      let r =
        k == 0
        ? GradientBackend(.ppga, workers: 1).solve(problem, context)
        : LPWalkBackend().solve(problem, context)
      results.set(k, r)
    }
    let a = results.get(0)
    let b = results.get(1)
    let sign = problem.objective.sign
    let va = a.claimedObjective.map { sign * $0 } ?? -.infinity
    let vb = b.claimedObjective.map { sign * $0 } ?? -.infinity
    var r = vb > va ? b : a
    let loser = vb > va ? a : b
    r.statistics.insert(
      ("auto", .string("ppga and lp_walk in parallel (\(unstable) unstable ReLUs); winner \(r.method.rawValue)")),
      at: 0)
    r.statistics.append(("other_method", .string(loser.method.rawValue)))
    r.statistics.append(("other_objective", loser.claimedObjective.map { .number($0) } ?? .null))
    return r
  }

  /// Batched PPGA for `Budget.warmStart` of the time limit (at least `Budget.warmStartStarts`
  /// starts), then the MILP started from its best point. When HiGHS ends without a point of its
  /// own, PPGA's point is reported (never as optimal).
  static func warmStartedMILP(_ problem: Problem, _ context: SolveContext, note: String?)
    -> SolveResult
  {
    var heuristicContext = context
    heuristicContext.deadline = context.start + Budget.warmStart * (context.deadline - context.start)
    let heuristic = GradientBackend(.ppga, minimumStarts: Budget.warmStartStarts)
    var first = heuristic.solve(problem, heuristicContext)
    guard !Interrupt.requested else { return first }
    var exact = MILPBackend(warmStart: first.point).solve(problem, context)
    if let note { exact.statistics.insert(("auto", .string(note)), at: 0) }
    if let f = first.claimedObjective {
      exact.statistics.append(("warm_start_objective", .number(f)))
      // How far the warm start was from the MILP's final point (0: it was already optimal).
      if let g = exact.claimedObjective {
        exact.statistics.append(("warm_start_relative_gap", .number(abs(g - f) / max(1e-12, abs(g)))))
      }
    }
    if exact.point == nil, first.point != nil, exact.status != .infeasible {
      first.statistics = exact.statistics
      first.bound = exact.bound
      first.message = exact.message
      first.method = .milp
      first.status = exact.status == .optimal ? .feasible : exact.status
      return first
    }
    return exact
  }
}
