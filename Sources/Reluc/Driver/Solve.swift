import Dispatch
import RelucBase
import RelucIR

/// Runs the back end a problem's options name and checks the result.
public enum Solver {
  /// Solves and returns the checked report. The interval bounds are computed here, once, and
  /// handed to the back ends in the context (`SolveContext.bounds`). `auto`: when the network has
  /// at most `auto_milp_neurons` unstable ReLUs (interval bounds), the exact MILP warm-started by
  /// PPGA; otherwise PPGA (batched) and LP Walk in parallel on two threads, keeping the better
  /// point. Whatever the method of `auto`, the point reported is the best of its members' points
  /// and of a few trivial points (`keepingBest`).
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

  /// An `infeasible` result when the polytope of inputs is empty (one LP; a box never is, since
  /// lowering checked its bounds); nil otherwise.
  static func emptyPolytope(_ problem: Problem) -> SolveResult? {
    guard !problem.polytope.isBox, (try? problem.polytope.isEmpty()) == true else { return nil }
    return SolveResult(
      status: .infeasible, method: problem.options.method,
      message: "the constraints on the inputs have no common point")
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
    let va = checkedValue(problem, a.point)
    let vb = checkedValue(problem, b.point)
    var r = vb > va ? b : a
    let loser = vb > va ? a : b
    r.statistics.insert(
      ("auto", .string("ppga and lp_walk in parallel (\(unstable) unstable ReLUs); winner \(r.method.rawValue)")),
      at: 0)
    r.statistics.append(("other_method", .string(loser.method.rawValue)))
    r.statistics.append(("other_objective", loser.claimedObjective.map { .number($0) } ?? .null))
    return keepingBest(problem, r, candidates: [])
  }

  /// `sign * objective` at `x` by a forward pass, or -infinity when there is no point or it is
  /// not feasible (the check `SolutionReport` makes).
  static func checkedValue(_ problem: Problem, _ x: [Double]?) -> Double {
    guard let x, x.count == problem.network.inputSize else { return -.infinity }
    let check = PointCheck(problem: problem, point: x)
    guard check.feasible, check.objective.isFinite else { return -.infinity }
    return problem.objective.sign * check.objective
  }

  /// Points any method could have checked at no cost: the centre of the inputs' box, the origin
  /// clamped into the box, and the box's lower and upper corners; on a polytope that is not a box,
  /// each projected onto it (dropped when that fails).
  static func trivialPoints(_ problem: Problem) -> [[Double]] {
    let p = problem.polytope
    let centre = zip(p.lower, p.upper).map { ($0 + $1) / 2 }
    let origin = zip(p.lower, p.upper).map { min(max(0, $0), $1) }
    let points = [centre, origin, p.lower, p.upper]
    guard !p.isBox else { return points }
    guard let domain = try? Domain(p) else { return [] }
    return points.compactMap { v in
      var x = v
      let ok = x.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) }
      return ok ? x : nil
    }
  }

  /// `r` with its point replaced by the best (checked by a forward pass) of its own, the
  /// `candidates`' points and the trivial points, so that `auto` never reports a point worse than
  /// one a member found or one it could have checked for nothing. The status, bound and
  /// statistics stay `r`'s (an `optimal` result keeps its point unless another is better, which
  /// the gap allows); `best_point_from` names where the point came from when it is not `r`'s.
  static func keepingBest(_ problem: Problem, _ r: SolveResult, candidates: [SolveResult]) -> SolveResult {
    guard r.status != .infeasible, r.status != .unbounded else { return r }
    var best = checkedValue(problem, r.point)
    var point: [Double]? = nil
    var from = ""
    for c in candidates {
      let v = checkedValue(problem, c.point)
      if v > best { (best, point, from) = (v, c.point, c.method.rawValue) }
    }
    for x in trivialPoints(problem) {
      let v = checkedValue(problem, x)
      if v > best { (best, point, from) = (v, x, "trivial point (box centre, origin or corner)") }
    }
    guard let point else { return r }
    var out = r
    out.point = point
    out.claimedObjective = problem.objective.sign * best
    if out.status == .optimal, let b = r.bound, problem.objective.sign * b < best - 1e-9 * (1 + abs(best)) {
      out.status = .feasible
    }
    out.statistics.append(("best_point_from", .string(from)))
    return out
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
    let first = heuristic.solve(problem, heuristicContext)
    guard !Interrupt.requested else { return keepingBest(problem, first, candidates: []) }
    var exact = MILPBackend(warmStart: first.point).solve(problem, context)
    if let note { exact.statistics.insert(("auto", .string(note)), at: 0) }
    if let f = first.claimedObjective {
      exact.statistics.append(("warm_start_objective", .number(f)))
      // How far the warm start was from the MILP's final point (0: it was already optimal).
      if let g = exact.claimedObjective {
        exact.statistics.append(("warm_start_relative_gap", .number(abs(g - f) / max(1e-12, abs(g)))))
      }
    }
    if exact.point == nil, first.point != nil, exact.status == .optimal { exact.status = .feasible }
    // The best of the MILP's point, PPGA's point and the trivial points (the MILP may stop
    // before it finds a point as good as its warm start).
    return keepingBest(problem, exact, candidates: [first])
  }
}
