import Dispatch
import RelucBLAS
import RelucBase
import RelucHiGHS
import RelucIR

/// Gradient Walk, PPGA and PPGA_LR (Tong, Zhu, Serra, Burer 2025, "Going large with
/// gradient-based algorithms"), on the maximization of F = s (c.y + d.x) over the polytope X.
///
/// - Gradient Walk: projected gradient ascent with normalized steps `eta D g/|g|` (D the diameter
///   of the bounding box) and backtracking (eta halves when a step does not improve); stops when
///   eta or the projected step falls below `step_tolerance D`.
/// - PPGA: the same steps; at a stall (local optimum, a corner of X, or 20 steps that gain less
///   than `1e-9 (1 + |F|)`) the start's best point is
///   perturbed uniformly in a ball of radius `perturbation_radius D` and projected back; a start
///   ends after `stall_iterations` perturbations in a row that do not improve its best.
/// - PPGA_LR: PPGA's steps, run in lanes like batched PPGA, with the two mechanisms its authors
///   describe (`RegionSkip.swift`): a step that stays inside its linear region is extended to the
///   region's boundary (plus `overshoot D`) along the same direction, skipping the many small
///   steps a small step size would take there; a step that fails after crossing many first-layer
///   activation boundaries is trimmed to the `trimNeurons`-th of them (the first layer is affine
///   in x everywhere, so its crossings are known exactly) instead of being halved.
/// - Starts: a count (`starts`), or anytime (`starts = 0`): drawn until the deadline (`Starts`).
public struct GradientBackend: Backend, Sendable {
  /// The distance between the seeds of two workers' random streams.
  static let streamStride = 1_000_003
  /// Which of the three methods.
  public let variant: Method
  /// Threads the starts are split among; nil: the option `workers`.
  public var workers: Int?
  /// The fewest starts to run: the option `starts` when it is larger.
  public var minimumStarts: Int
  /// Whether starts are drawn until the deadline; nil: when the option `starts` is 0.
  public var anytime: Bool?

  /// Creates the back end for `.gradient_walk`, `.ppga` or `.ppga_lr`; `workers`,
  /// `minimumStarts` and `anytime` adjust the problem's options for this run (the options are
  /// not rewritten).
  public init(
    _ variant: Method, workers: Int? = nil, minimumStarts: Int = 0, anytime: Bool? = nil
  ) {
    self.variant = variant
    self.workers = workers
    self.minimumStarts = minimumStarts
    self.anytime = anytime
  }

  public func solve(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    let anytime = self.anytime ?? context.anytime(problem)
    let starts = anytime ? Int.max : max(1, problem.options.starts, minimumStarts)
    let workers = max(1, min(self.workers ?? problem.options.workers, starts))
    // Decided once for all workers (it reads every weight and the interval bounds), and only
    // for a run in lanes.
    let lanes = variant == .ppga_lr || (variant == .ppga && problem.options.batch > 1)
    let single =
      lanes && problem.options.lanePrecision == .single
      && Self.singlePrecisionFits(problem, context)
    guard workers > 1 else {
      return solveOne(
        problem, context,
        StartShare(
          starts: starts, seed: problem.options.seed, user: context.userStarts, anytime: anytime),
        single: single)
    }
    // The starts are split between `workers` threads, each with its own kernel, domain and
    // random stream (seed + k * `streamStride`), so the result is deterministic for a given seed
    // and worker count; the best point wins and the statistics add up.
    let results = ResultBox()
    DispatchQueue.concurrentPerform(iterations: workers) { k in
      let share = StartShare(
        starts: starts / workers + (k < starts % workers ? 1 : 0),
        seed: problem.options.seed + k * Self.streamStride, user: k == 0 ? context.userStarts : [],
        anytime: anytime)
      var c = context
      if k > 0 { c.progress = nil }  // the progress line is not thread-safe
      results.set(k, solveOne(problem, c, share, single: single))
    }
    let all = (0..<workers).map { results.get($0) }
    let sign = problem.objective.sign
    var best = all[0]
    for r in all.dropFirst() {
      let v = r.claimedObjective.map { sign * $0 } ?? -.infinity
      let b = best.claimedObjective.map { sign * $0 } ?? -.infinity
      if v > b { best = r }
    }
    // A worker's error (HiGHS failed, or its starts found no admissible point) decides only when
    // no worker has a point; otherwise the point stands and the error is mentioned.
    if let r = all.first(where: { $0.status == .error }) {
      guard best.point != nil else { return r }
      best.message =
        (best.message.map { $0 + "; " } ?? "") + "another worker: " + (r.message ?? "error")
    }
    best.status =
      all.contains { $0.status == .interrupted }
      ? .interrupted
      : all.contains { $0.status == .timeLimit } ? .timeLimit : best.status
    // Counts add up over the workers; other statistics (words) are the best worker's.
    best.statistics =
      best.statistics.map { key, value in
        switch value {
        case .int, .number: break
        default: return (key, value)
        }
        var total = 0.0
        var integer = true
        for r in all {
          switch r.statistics.first(where: { $0.0 == key })?.1 {
          case .int(let i): total += Double(i)
          case .number(let d):
            total += d
            integer = false
          default: break
          }
        }
        return (key, integer ? .int(Int(total)) : .number(total))
      } + [("workers", .int(workers))]
    return best
  }

  /// Whether the batched passes can run in single precision (`lane_precision = single`): no
  /// output rows (their penalty stays in double), every layer's largest weight within
  /// [1e-15, 1e15], and every pre-activation's interval bound and a bound on every gradient
  /// (|c|_1 times the product of the layers' largest column sums of |W|) below 1e30, so that no
  /// pass overflows or loses its weights to underflow. Otherwise the passes run in double.
  static func singlePrecisionFits(_ problem: Problem, _ context: SolveContext) -> Bool {
    guard !problem.hasOutputConstraints else { return false }
    var gradientBound = problem.objective.outputWeights.reduce(0) { $0 + abs($1) }
    for layer in problem.network.layers {
      guard layer.bias.allSatisfy({ abs($0) <= 1e15 }) else { return false }
      var largest = 0.0
      var columns = [Double](repeating: 0, count: layer.inputSize)
      for i in 0..<layer.outputSize {
        for j in 0..<layer.inputSize {
          let w = abs(layer.weights[i * layer.inputSize + j])
          largest = max(largest, w)
          columns[j] += w
        }
      }
      guard largest >= 1e-15, largest <= 1e15 else { return false }
      gradientBound *= columns.max() ?? 0
    }
    guard gradientBound <= 1e30 else { return false }
    let bounds = context.intervalBounds(problem)
    return (bounds.lower + bounds.upper).allSatisfy { $0.allSatisfy { abs($0) <= 1e30 } }
  }

  func solveOne(
    _ problem: Problem, _ context: SolveContext, _ share: StartShare, single: Bool
  ) -> SolveResult {
    let domain: Domain
    do {
      domain = try Domain(
        problem.polytope, feasibilityTolerance: problem.options.feasibilityTolerance)
    } catch {
      return SolveResult(
        status: .error, method: variant,
        message: "HiGHS could not set up the projection onto the inputs' polytope: \(error)")
    }
    var run = GradientRun(
      problem: problem, domain: domain, variant: variant, context: context, share: share,
      singleLanes: single)
    return run.solve()
  }
}

/// The state of one gradient solve (buffers allocated once).
struct GradientRun {
  let problem: Problem
  let domain: Domain
  let variant: Method
  let context: SolveContext
  let kernel: NetworkKernel
  let n: Int
  let options: SolveOptions
  let share: StartShare
  /// Whether lanes run in single precision (`GradientBackend.singlePrecisionFits`).
  let singleLanes: Bool
  var rng: Xoshiro256
  var x: [Double]
  var trial: [Double]
  var grad: [Double]
  var direction: [Double]
  var best: [Double]? = nil
  var bestValue = -Double.infinity
  var iterations = 0
  var perturbations = 0
  var crossovers = 0
  /// PPGA_LR: region skips taken and steps trimmed (`RegionSkip.swift`).
  var regionSkips = 0
  var stepTrims = 0
  var regions = Set<Int>()
  var startsDone = 0
  /// With output rows: the penalty, restorations and their counts (`OutputPenalty.swift`).
  var rows: GradientRows? = nil
  /// The point the anytime stream of starts perturbs: the solve's incumbent (any thread or
  /// method), else this run's best.
  var incumbent: [Double]? { context.incumbents?.best?.point ?? best }

  init(
    problem: Problem, domain: Domain, variant: Method, context: SolveContext, share: StartShare,
    singleLanes: Bool
  ) {
    self.singleLanes = singleLanes
    self.problem = problem
    self.domain = domain
    self.variant = variant
    self.context = context
    kernel = NetworkKernel(problem: problem)
    n = problem.network.inputSize
    options = problem.options
    self.share = share
    rng = Xoshiro256(seed: UInt64(share.seed))
    x = [Double](repeating: 0, count: n)
    trial = x
    grad = x
    direction = x
    if problem.hasOutputConstraints {
      let r = GradientRows(problem: problem)
      rows = r
      kernel.rows = PenaltyLanes(r.penalty, lanes: 1)
    }
  }

  /// The objective (or merit) at `v`; -infinity where the forward pass overflowed (an infinite
  /// or NaN value is no better than any point: it fails the final check).
  mutating func value(_ v: [Double]) -> Double {
    let f = v.withUnsafeBufferPointer { kernel.forward($0.baseAddress!) }
    if regions.count < 1_000_000 { regions.insert(kernel.patternHash()) }
    return f.isFinite ? f : -.infinity
  }

  /// Keeps `v` as the best point when it improves and passes the final check's feasibility rule
  /// (a projection that failed leaves an inadmissible point, which is never reported). `f` comes
  /// from `value` or a lane's value, -infinity where the pass overflowed, so such a point never
  /// improves.
  /// With output rows `f` is the merit and `violation` the kernel's at `v` (nil: the single
  /// kernel's last forward pass), see `recordWithRows`.
  mutating func record(_ v: [Double], _ f: Double, violation: Double? = nil) {
    if let rows {
      recordWithRows(rows, v, f, violation: violation ?? kernel.rows?.violations[0] ?? .infinity)
      return
    }
    if f > bestValue, domain.admits(v) {
      bestValue = f
      best = v
      context.improved(v, value: f, sign: problem.objective.sign, by: variant)
    }
  }

  mutating func solve() -> SolveResult {
    // Latin hypercube points are drawn together (at most 4096; uniform points after that);
    // uniform points one at a time, so a huge `starts` costs nothing up front.
    let lhs =
      options.sampling == .lhs && !share.anytime
      ? domain.latinHypercube(min(share.starts, 4096), &rng) : []
    let t0 = monotonicSeconds()
    var stopped = false
    let user = share.user.filter { $0.count == n }
    let total = share.anytime ? Int.max : share.starts + user.count
    let starts = Starts(
      user: user, lhs: lhs, domain: domain, anytime: share.anytime,
      radius: options.perturbationRadius)
    let lanes = min(options.batch, total)
    // PPGA_LR always runs in lanes (its region skip and step trimming live there), PPGA when
    // there are several.
    let batched = variant == .ppga_lr || (variant == .ppga && lanes > 1)
    let single = batched && singleLanes
    if single {
      runBatched(Float.self, lanes: lanes, total: total, starts: starts)
    } else if batched {
      runBatched(Double.self, lanes: lanes, total: total, starts: starts)
    } else {
      for k in 0..<total {
        if context.shouldStop {
          stopped = true
          break
        }
        let end = runStart(starts.start(k, &rng, incumbent: incumbent))
        starts.remember(end.point, value: end.value)
        if let rows { restoreStart(rows, from: nil) }
        startsDone += 1
      }
    }
    if context.shouldStop && startsDone < total { stopped = true }
    let seconds = max(1e-9, monotonicSeconds() - t0)
    let sign = problem.objective.sign
    var stats: [(String, JSON)] =
      [
        ("starts", .int(startsDone)),
        ("iterations", .int(iterations)),
        ("iterations_per_second", .number((Double(iterations) / seconds).rounded())),
        ("perturbations", .int(perturbations)),
        ("regions_visited", .int(regions.count)),
      ]
      + (share.anytime ? [("recombinations", JSON.int(starts.recombinations))] : [])
      + (batched ? [("crossovers", JSON.int(crossovers))] : [])
      + (variant == .ppga_lr
        ? [("region_skips", JSON.int(regionSkips)), ("step_trims", JSON.int(stepTrims))] : [])
      + (batched
        ? [
          ("lanes", JSON.int(lanes)), ("lane_precision", JSON.string(single ? "single" : "double")),
        ]
        : [])
      + (problem.polytope.isBox ? [] : [("qp_projections", JSON.int(domain.qpProjections))])
      + (domain.failedProjections > 0
        ? [("failed_projections", JSON.int(domain.failedProjections))] : [])
    if let rows { stats += rowStatistics(rows) }
    guard let best else {
      if problem.hasOutputConstraints, !Interrupt.requested {
        // A heuristic proves nothing: it found no point that meets the rows.
        return SolveResult(
          status: .noFeasiblePoint, method: variant, statistics: stats,
          message: "\(variant.rawValue) found no point that satisfies the constraints on the "
            + "outputs" + (stopped ? " before it stopped" : ""))
      }
      // No point passed the final check's rule: say so, and never claim a point.
      let failed =
        domain.failedProjections > 0
        ? " (\(domain.failedProjections) projections onto the inputs' polytope gave no admissible point)"
        : ""
      return SolveResult(
        status: stopped ? context.stopStatus : .error, method: variant, statistics: stats,
        message: "\(variant.rawValue) found no point that satisfies the constraints on the inputs"
          + (stopped ? " before it stopped" : "") + failed)
    }
    return SolveResult(
      status: stopped ? context.stopStatus : .feasible, method: variant, point: best,
      claimedObjective: sign * bestValue, statistics: stats)
  }

  /// One start: steps until a stall; PPGA variants perturb and go on. Returns the start's best
  /// point and value.
  mutating func runStart(_ start: [Double]) -> (point: [Double], value: Double) {
    x = start
    var fx = value(x)
    record(x, fx)
    var startBest = x
    var startBestValue = fx
    var failedPerturbations = 0
    var eta = options.stepSize * domain.diameter
    var localIterations = 0
    var checkpoint = fx
    while localIterations < options.maxIterations {
      if iterations & 15 == 0 {
        if let interlude = context.interlude, interlude.due { interlude.run() }
        if context.shouldStop { return (startBest, startBestValue) }
      }
      iterations += 1
      localIterations += 1
      let moved = gradientStep(&fx, &eta)
      if moved {
        record(x, fx)
        if fx > startBestValue + 1e-12 * (1 + abs(startBestValue)) {
          startBestValue = fx
          startBest = x
          failedPerturbations = 0
        }
        // Progress stalls when 20 steps gain less than 1e-9 (1 + |F|) (zig-zag across a kink).
        if localIterations % 20 != 0 { continue }
        let gained = fx - checkpoint
        checkpoint = fx
        if gained > 1e-9 * (1 + abs(fx)) { continue }
      }
      // A stall: local optimum or corner.
      if variant == .gradient_walk { return (startBest, startBestValue) }
      if failedPerturbations >= options.stallIterations { return (startBest, startBestValue) }
      failedPerturbations += 1
      perturbations += 1
      perturb(from: startBest)
      fx = value(x)
      record(x, fx)
      checkpoint = fx
      eta = options.stepSize * domain.diameter
    }
    return (startBest, startBestValue)
  }

  /// x <- P(center + r u), u uniform in the unit ball, r = perturbation_radius D.
  mutating func perturb(from center: [Double]) {
    var norm = 0.0
    for j in 0..<n {
      direction[j] = rng.normal()
      norm += direction[j] * direction[j]
    }
    norm = max(norm.squareRoot(), 1e-300)
    let radius =
      options.perturbationRadius * domain.diameter
      * pow(rng.unit(), 1 / Double(max(1, n)))
    for j in 0..<n { x[j] = center[j] + radius * direction[j] / norm }
    // A failed projection: stay at the centre (the start's best point).
    if !x.withUnsafeMutableBufferPointer({ domain.project($0.baseAddress!) }) { x = center }
  }

  /// Computes the gradient at x into `grad` (x must be the last forward pass); returns |g|.
  mutating func gradientNorm() -> Double {
    grad.withUnsafeMutableBufferPointer { kernel.gradient(into: $0.baseAddress!) }
    var s = 0.0
    for j in 0..<n { s += grad[j] * grad[j] }
    return s.squareRoot()
  }

  /// One projected gradient step with backtracking; false at a stall.
  mutating func gradientStep(_ fx: inout Double, _ eta: inout Double) -> Bool {
    _ = value(x)
    let gn = gradientNorm()
    guard gn > 0, gn.isFinite else { return false }
    let minStep = options.stepTolerance * domain.diameter
    // (eta > 0: a step tolerance that underflows to 0 would keep halving a step of 0.)
    while eta >= minStep, eta > 0 {
      for j in 0..<n { trial[j] = x[j] + eta * grad[j] / gn }
      guard trial.withUnsafeMutableBufferPointer({ domain.project($0.baseAddress!) }) else {
        eta /= 2
        continue
      }
      var moved = 0.0
      for j in 0..<n { moved += (trial[j] - x[j]) * (trial[j] - x[j]) }
      if moved.squareRoot() < minStep { return false }
      let ft = value(trial)
      if ft > fx + 1e-13 * (1 + abs(fx)) {
        swap(&x, &trial)
        fx = ft
        return true
      }
      eta /= 2
    }
    return false
  }
}

#if canImport(Glibc)
  import Glibc
#endif
