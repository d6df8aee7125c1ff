import RelucBase
import RelucHiGHS
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

/// LP Walk (Tong, Cai, Serra 2024, "relax-and-walk"). From a point, solve the LP of its linear
/// region, step past the optimum by `lp_walk_epsilon` (x <- x* + eps (x* - x), kept in X) into a
/// neighbouring region, and repeat while the value strictly improves. Patterns already walked
/// from are skipped. The region LP (`lp_walk_region_lp`, `RegionLPChoice`) is the paper's, over
/// the inputs (`RegionLPSolver`: n columns, a dense row per ReLU neuron), or the big-M relaxation
/// with every binary fixed (`PatternLP`, lifted: a region changes the bounds of the binaries
/// that flip). Either keeps its HiGHS model from region to region; the lifted LP's next solve
/// starts from the previous basis, the inputs LP's rows are generated as its optimum needs them
/// (`RegionLPSolver.regionOptimum`).
/// Starts, after the user's points:
/// - with a count (`starts` > 0): the LP relaxation of the big-M MILP, then relaxations with
///   randomly chosen neurons fixed to the flipped state (drawn with probability proportional to
///   |z_int - z_relaxed| + 0.05; a fix that makes the relaxation infeasible is undone), then
///   uniform samples of X;
/// - anytime (`starts = 0`, until the deadline): first the solve's incumbent (in `auto`, PPGA's
///   point) or else the best of `sampledStarts` uniform samples, so that a point exists at once;
///   then the relaxation; then in turns a flipped relaxation, the incumbent when another method
///   improved it since (the exchange of `auto`), a perturbation of the best point (radius
///   `perturbation_radius D 2^(2u - 1)`) and a uniform sample.
///
/// Time: each relaxation LP gets at most `relaxationShare` of the time left (on a wide network
/// HiGHS may need seconds for it; a relaxation that times out once is not tried again), every LP
/// has HiGHS's time limit and interrupt callback, and the best point so far is returned whenever
/// the walk stops (every start's point counts, before its first LP).
public struct LPWalkBackend: Backend {
  /// Creates the back end.
  public init() {}

  /// With a count of starts, the share of the time left that one relaxation LP may take;
  /// anytime, the share of the time so far that relaxation LPs may take in all
  /// (`budgetedRelaxedStart`).
  static let relaxationShare = 0.25
  /// Anytime: a relaxation LP, when it runs, gets at least this many seconds (a run of HiGHS
  /// starts by factorizing the basis).
  static let relaxationSlice = 0.05
  /// Anytime: the relaxation LPs may take at most this many mean walks each.
  static let relaxationWalks = 4.0
  /// Anytime: uniform samples whose best is the first start (when there is no incumbent yet).
  static let sampledStarts = 64

  public func solve(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    do throws(HighsError) {
      return try highsStage("run LP Walk (region LPs)") { () throws(HighsError) in
        try run(problem, context)
      }
    } catch  where error.isStop {
      return SolveResult(status: context.stopStatus, method: .lp_walk)
    } catch {
      return SolveResult(status: .error, method: .lp_walk, message: "\(error)")
    }
  }

  func run(_ problem: Problem, _ context: SolveContext) throws(HighsError) -> SolveResult {
    var walk = try LPWalk(problem: problem, context: context)
    let user = context.userStarts.filter { $0.count == problem.network.inputSize }
    var startIndex = 0
    let anytime = context.anytime(problem)
    do throws(HighsError) {
      while !context.shouldStop,
        anytime || startIndex < problem.options.starts + context.userStarts.count
      {
        let start = try walk.start(startIndex, user: user)
        startIndex += 1
        try walk.walk(from: start)
      }
    } catch  where error.isStop {}
    return walk.result()
  }
}

/// The state of one LP Walk: the LP (regions and relaxation), the starts, the best point.
struct LPWalk {
  let problem: Problem
  let context: SolveContext
  let lp: PatternLP
  /// The region LP over the inputs when the walk solves that one (`lp_walk_region_lp`), else
  /// nil: the lifted `lp`.
  let inputsLP: RegionLPSolver?
  let domain: Domain
  var rng: Xoshiro256
  let sign: Double
  let anytime: Bool
  var best: [Double]? = nil
  /// The best value, signed (`sign * objective`).
  var bestValue = -Double.infinity
  var seen = Set<Int>()
  var walks = 0
  /// Binaries of the relaxation fixed by the flipped starts (index into `lp.binaries` -> value).
  var fixes: [Int: Double] = [:]
  /// The last relaxation's binaries (for the flipped starts' choice).
  var relaxedBinaries: [Double] = []
  var relaxedInputs: [Double]? = nil
  /// Whether a relaxation LP ran out of its share of the time (no more are tried).
  var relaxationTooSlow = false
  /// The incumbent's version last walked from (anytime).
  var incumbentVersion = 0
  /// Starts of each kind (statistics).
  var startKinds: [String: Int] = [:]
  /// The kind of the start being walked from, and of the start whose walk found the best point.
  var startKind = ""
  var bestStartKind = ""
  /// Seconds spent in relaxation LPs, and in walks.
  var relaxationSeconds = 0.0
  var walkSeconds = 0.0
  /// Relaxation LPs solved.
  var relaxations = 0

  init(problem: Problem, context: SolveContext) throws(HighsError) {
    self.problem = problem
    self.context = context
    lp = try PatternLP(
      problem: problem, bounds: context.intervalBounds(problem), stop: context.deadline,
      cancellation: context.cancellation, verbose: context.verbose)
    if RegionLPChoice.kind(problem) == .inputs {
      let inputsLP = try RegionLPSolver(
        problem: problem, stop: context.deadline, cancellation: context.cancellation)
      // No presolve: with it or without, the walk solved about as many region LPs (10 s, one run
      // each, without / with: 100-500-500-1 1,342 / 1,421; 1000-500-500-1 54 / 69; 10-500-1
      // 32,769 / 31,474).
      try inputsLP.solver.set("presolve", "off")
      self.inputsLP = inputsLP
    } else {
      inputsLP = nil
    }
    domain = try Domain(problem.polytope)
    rng = Xoshiro256(seed: UInt64(problem.options.seed))
    sign = problem.objective.sign
    anytime = context.anytime(problem)
  }

  /// Start `k` (see `LPWalkBackend`).
  mutating func start(_ k: Int, user: [[Double]]) throws(HighsError) -> [Double] {
    if k < user.count {
      var p = user[k]
      p.withUnsafeMutableBufferPointer { _ = domain.project($0.baseAddress!) }
      return count("user", p)
    }
    let j = k - user.count
    guard anytime else {
      var start: [Double]?
      // Each relaxation LP gets its share of the time left.
      let limit = LPWalkBackend.relaxationShare * context.remaining
      if relaxationTooSlow {
      } else if j == 0 {
        start = try relaxedStart(timeLimit: limit)
      } else if !lp.binaries.isEmpty, j < max(2, problem.options.starts / 2) {
        start = try flippedStart(timeLimit: limit)
      }
      return start.map { count("relaxation", $0) } ?? count("sample", sample())
    }
    if j == 0 {
      if let p = takeIncumbent() { return count("incumbent", p) }
      return count("sample", bestSample())
    }
    if j == 1 || j % 4 == 0, let p = try budgetedRelaxedStart() {
      return count("relaxation", p)
    }
    switch j % 4 {
    case 1:
      if let p = takeIncumbent() { return count("incumbent", p) }
      fallthrough
    case 2:
      if let b = best { return count("perturbation", perturbation(of: b)) }
    default: break
    }
    return count("sample", sample())
  }

  mutating func count(_ kind: String, _ p: [Double]) -> [Double] {
    startKinds[kind, default: 0] += 1
    startKind = kind
    return p
  }

  /// A uniform sample of X.
  mutating func sample() -> [Double] {
    var p = [Double](repeating: 0, count: problem.network.inputSize)
    p.withUnsafeMutableBufferPointer { domain.sample(&rng, into: $0.baseAddress!) }
    return p
  }

  /// The best of `sampledStarts` uniform samples (forward passes).
  mutating func bestSample() -> [Double] {
    var top = sample()
    var topValue = sign * problem.evaluate(top).objective
    for _ in 1..<LPWalkBackend.sampledStarts where !context.shouldStop {
      let p = sample()
      let v = sign * problem.evaluate(p).objective
      if v > topValue {
        top = p
        topValue = v
      }
    }
    return top
  }

  /// The solve's incumbent when another method improved it since it was last taken, else nil.
  mutating func takeIncumbent() -> [Double]? {
    guard let b = context.incumbents?.best, b.version != incumbentVersion,
      b.method != Method.lp_walk.rawValue
    else { return nil }
    incumbentVersion = b.version
    return b.point
  }

  /// The projection of a uniform point of the ball of radius `perturbation_radius D 2^(2u-1)`
  /// around `center`.
  mutating func perturbation(of center: [Double]) -> [Double] {
    let n = center.count
    var u = (0..<n).map { _ in rng.normal() }
    let norm = max(u.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-300)
    let r =
      problem.options.perturbationRadius * domain.diameter * pow(2, 2 * rng.unit() - 1)
      * pow(rng.unit(), 1 / Double(max(1, n)))
    for j in 0..<n { u[j] = center[j] + r * u[j] / norm }
    return u.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) } ? u : center
  }

  /// Anytime: the relaxation's optimum, then flipped ones (`flippedStart`), within the
  /// relaxation's budget, less the seconds relaxation LPs took so far: `relaxationShare` of the
  /// time since the solve started, and at most `relaxationWalks` mean walks per relaxation
  /// (those solved and the next). A relaxation LP gets what is left (at least
  /// `relaxationSlice`); nil when nothing is, or when the LP did not finish in it: the next
  /// relaxation start resumes it from where it stopped (HiGHS keeps the basis of a run stopped by
  /// its time limit; with the lifted region LP the walks in between change its bounds). A
  /// relaxation start is one start: on a network whose relaxation takes as long as many walks
  /// (10-500-500-500-1: a relaxation of 10-15 s, walks of 0.4 s), it costs a few walks instead of
  /// a quarter of the time limit, and one that takes longer than the walks between relaxation
  /// starts is still solved, in turns.
  mutating func budgetedRelaxedStart() throws(HighsError) -> [Double]? {
    let meanWalk = walks > 0 ? walkSeconds / Double(walks) : Double.infinity
    let budget =
      min(
        LPWalkBackend.relaxationShare * (monotonicSeconds() - context.start),
        LPWalkBackend.relaxationWalks * meanWalk * Double(relaxations + 1)) - relaxationSeconds
    guard budget > 0 else { return nil }
    let seconds = max(budget, LPWalkBackend.relaxationSlice)
    if relaxedInputs == nil { return try relaxedStart(timeLimit: seconds) }
    return lp.binaries.isEmpty ? nil : try flippedStart(timeLimit: seconds)
  }

  /// The inputs of the relaxation's optimum (with the current fixes), or nil when its LP does
  /// not solve within `timeLimit` seconds. With a count of starts, one that runs out of time sets
  /// `relaxationTooSlow` (no more relaxations are tried); anytime, the next relaxation start
  /// resumes it (`budgetedRelaxedStart`).
  mutating func relaxedStart(timeLimit: Double) throws(HighsError) -> [Double]? {
    let started = monotonicSeconds()
    defer { relaxationSeconds += monotonicSeconds() - started }
    let (status, inputs, binaries) = try lp.solveRelaxation(fixes: fixes, timeLimit: timeLimit)
    if !anytime, status == .timeLimit || status == .interrupted { relaxationTooSlow = true }
    guard status == .optimal else { return nil }
    relaxations += 1
    relaxedBinaries = binaries
    relaxedInputs = inputs
    return inputs
  }

  /// Fixes one more neuron of the relaxation to the state opposite to the best point's (or the
  /// last relaxed point's), chosen by its fractionality, and returns the relaxation's optimum
  /// (`relaxedStart`; the fix is undone when it does not solve).
  mutating func flippedStart(timeLimit: Double) throws(HighsError) -> [Double]? {
    guard let reference = best ?? relaxedInputs, relaxedBinaries.count == lp.binaries.count
    else { return nil }
    let pattern = PatternLP.pattern(problem, at: reference).active
    let weights = lp.binaries.indices.map { k in
      abs((pattern[lp.binaries[k].relu] ? 1.0 : 0.0) - relaxedBinaries[k]) + 0.05
    }
    var u = rng.unit() * weights.reduce(0, +)
    var pick = 0
    while pick < weights.count - 1, u > weights[pick] {
      u -= weights[pick]
      pick += 1
    }
    fixes[pick] = pattern[lp.binaries[pick].relu] ? 0 : 1
    let start = try relaxedStart(timeLimit: timeLimit)
    if start == nil { fixes[pick] = nil }
    if fixes.count > max(1, lp.binaries.count / 10) { fixes = [:] }
    return start
  }

  /// Keeps x (signed value v) as the best point when it improves, and offers it to the solve.
  mutating func consider(_ x: [Double], _ v: Double) {
    guard v > bestValue else { return }
    // With output rows a point is kept only when it passes the final check.
    if problem.hasOutputConstraints, !PointCheck(problem: problem, point: x).feasible { return }
    bestValue = v
    best = x
    bestStartKind = startKind
    context.improved(x, value: v, sign: sign, by: .lp_walk)
  }

  /// Walks from `start` (unless its region was walked already) while the region LPs improve.
  mutating func walk(from start: [Double]) throws(HighsError) {
    var x = start
    // The start itself is a point (in X): the walk has one before its first LP ends.
    if problem.polytope.maxViolation(x) <= problem.options.feasibilityTolerance {
      let v = problem.evaluate(x).objective
      if v.isFinite { consider(x, sign * v) }
    }
    if context.shouldStop { return }
    var region = PatternLP.pattern(problem, at: x)
    if !seen.insert(region.hash).inserted { return }
    walks += 1
    let started = monotonicSeconds()
    defer { walkSeconds += monotonicSeconds() - started }
    var current = -Double.infinity
    while !context.shouldStop {
      guard let (xs, v) = try solveRegion(region.active, at: x) else { break }
      let sv = sign * v
      if sv <= current + 1e-9 * (1 + abs(current)) { break }
      current = sv
      consider(xs, sv)
      x = stepPast(xs, from: x)
      region = PatternLP.pattern(problem, at: x)
      seen.insert(region.hash)
    }
  }

  /// The optimum of the region of the pattern `active` (the pattern of `x`) and its value: the
  /// lifted LP's, or the inputs LP's point (clamped into the box; its rows generated from those
  /// nearest to `x`) with its forward pass's value; nil when the LP did not solve.
  func solveRegion(_ active: [Bool], at x: [Double]) throws(HighsError) -> ([Double], Double)? {
    guard let inputsLP else { return try lp.solveRegion(active, timeLimit: context.remaining) }
    guard
      let xs = try inputsLP.regionOptimum(
        LinearRegion(problem: problem, pattern: active), at: x, timeLimit: context.remaining)
    else { return nil }
    let v = problem.evaluate(xs).objective
    return v.isFinite ? (xs, v) : nil
  }

  /// `xs + eps (xs - x)`, with `eps` halved from `lp_walk_epsilon` until the point is in X
  /// (`xs` itself when it gets below 1e-12).
  func stepPast(_ xs: [Double], from x: [Double]) -> [Double] {
    let polytope = problem.polytope
    var eps = problem.options.lpWalkEpsilon
    var next = xs
    while eps > 1e-12 {
      for j in 0..<xs.count {
        next[j] = polytope.clamp(xs[j] + eps * (xs[j] - x[j]), j)
      }
      if polytope.maxViolation(next) <= 0 { break }
      eps /= 2
    }
    return eps <= 1e-12 ? xs : next
  }

  /// What became of the relaxation starts (statistics).
  var relaxationStatus: String {
    if relaxationTooSlow { return "stopped: the relaxation LP took too long" }
    if relaxedInputs == nil, relaxationSeconds > 0 {
      return "unfinished: the relaxation LP did not solve in its share of the time"
    }
    return relaxationSeconds > 0 ? "used" : "none"
  }

  /// The region LPs solved.
  var lps: Int { inputsLP?.solves ?? lp.solves }

  /// The result: the best point and the walk's statistics.
  func result() -> SolveResult {
    let seconds = max(1e-9, monotonicSeconds() - context.start)
    let stats: [(String, JSON)] =
      [
        ("walks", .int(walks)), ("region_lp", .string(inputsLP == nil ? "lifted" : "inputs")),
        ("lps", .int(lps)), ("lps_per_second", .number((Double(lps) / seconds).rounded())),
        ("regions_visited", .int(seen.count)),
        ("relaxation_starts", .string(relaxationStatus)),
        ("relaxation_seconds", .number(relaxationSeconds)),
      ]
      + (inputsLP.map { [("region_lp_rows_generated", JSON.int($0.generatedRows))] } ?? [])
      + ["user", "incumbent", "sample", "relaxation", "perturbation"].compactMap { kind in
        startKinds[kind].map { ("starts_" + kind, JSON.int($0)) }
      }
    guard let best else {
      return .walkWithoutPoint(
        .lp_walk, problem, context, statistics: stats, searched: "\(seen.count) regions")
    }
    return SolveResult(
      status: context.shouldStop ? context.stopStatus : .feasible, method: .lp_walk, point: best,
      claimedObjective: sign * bestValue,
      statistics: stats + [("best_start", .string(bestStartKind))])
  }
}

/// Which region LP LP Walk solves (`lp_walk_region_lp`). `auto`: the LP over the inputs unless
/// its dense matrix (ReLU neurons and output rows times inputs) has more than `maxInputsEntries`
/// entries: the region's rows, the batch handed to HiGHS and HiGHS's copies each held them (before
/// the rows were generated, `RegionLPSolver.regionOptimum`; now HiGHS holds the rows it needs), 50
/// to 110 bytes per entry measured (peak resident set, lifted / inputs: 158 / 264 MB on
/// 10000-50-50-1, 1e6 entries; 255 / 332 MB on 1000-500-500-500-1, 1.5e6), about 1 GB at the cap.
/// Measured at 20 s on the papers' grid networks (one run each, LPs solved by the lifted / inputs
/// LP): 10-100-1 33,392 / 68,848; 100-100-100-1 1,867 / 6,350; 10-500-500-500-1 3 / 1,631;
/// 1000-500-500-1 1 / 47; 1000-500-500-500-1 1 / 18; 10000-50-50-1 9 / 83; the inputs LP's walk
/// ended at least as high on all eleven networks tried.
enum RegionLPChoice {
  /// The largest region matrix the inputs LP is chosen for by `auto`.
  static let maxInputsEntries = 10_000_000

  /// The option's choice, `auto` resolved (with `maxEntries` as the cap).
  static func kind(_ problem: Problem, maxEntries: Int = maxInputsEntries) -> RegionLPKind {
    let kind = problem.options.lpWalkRegionLP
    guard kind == .auto else { return kind }
    let rows = problem.network.reluCount + problem.outputConstraints.rowCount
    let entries = Double(rows) * Double(problem.network.inputSize)
    return entries <= Double(maxEntries) ? .inputs : .lifted
  }
}
