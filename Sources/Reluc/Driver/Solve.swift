import Dispatch
import RelucBase
import RelucIR

/// Runs the back end a problem's options name and checks the result.
public enum Solver {
  /// Solves and returns the checked report. The interval bounds are computed here, once, and
  /// handed to the back ends in the context (`SolveContext.bounds`). `auto`: `bab` when the
  /// network has at most `BaBBackend.autoInputs` inputs; otherwise, when the network has
  /// at most `auto_milp_neurons` unstable ReLUs (interval bounds) and at most `auto_milp_inputs`
  /// inputs, the exact MILP warm-started by
  /// PPGA with anytime LP Walk beside it; otherwise PPGA (batched) and LP Walk in parallel on two
  /// threads, keeping the better point. Whatever the method of `auto`, the point reported is the
  /// best of its members' points and of a few trivial points (`keepingBest`). The heuristics run
  /// as the method (gradient methods, LP Walk, `auto`'s race) end with the LP of their best
  /// point's linear region (`RegionPolish`).
  public static func solve(_ problem: Problem, _ context: SolveContext) -> SolutionReport {
    if let empty = emptyPolytope(problem) {
      return SolutionReport(
        problem: problem, result: empty, seconds: monotonicSeconds() - context.start)
    }
    var context = context
    context.bounds = intervalBounds(of: problem)
    let incumbents = Incumbents(start: context.start, sign: problem.objective.sign)
    context.incumbents = incumbents
    let raw: SolveResult
    switch problem.options.method {
    case .milp:
      raw =
        problem.options.warmStart
        ? warmStartedMILP(problem, context, note: nil)
        : MILPBackend().solve(problem, context)
    case .ppga, .ppga_lr, .gradient_walk:
      let method = problem.options.method
      raw = RegionPolish.solve(problem, context) { GradientBackend(method).solve(problem, $0) }
    case .lp_walk:
      raw = RegionPolish.solve(problem, context) { seededLPWalk(problem, $0) }
    case .milp_walk:
      raw = MILPWalkBackend().solve(problem, context)
    case .bab:
      raw = bab(problem, context)
    case .auto:
      raw = auto(problem, context)
    }
    let result = keepingSharedIncumbent(problem, context, raw)
    var report = SolutionReport(
      problem: problem, result: result, seconds: monotonicSeconds() - context.start)
    if let f = report.objective, report.status != .checkFailed {
      report.trace = incumbents.close(
        objective: f, seconds: report.seconds,
        method: result.statistics.first { $0.0 == "found_by" }.flatMap {
          if case .string(let s) = $0.1 { return s } else { return nil }
        } ?? report.method.rawValue)
    }
    return report
  }

  /// An `infeasible` result when the polytope of inputs is empty (`Polytope.emptiness`: HiGHS's
  /// LP at a tolerance tighter than the final check's; a box never is, since lowering checked its
  /// bounds), an `error` when that LP could not decide; nil otherwise.
  static func emptyPolytope(_ problem: Problem) -> SolveResult? {
    guard !problem.polytope.isBox else { return nil }
    return problem.polytope.emptiness(feasibilityTolerance: problem.options.feasibilityTolerance)
      .result(problem.options.method)
  }

  /// `bab` on at most `BaBBackend.maxInputs` inputs, warm-started by PPGA as the MILP is; on
  /// more, splitting the inputs does not pay and the problem goes to the warm-started MILP with
  /// symbolic bounds (`symbolic_lp` in place of `lp`, `symbolic` in place of `interval`), said in
  /// the statistics.
  static func bab(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    let n = problem.network.inputSize
    guard n > BaBBackend.maxInputs else {
      // The same warm start as the MILP's: `Budget.warmStartStarts` starts of PPGA, within
      // `Budget.warmStart` of the limit. Not anytime: an anytime warm start spent its whole
      // share (3 s of the default 60 s limit) on problems bab then proves in milliseconds.
      var heuristic = context
      heuristic.deadline = context.after(share: Budget.warmStart)
      let first = GradientBackend(
        .ppga, minimumStarts: Budget.warmStartStarts, anytime: false
      ).solve(problem, heuristic)
      var r = BaBBackend(warmStart: first.point).solve(problem, context)
      if let f = first.claimedObjective {
        r.statistics.append(("warm_start_objective", .number(f)))
      }
      return r
    }
    var handed = problem
    switch problem.options.bounds {
    case .interval: handed.options.bounds = .symbolic
    case .lp: handed.options.bounds = .symbolic_lp
    case .symbolic, .symbolic_lp: break
    }
    return warmStartedMILP(
      handed, context,
      note:
        "bab: \(n) inputs > \(BaBBackend.maxInputs), handed to the milp (bounds = \(handed.options.bounds.rawValue))"
    )
  }

  static func auto(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    let n = problem.network.inputSize
    if n <= BaBBackend.autoInputs {
      var r = bab(problem, context)
      r.statistics.insert(("auto", .string("bab (\(n) inputs <= \(BaBBackend.autoInputs))")), at: 0)
      return r
    }
    let unstable = context.intervalBounds(problem).stableCounts(problem.network).unstable
    // The MILP path for few inputs only: on the grid's networks with 100 and 1000 inputs and at
    // most 200 unstable ReLUs it never proved within 20 s (on 1000-100-1 no node in 14 s, root
    // bound 10.1 against 2.93). On those 12 instances the race reached at least the best method
    // alone on all 12, the MILP path (its LP Walk beside) was below it on 7, by up to 1.5%
    // (1000-100-1, seeds 1-3: 2.9153, 2.8685, 2.4889 on the MILP path; 2.9330, 2.8793, 2.4948).
    guard unstable <= problem.options.autoMilpNeurons, n <= problem.options.autoMilpInputs else {
      return RegionPolish.solve(problem, context) { race(problem, $0, unstable: unstable) }
    }
    let note = "ppga warm start, then milp (\(unstable) unstable ReLUs)"
    guard context.anytime(problem), problem.options.workers >= 2, !tooDeep(problem, seconds: 1)
    else { return warmStartedMILP(problem, context, note: note) }
    // The cores shared: the MILP on all workers but one, anytime LP Walk on the last one until
    // the MILP ends (a proof cancels it); the better point is reported. LP Walk rather than
    // PPGA: on the networks small enough for this path the region LPs are cheap and the walk
    // was the better heuristic. Its first walk starts from the best point of the warm start
    // (PPGA on both cores meanwhile, through the shared incumbent), as `lp_walk` alone does: on
    // 10000-50-50-1 at 5 s, a walk started from samples reached 3.24 where LP Walk alone
    // reached 3.99.
    var shared = problem
    shared.options.workers -= 1
    let exact = shared
    let done = Cancellation()
    var cancellable = context
    cancellable.cancellation = done
    let beside = cancellable
    let results = ResultBox()
    DispatchQueue.concurrentPerform(iterations: 2) { k in
      if k == 0 {
        results.set(0, warmStartedMILP(exact, context, note: note + ", anytime lp_walk beside"))
        done.cancel()
      } else {
        // Until the MILP's warm start ends, PPGA (other starts than the warm start's) on this
        // core too; then LP Walk, whose first walk starts from the best point so far.
        var seed = beside
        seed.deadline = min(
          beside.deadline, context.after(share: Budget.warmStart))
        if !tooDeep(problem, seconds: seed.deadline - monotonicSeconds()) {
          _ = GradientBackend(.ppga, workers: 1).solve(reseeded(problem, run: 1), seed)
        }
        results.set(1, LPWalkBackend().solve(problem, beside))
      }
    }
    let milp = results.get(0)
    let walk = results.get(1)
    var r = milp
    if let best = context.incumbents?.best, best.value >= claimedValue(problem, milp) {
      r.statistics.append(("found_by", .string(best.method)))
    }
    r.statistics.append(
      ("lp_walk_beside_objective", walk.claimedObjective.map { .number($0) } ?? .null))
    // The walk's point, and the shared incumbent: PPGA on the walk's core before the walk keeps
    // no result of its own, and its best point can be above the MILP's by the MILP's tolerances
    // (measured: 5e-8 relative on campaign problem 1532, where the trace then ended above the
    // value reported).
    var candidates: [Candidate] = []
    if let x = walk.point {
      candidates.append(
        Candidate(point: x, value: checkedValue(problem, x), from: "lp_walk (beside the milp)"))
    }
    if let c = incumbentCandidate(problem, context) { candidates.append(c) }
    return keepingBest(problem, r, value: claimedValue(problem, r), candidates: candidates)
  }

  /// PPGA and LP Walk on the two cores under the same deadline, exchanging incumbents through
  /// the solve's `Incumbents`. The first core runs the first worker of `ppga` alone (the same
  /// random stream, `secondWorker` names the other), from the start to the end: the race finds
  /// what that worker would find alone, but for the starts that perturb the shared incumbent
  /// (a point of another worker or method). The second core runs that run's second worker,
  /// which after `Budget.walkSeed` of the limit (at most `walkSeedSeconds`) gives the core to
  /// LP Walk's trial (`walkTrial`, an `Interlude` of the worker) and waits, its lanes and its
  /// random stream kept: the walk starts from the best point of both, as `lp_walk` alone does,
  /// and starts walks from PPGA's points (when PPGA improved the incumbent since its last look),
  /// while PPGA's anytime starts perturb the incumbent whoever found it; when the walk falls
  /// behind, the second worker goes on where it stopped. (It used to start again on a fresh
  /// stream: on 100-500-500-500-1 seed 3 PPGA alone found its value, 0.12145, with the second
  /// worker's starts, which the race then never ran; the race ended at 0.12035.) The best point
  /// wins (or a trivial point, when it is better still); `found_by` names the method that found
  /// it. PPGA (batched) rather than PPGA_LR: the batched starts make it the stronger heuristic
  /// of the two on wide networks.
  static func race(_ problem: Problem, _ context: SolveContext, unstable: Int) -> SolveResult {
    var trivial = trivialCandidates(problem)
    // PPGA checks its deadline between passes: on a network too deep for one pass of the
    // batched kernel in the time left it would outlast the limit, so LP Walk runs alone.
    let ppgaTooDeep = tooDeep(problem, seconds: context.remaining)
    let results = ResultBox()
    DispatchQueue.concurrentPerform(iterations: 2) { k in
      guard k == 1 else {
        results.set(
          0,
          ppgaTooDeep
            ? SolveResult(
              status: context.stopStatus, method: .ppga,
              message: "not run: the network is too deep")
            : GradientBackend(.ppga, workers: 1).solve(problem, context))
        return
      }
      guard !ppgaTooDeep, context.anytime(problem), context.incumbents != nil,
        context.cancellation == nil
      else {
        results.set(1, LPWalkBackend().solve(problem, context))
        return
      }
      // (The second worker's points are in the shared incumbent, the walk's first start and a
      // candidate; on a network too deep for a pass in the seed's time the walk comes first.)
      let (p, c) = secondWorker(problem, context)
      let walk = Interlude(at: monotonicSeconds() + (walkSeedSeconds(problem, context) ?? 0)) {
        results.set(1, walkTrial(problem, context))
      }
      var second = c
      second.interlude = walk
      // (Its result is not kept: its points are in the shared incumbent.)
      _ = GradientBackend(.ppga, workers: 1).solve(p, second)
      walk.run()  // (if the worker ended before its moment)
    }
    let a = results.get(0)
    let b = results.get(1)
    // The second core's PPGA offered its points to the shared incumbent, which is a candidate
    // below.
    let va = claimedValue(problem, a)
    let vb = claimedValue(problem, b)
    var r = vb > va ? b : a
    let loser = vb > va ? a : b
    r.statistics.insert(
      (
        "auto",
        .string(
          "ppga and lp_walk in parallel, exchanging points (\(unstable) unstable ReLUs); winner \(r.method.rawValue)"
        )
      ),
      at: 0)
    if let core = b.statistics.first(where: { $0.0 == "walk_core" }), r.method != b.method {
      r.statistics.append(core)
    }
    r.statistics.append(("other_method", .string(loser.method.rawValue)))
    r.statistics.append(("other_objective", loser.claimedObjective.map { .number($0) } ?? .null))
    if let c = incumbentCandidate(problem, context) { trivial.append(c) }
    // Who found the point reported (the members' results are the incumbent's points).
    if let best = context.incumbents?.best,
      best.value >= max(va, vb) - 1e-9 * (1 + abs(best.value))
    {
      r.statistics.append(("found_by", .string(best.method)))
    }
    return keepingBest(problem, r, value: max(va, vb), candidates: trivial)
  }

  /// LP Walk's trial on the race's second core (anytime, with a shared incumbent), judged at
  /// `Budget.walkChecks` of the time limit: it keeps the core while it is ahead (`walkAhead`:
  /// it made a gain of the incumbent that counts in the second half of its time so far; the
  /// same walk goes on: on a wide network building its LP takes seconds, and a walk climbs for
  /// a while through regions whose LPs are warm-started); at the first check it is
  /// behind, it is cancelled and returns, and PPGA's second worker, which waits for it, takes
  /// the core back for the rest (statistic `walk_core`): the core then serves the method that
  /// is ahead.
  static func walkTrial(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    guard let incumbents = context.incumbents else {
      return LPWalkBackend().solve(problem, context)
    }
    let yield = Cancellation()
    var walkContext = context
    walkContext.cancellation = yield
    let begun = monotonicSeconds() - context.start
    let ahead: @Sendable (Double) -> Bool = { checkpoint in
      walkAhead(
        incumbents.trace, sign: incumbents.sign, begun: begun, checkpoint: checkpoint)
    }
    let checks = Budget.walkChecks.map { context.after(share: $0) }
    @Sendable func judge(_ k: Int) {
      guard k < checks.count, checks[k] < context.deadline else { return }
      DispatchQueue.global().asyncAfter(
        deadline: .now() + max(0, checks[k] - monotonicSeconds())
      ) {
        if yield.cancelled || context.shouldStop { return }
        if ahead(checks[k] - context.start) { judge(k + 1) } else { yield.cancel() }
      }
    }
    judge(0)
    var walk = LPWalkBackend().solve(problem, walkContext)
    guard yield.cancelled, !context.shouldStop else {
      walk.statistics.append(("walk_core", .string("lp_walk to the end")))
      return walk
    }
    let handover = monotonicSeconds() - context.start
    walk.status = context.stopStatus
    walk.statistics.append(
      ("walk_core", .string("ppga from \(formatNumber((handover * 100).rounded() / 100)) s")))
    return walk
  }

  /// Whether the race's walk is ahead at `checkpoint` (seconds since the start; it began at
  /// `begun`), from the incumbent's trace: the walk made a gain that counts (above
  /// `Budget.walkGain`) in the second half of its time so far. Gains of a rounding error do not
  /// count: measured on the grid's 100-100-100-100-100-1 seed 3, the walk kept its core to the
  /// end on "improvements" of PPGA's points by 2e-14 and 1e-17 (it walks again from every new
  /// incumbent) while PPGA alone ended 3.7% higher than `auto`. An old gain does not count
  /// either, even when the incumbent is still the walk's point: the search has stalled there,
  /// and PPGA's second worker, waiting, goes on with its own starts (the walk kept its core once
  /// it made the last gain: on 100-500-500-1 seed 1, 1000-100-100-1 seed 2 and
  /// 1000-100-100-100-1 seed 3 it did so from 3.4 s, 3.6 s and 9.5 s to the end without a gain,
  /// and `auto` ended 0.74%, 1.5% and 1.8% below the best method alone).
  static func walkAhead(_ trace: [TracePoint], sign: Double, begun: Double, checkpoint: Double)
    -> Bool
  {
    let recent = begun + (checkpoint - begun) / 2
    var best = -Double.infinity
    for e in trace where e.seconds <= checkpoint {
      let v = sign * e.objective
      if v - best > Budget.walkGain * (1 + abs(v)), e.method == Method.lp_walk.rawValue,
        e.seconds >= recent
      {
        return true
      }
      best = max(best, v)
    }
    return false
  }

  /// Whether PPGA (which checks its deadline between passes of the batched kernel) could
  /// outlast `seconds` on this network's depth.
  static func tooDeep(_ problem: Problem, seconds: Double) -> Bool {
    Double(problem.network.layers.count) * Budget.warmStartSecondsPerLayer > seconds
  }

  /// The second worker of `ppga` alone (`GradientBackend` with two workers), to run on a thread
  /// of its own: its random stream (`seed + streamStride`), no user starts (the first worker
  /// runs them) and no progress line (not thread-safe).
  static func secondWorker(_ problem: Problem, _ context: SolveContext) -> (
    Problem, SolveContext
  ) {
    var p = problem
    p.options.seed &+= GradientBackend.streamStride
    var c = context
    c.userStarts = []
    c.progress = nil
    return (p, c)
  }

  /// The problem with the random streams of another gradient run: `GradientBackend` gives
  /// its worker k the stream `seed + k * streamStride` (at most 64 workers), so run `r` (1, 2,
  /// ...) starts its streams `64 r` strides further and never repeats the first run's starts
  /// (one stride, as before, repeated the starts of the first run's second worker).
  static func reseeded(_ problem: Problem, run: Int) -> Problem {
    var p = problem
    p.options.seed &+= 64 * run * GradientBackend.streamStride
    return p
  }

  /// The time PPGA runs before the first walk: `Budget.walkSeed` of the limit, at most
  /// `Budget.walkSeedSeconds`; nil (no seed) when the solve is not anytime or the network is too
  /// deep for a pass of the batched kernel in that time.
  static func walkSeedSeconds(_ problem: Problem, _ context: SolveContext) -> Double? {
    let seconds = min(
      Budget.walkSeedSeconds, Budget.walkSeed * (context.deadline - context.start))
    guard context.anytime(problem), !tooDeep(problem, seconds: seconds) else { return nil }
    return seconds
  }

  /// Batched PPGA on every core for `walkSeedSeconds`, its points offered to the shared
  /// incumbent: the seed `lp_walk` starts its walks from (`auto`'s race runs the same two
  /// workers, one on each core). Nil when there is no seed (`walkSeedSeconds`).
  static func ppgaSeed(_ problem: Problem, _ context: SolveContext) -> SolveResult? {
    guard let seconds = walkSeedSeconds(problem, context) else { return nil }
    var seed = context
    seed.deadline = min(context.deadline, monotonicSeconds() + seconds)
    return GradientBackend(.ppga).solve(problem, seed)
  }

  /// LP Walk; anytime (`starts = 0`), seeded by batched PPGA for `Budget.walkSeed` of the time
  /// limit (its point is the shared incumbent, LP Walk's first start): a region LP on a wide
  /// network can take seconds, and a walk from a gradient ascent's point starts high.
  static func seededLPWalk(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    guard context.incumbents != nil, let first = ppgaSeed(problem, context) else {
      return LPWalkBackend().solve(problem, context)
    }
    var r = LPWalkBackend().solve(problem, context)
    r.statistics.append(
      ("seed_ppga_objective", first.claimedObjective.map { .number($0) } ?? .null))
    guard let x = first.point else { return r }
    return keepingBest(
      problem, r, value: claimedValue(problem, r),
      candidates: [Candidate(point: x, value: checkedValue(problem, x), from: "ppga (the seed)")])
  }

  /// A point some phase found or could have checked, its value (`sign * objective` by a forward
  /// pass) and where it came from.
  struct Candidate {
    var point: [Double]
    var value: Double
    var from: String
  }

  /// `r` with the shared incumbent's point when that is better (by more than a rounding,
  /// `keepingBest`): every member offers its points there, and the trace is made of its
  /// improvements, so the trace then ends at the value reported whichever back end ran. A back
  /// end's own result can miss a point of the incumbent (PPGA run in the time of LP Walk's seed or
  /// of the MILP's warm start keeps no result of its own: campaign problem 1532, fixed in `auto`'s
  /// MILP path first). Only for results that may carry a point: not for `error` (the message
  /// stays the answer), `infeasible` and `unbounded` (proven, no point), `check_failed`.
  static func keepingSharedIncumbent(
    _ problem: Problem, _ context: SolveContext, _ r: SolveResult
  ) -> SolveResult {
    let mayCarryPoint: Set<SolveStatus> = [
      .optimal, .feasible, .timeLimit, .interrupted, .noFeasiblePoint,
    ]
    let value = claimedValue(problem, r)
    guard mayCarryPoint.contains(r.status), let best = context.incumbents?.best,
      !value.isFinite || best.value > value + 1e-9 * (1 + abs(value)),
      let c = incumbentCandidate(problem, context)
    else { return r }
    var out = keepingBest(problem, r, value: value, candidates: [c])
    if out.point != r.point {
      out.statistics.removeAll { $0.0 == "found_by" }
      out.statistics.append(("found_by", .string(best.method)))
    }
    return out
  }

  /// The solve's shared incumbent (any member's best point) as a candidate; nil without one.
  static func incumbentCandidate(_ problem: Problem, _ context: SolveContext) -> Candidate? {
    guard let best = context.incumbents?.best else { return nil }
    return Candidate(
      point: best.point, value: checkedValue(problem, best.point),
      from: "the shared incumbent (\(best.method))")
  }

  /// `sign * objective` as a result claims it (-infinity without a point): no forward pass after
  /// the deadline (on a deep network one takes a while); `SolutionReport` checks the claim of the
  /// result reported.
  static func claimedValue(_ problem: Problem, _ r: SolveResult) -> Double {
    guard r.point != nil, let v = r.claimedObjective, v.isFinite else { return -.infinity }
    return problem.objective.sign * v
  }

  /// `sign * objective` at `x` by a forward pass, or -infinity when there is no point or it is
  /// not feasible (the check `SolutionReport` makes).
  static func checkedValue(_ problem: Problem, _ x: [Double]?) -> Double {
    guard let x, x.count == problem.network.inputSize else { return -.infinity }
    let check = PointCheck(problem: problem, point: x)
    guard check.feasible, check.objective.isFinite else { return -.infinity }
    return problem.objective.sign * check.objective
  }

  /// Points any method could have checked at the cost of a forward pass: the centre of the
  /// inputs' box and the origin clamped into the box; on a polytope that is not a box, each
  /// projected onto it (dropped when that fails).
  static func trivialPoints(_ problem: Problem) -> [[Double]] {
    let p = problem.polytope
    let centre = zip(p.lower, p.upper).map { ($0 + $1) / 2 }
    let origin = p.clamped([Double](repeating: 0, count: p.dimension))
    let points = origin == centre ? [centre] : [centre, origin]
    guard !p.isBox else { return points }
    guard let domain = try? Domain(p) else { return [] }
    return points.compactMap { v in
      var x = v
      let ok = x.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) }
      return ok ? x : nil
    }
  }

  /// The trivial points with their values; computed before the methods run (inside the limit).
  static func trivialCandidates(_ problem: Problem) -> [Candidate] {
    trivialPoints(problem).map {
      Candidate(
        point: $0, value: checkedValue(problem, $0), from: "trivial point (box centre or origin)")
    }
  }

  /// `r` (whose point's value is `value`) with its point replaced by the best of the
  /// `candidates` when one is better (by more than 1e-9, relative: not for a rounding), so that
  /// `auto` never reports a point worse than one a member found or one it could have checked for
  /// nothing. The status, bound and statistics stay `r`'s (an `optimal` result whose bound the
  /// better point passes becomes `feasible`); `best_point_from` names where the point came from
  /// when it is not `r`'s.
  static func keepingBest(
    _ problem: Problem, _ r: SolveResult, value: Double, candidates: [Candidate]
  )
    -> SolveResult
  {
    guard r.status != .infeasible, r.status != .unbounded,
      let best = candidates.max(by: { $0.value < $1.value }),
      best.value > -.infinity,
      !value.isFinite || best.value > value + 1e-9 * (1 + abs(value))
    else { return r }
    var out = r
    out.point = best.point
    out.claimedObjective = problem.objective.sign * best.value
    if out.status == .optimal, let b = r.bound,
      problem.objective.sign * b < best.value - 1e-9 * (1 + abs(best.value))
    {
      out.status = .feasible
    }
    // A member that found no point meeting the output rows: the trivial point that does is a
    // feasible point.
    if out.status == .noFeasiblePoint { out.status = .feasible }
    out.statistics.append(("best_point_from", .string(best.from)))
    return out
  }

  /// Batched PPGA for `Budget.warmStart` of the time limit (at least `Budget.warmStartStarts`
  /// starts; none on a network too deep for one pass in that time), then the MILP started from
  /// its best point. The point reported is the best of the MILP's, PPGA's and the trivial points
  /// (HiGHS may stop without a point of its own, or with one worse than its warm start).
  static func warmStartedMILP(_ problem: Problem, _ context: SolveContext, note: String?)
    -> SolveResult
  {
    var candidates = trivialCandidates(problem)
    var heuristicContext = context
    heuristicContext.deadline =
      context.after(share: Budget.warmStart)
    // A network too deep for even one pass of the batched kernel in the warm start's share
    // (PPGA checks its deadline between passes) gets no warm start.
    let tooDeep =
      Double(problem.network.layers.count) * Budget.warmStartSecondsPerLayer
      > heuristicContext.deadline - monotonicSeconds()
    let first =
      tooDeep
      ? SolveResult(
        status: .timeLimit, method: .ppga,
        message: "no warm start: the network is too deep for its share")
      : GradientBackend(.ppga, minimumStarts: Budget.warmStartStarts, anytime: false).solve(
        problem, heuristicContext)
    if let x = first.point {
      candidates.append(
        Candidate(point: x, value: claimedValue(problem, first), from: "ppga (the warm start)"))
    }
    guard !Interrupt.requested else {
      var r = first
      r.status = .interrupted
      return keepingBest(problem, r, value: -.infinity, candidates: candidates)
    }
    var exact = MILPBackend(warmStart: first.point).solve(problem, context)
    if let note { exact.statistics.insert(("auto", .string(note)), at: 0) }
    if let f = first.claimedObjective {
      exact.statistics.append(("warm_start_objective", .number(f)))
      // How far the warm start was from the MILP's final point (0: it was already optimal).
      if let g = exact.claimedObjective {
        exact.statistics.append(
          ("warm_start_relative_gap", .number(relativeGap(f, g))))
      }
    }
    if exact.point == nil, first.point != nil, exact.status == .optimal { exact.status = .feasible }
    // The best of the MILP's point, PPGA's point and the trivial points (the MILP may stop
    // before it finds a point as good as its warm start).
    return keepingBest(problem, exact, value: claimedValue(problem, exact), candidates: candidates)
  }
}
