import Dispatch
import RelucBase
import RelucIR

/// Runs the back end a problem's options name and checks the result.
public enum Solver {
  /// Solves and returns the checked report. `auto`: when the network has at most
  /// `auto_milp_neurons` unstable ReLUs (interval bounds), the exact MILP warm-started by PPGA;
  /// otherwise PPGA (batched) and LP Walk in parallel on two threads, keeping the better point.
  public static func solve(_ problem: Problem, _ context: SolveContext) -> SolutionReport {
    let result: SolveResult
    if let empty = emptyPolytope(problem) {
      return SolutionReport(
        problem: problem, result: empty, seconds: monotonicSeconds() - context.start)
    }
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

  /// An `infeasible` result when the polytope of inputs is empty (one LP; a box never is, since
  /// lowering checked its bounds); nil otherwise.
  static func emptyPolytope(_ problem: Problem) -> SolveResult? {
    guard !problem.polytope.isBox else { return nil }
    do {
      let lp = try RegionLPSolver(problem: problem)
      try lp.solver.setCosts([Double](repeating: 0, count: problem.network.inputSize))
      if try lp.solver.run() == .infeasible {
        return SolveResult(
          status: .infeasible, method: problem.options.method,
          message: "the constraints on the inputs have no common point")
      }
    } catch {}
    return nil
  }

  static func auto(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    let bounds = intervalBounds(
      problem.network, lower: problem.polytope.lower, upper: problem.polytope.upper)
    let unstable = bounds.stableCounts(problem.network).unstable
    guard unstable <= problem.options.autoMilpNeurons else {
      // PPGA and LP Walk on the two cores under the same deadline; keep the better point. PPGA
      // rather than PPGA_LR: with its starts batched it had the smallest mean gap on the papers'
      // grid (bench/methods.py --quick: 9.0e-5 against 1.2e-2).
      let results = ResultBox()
      var single = problem
      single.options.workers = 1  // one thread each for PPGA and LP Walk
      DispatchQueue.concurrentPerform(iterations: 2) { [single] k in
        let r =
          k == 0
          ? GradientBackend(.ppga).solve(single, context)
          : LPWalkBackend().solve(problem, context)
        results.set(k, r)
      }
      let a = results.get(0)
      let b = results.get(1)
      let sign: Double = problem.objective.sense == .maximize ? 1 : -1
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
    return warmStartedMILP(
      problem, context, note: "ppga warm start, then milp (\(unstable) unstable ReLUs)")
  }

  /// PPGA for 5% of the time (at least 64 starts), then the MILP started from its best point.
  /// When HiGHS ends without a point of its own, PPGA's point is reported (never as optimal).
  static func warmStartedMILP(_ problem: Problem, _ context: SolveContext, note: String?)
    -> SolveResult
  {
    var heuristicContext = context
    heuristicContext.deadline = context.start + 0.05 * (context.deadline - context.start)
    // Batched PPGA with 64 starts: measured on the issue-8 networks it finds the optimum or close
    // to it in well under a second (PPGA_LR with 8 starts stopped 3% short on 10-50-50-1).
    var h = problem
    h.options.starts = max(h.options.starts, 64)
    var first = GradientBackend(.ppga).solve(h, heuristicContext)
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

