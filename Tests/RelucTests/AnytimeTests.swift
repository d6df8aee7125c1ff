import Foundation
import RelucBase
import RelucHiGHS
import RelucIR
import Testing

@testable import Reluc

/// Issue 18: anytime heuristics (`starts = 0`, the default, draws starts until the deadline), the
/// incumbent trace, PPGA_LR's region skip and step trimming, LP Walk's start from the shared
/// incumbent. The tests whose names start with `timeLimitIsHonoured` check wall-clock time and
/// run alone (`TIMED_TESTS` in the Makefile).
@Suite struct AnytimeTests {
  static let heuristics: [Method] = [.gradient_walk, .ppga, .ppga_lr, .lp_walk, .milp_walk, .auto]

  /// With a 1 s limit and no `starts`, every heuristic runs until the limit (at least 95% of it;
  /// none of them can prove optimality) and not past it by more than 5% (plus 0.5 s of start-up
  /// and final check in a debug build, as `timeLimitIsHonoured`), and reports a point.
  @Test(arguments: heuristics)
  func timeLimitIsHonouredAndUsedWithoutStarts(_ method: Method) throws {
    let p = LimitsTests.problem(LimitsTests.randomNetwork([20, 50, 50, 1], seed: 4)) {
      $0.method = method
      $0.timeLimit = 1
      $0.autoMilpNeurons = 0  // auto: the race of the heuristics, not the exact MILP
    }
    #expect(p.options.starts == 0)
    let t0 = monotonicSeconds()
    let r = Solver.solve(p, SolveContext(timeLimit: 1))
    let elapsed = monotonicSeconds() - t0
    #expect(elapsed >= 0.95, "\(method) stopped after \(elapsed) s")
    #expect(elapsed < 1.05 + 0.5, "\(method) took \(elapsed) s")
    #expect(r.status == .timeLimit, "\(method): \(r.status)")
    #expect(r.point != nil)
  }

  /// `auto` takes the MILP path only with at most `auto_milp_inputs` inputs (default 50): a
  /// network with 8 ReLUs gets the MILP at 50 inputs and the race of PPGA and LP Walk at 51, or
  /// at 50 with `auto_milp_inputs = 49`.
  @Test func autoTakesTheMILPPathForFewInputsOnly() throws {
    func path(_ inputs: Int, _ settings: (inout SolveOptions) -> Void = { _ in }) throws -> String {
      let p = LimitsTests.problem(LimitsTests.randomNetwork([inputs, 8, 1], seed: 3)) {
        $0.method = .auto
        $0.timeLimit = 5
        settings(&$0)
      }
      let r = Solver.solve(p, SolveContext(timeLimit: 5))
      #expect(r.point != nil)
      guard case .string(let said) = try #require(r.statistics.first { $0.0 == "auto" }?.1)
      else { return "" }
      return said
    }
    #expect(SolveOptions().autoMilpInputs == 50)
    #expect(try path(50).hasPrefix("ppga warm start, then milp"))
    #expect(try path(51).hasPrefix("ppga and lp_walk in parallel"))
    #expect(try path(50) { $0.autoMilpInputs = 49 }.hasPrefix("ppga and lp_walk in parallel"))
  }

  /// `auto`'s race: the walk's core goes to PPGA at a check (`Budget.walkChecks`) when the walk
  /// is behind, never before, and the statistics say which (named `timeLimitIsHonoured...` to
  /// run alone: it reads the clock).
  @Test func timeLimitIsHonouredByTheRaceHandover() throws {
    let p = LimitsTests.problem(LimitsTests.randomNetwork([20, 50, 50, 50, 1], seed: 4)) {
      $0.method = .auto
      $0.timeLimit = 1
      $0.autoMilpNeurons = 0
    }
    let r = Solver.solve(p, SolveContext(timeLimit: 1))
    let stats = Dictionary(uniqueKeysWithValues: r.statistics.map { ($0.0, $0.1) })
    guard case .string(let core) = try #require(stats["walk_core"]) else {
      Issue.record("walk_core is not a string")
      return
    }
    if core != "lp_walk to the end" {
      let words = core.split(separator: " ")
      try #require(words.count == 4 && words[0] == "ppga" && words[1] == "from", "\(core)")
      let t = try #require(Double(words[2]))
      #expect(t >= Budget.walkChecks[0] - 0.01 && t <= 1, "handed over at \(t) s")
    }
    #expect(r.point != nil)
  }

  /// `auto`'s race judges its walk by the gains that count (`Solver.walkAhead`,
  /// `Budget.walkGain`): the walk is ahead while it made such a gain in the second half of its
  /// time so far. A walk that only "improves" PPGA's new incumbent by a rounding error (it walks
  /// again from every new incumbent) is behind; so is a walk whose last real gain is older,
  /// even when the incumbent is still its point (the search stalls there: on the grid's
  /// 100-500-500-1 seed 1 the walk kept its core for 17 s at 0.355962, LP Walk's own value, where
  /// PPGA alone reaches 0.35861); the sign of a minimization is honoured.
  @Test func raceJudgesTheWalkByGainsThatCount() {
    let ppga = Method.ppga.rawValue
    let walk = Method.lp_walk.rawValue
    let trace = [
      TracePoint(seconds: 1, objective: -0.0602, method: ppga),
      TracePoint(seconds: 4, objective: -0.06019, method: walk),
      TracePoint(seconds: 8.1, objective: -0.06019 + 2e-14, method: walk),
      TracePoint(seconds: 9.4, objective: -0.0600, method: ppga),
    ]
    // The walk began at 1 s. At 7 s its real gain at 4 s is in the second half of its time.
    #expect(Solver.walkAhead(trace, sign: 1, begun: 1, checkpoint: 7))
    // At 9 s it still holds the incumbent, but its last real gain (4 s) is before 5 s.
    #expect(!Solver.walkAhead(trace, sign: 1, begun: 1, checkpoint: 9))
    // At 10 s PPGA has improved since; the walk's only entry in its second half (from 5.5 s)
    // is a rounding error.
    #expect(!Solver.walkAhead(trace, sign: 1, begun: 1, checkpoint: 10))
    var gained = trace
    gained.insert(TracePoint(seconds: 8.2, objective: -0.0601, method: walk), at: 3)
    #expect(Solver.walkAhead(gained, sign: 1, begun: 1, checkpoint: 10))
    let minimized = trace.map {
      TracePoint(seconds: $0.seconds, objective: -$0.objective, method: $0.method)
    }
    #expect(Solver.walkAhead(minimized, sign: -1, begun: 1, checkpoint: 7))
    #expect(!Solver.walkAhead(minimized, sign: -1, begun: 1, checkpoint: 9))
  }

  /// `auto`'s race runs the two workers of `ppga` alone, one per thread (the first from the
  /// start, the second around LP Walk's trial): `Solver.secondWorker` is that run's second
  /// worker (its best and `ppga` alone's agree bit for bit, with a count of starts: no clock),
  /// and the race, whose first thread runs the unchanged problem, never reports less than the
  /// first worker alone (an independent run with `workers = 1`).
  @Test func raceRunsTheWorkersOfPPGAAlone() throws {
    let net = LimitsTests.randomNetwork([12, 40, 40, 1], seed: 21)
    func ppga(_ p: Problem, _ c: SolveContext = SolveContext(timeLimit: 60)) -> Double {
      let r = GradientBackend(.ppga, workers: 1).solve(p, c)
      return r.claimedObjective ?? -.infinity
    }
    let alone = GradientBackend(.ppga, workers: 2).solve(
      LimitsTests.problem(net) {
        $0.starts = 8
        $0.timeLimit = 60
      }, SolveContext(timeLimit: 60))
    let counted = LimitsTests.problem(net) {
      $0.starts = 4
      $0.timeLimit = 60
    }
    let (second, context) = Solver.secondWorker(counted, SolveContext(timeLimit: 60))
    let first = ppga(counted)
    let w1 = ppga(second, context)
    #expect(try #require(alone.claimedObjective) == max(first, w1))
    #expect(first != w1, "the two workers' streams should differ")
    let race = Solver.race(
      LimitsTests.problem(net) {
        $0.method = .auto
        $0.starts = 4
        $0.timeLimit = 60
      }, SolveContext(timeLimit: 60), unstable: 0)
    #expect(try #require(race.claimedObjective) >= first)
  }

  /// A gradient run's interlude (`auto`'s race: LP Walk's trial while PPGA's second worker
  /// waits) runs once, on the run's thread, and the run then goes on where it stopped: with a
  /// count of starts (no clock in the result) the point, the value and the iteration count are
  /// those of the same run without it, in lanes and one start at a time (`batch = 1`). A run
  /// that started again after the interlude (the race's old handover) would differ.
  @Test(arguments: [64, 1])
  func anInterludeLeavesTheRunAsItWas(_ batch: Int) throws {
    let p = LimitsTests.problem(LimitsTests.randomNetwork([12, 40, 40, 1], seed: 23)) {
      $0.starts = 8
      $0.batch = batch
      $0.timeLimit = 60
    }
    // The interlude is due a quarter of the way through the faster of two runs without it.
    var quickest = Double.infinity
    var plain = SolveResult(status: .error, method: .ppga)
    for _ in 0..<2 {
      let t0 = monotonicSeconds()
      plain = GradientBackend(.ppga, workers: 1).solve(p, SolveContext(timeLimit: 60))
      quickest = min(quickest, monotonicSeconds() - t0)
    }
    final class Count: @unchecked Sendable { var runs = 0 }
    let count = Count()
    var paused = SolveContext(timeLimit: 60)
    let thread = pthread_self()
    paused.interlude = Interlude(at: monotonicSeconds() + quickest / 4) {
      #expect(pthread_equal(pthread_self(), thread) != 0)
      count.runs += 1
      usleep(20_000)
    }
    let resumed = GradientBackend(.ppga, workers: 1).solve(p, paused)
    #expect(count.runs == 1)
    #expect(try #require(resumed.point) == (try #require(plain.point)))
    #expect(resumed.claimedObjective == plain.claimedObjective)
    let iterations = { (r: SolveResult) in r.statistics.first { $0.0 == "iterations" }?.1 }
    #expect(iterations(resumed) == iterations(plain))
  }

  /// 10,000 inputs (a wide first layer: LP Walk's region LPs are large there): the limit holds.
  @Test(arguments: [Method.ppga, .lp_walk, .auto])
  func timeLimitIsHonouredOnTenThousandInputs(_ method: Method) throws {
    let p = LimitsTests.problem(LimitsTests.randomNetwork([10_000, 20, 20, 1], seed: 6)) {
      $0.method = method
      $0.timeLimit = 1
    }
    let t0 = monotonicSeconds()
    let r = Solver.solve(p, SolveContext(timeLimit: 1))
    let elapsed = monotonicSeconds() - t0
    #expect(elapsed < 1.05 + 0.5, "\(method) took \(elapsed) s")
    #expect(r.point != nil, "\(method): \(r.status) \(r.message ?? "")")
  }

  /// The trace is non-decreasing in the problem's sense, its times too, and it ends at the
  /// reported objective (maximization and minimization, every heuristic and `auto`).
  @Test(arguments: heuristics, [Sense.maximize, .minimize])
  func traceIsMonotoneAndEndsAtTheReport(_ method: Method, _ sense: Sense) throws {
    var p = LimitsTests.problem(LimitsTests.randomNetwork([5, 20, 20, 1], seed: 8)) {
      $0.method = method
      $0.starts = 8
      $0.autoMilpNeurons = 0
    }
    p.objective.sense = sense
    let r = Solver.solve(p, SolveContext(timeLimit: 20))
    let f = try #require(r.objective, "\(method): \(r.status)")
    let trace = r.trace
    try #require(!trace.isEmpty, "\(method): no trace")
    let s = sense == .maximize ? 1.0 : -1.0
    for (a, b) in zip(trace, trace.dropFirst()) {
      #expect(s * b.objective >= s * a.objective, "\(method): \(a) then \(b)")
      #expect(b.seconds >= a.seconds)
    }
    let last = try #require(trace.last)
    #expect(abs(last.objective - f) <= 1e-9 * (1 + abs(f)), "\(method): \(last.objective) vs \(f)")
    // The JSON report carries it, one [seconds, objective, method] per entry.
    let json = r.json(problem: p).rendered()
    #expect(
      json.contains(
        "\"trace\": [\n    [\(formatNumber((trace[0].seconds * 1000).rounded() / 1000))"))
  }

  /// A heuristic stopped early (here by a tiny limit) reports the point it had, feasible.
  @Test(arguments: heuristics)
  func aStoppedMethodReportsItsPoint(_ method: Method) throws {
    let p = LimitsTests.problem(LimitsTests.randomNetwork([30, 60, 60, 1], seed: 10)) {
      $0.method = method
      $0.autoMilpNeurons = 0
    }
    let r = Solver.solve(p, SolveContext(timeLimit: 0.3))
    let x = try #require(r.point, "\(method): \(r.status) \(r.message ?? "")")
    #expect(PointCheck(problem: p, point: x).feasible)
    #expect(r.status == .timeLimit)
  }

  /// LP Walk (anytime) takes the shared incumbent another method offered as a start: given the
  /// MILP's optimum as PPGA's point, it ends there.
  @Test func lpWalkStartsFromTheIncumbent() throws {
    let name = "max_3_10_1.rmod"
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let (_, exact) = try #require(OptFixtures.solve(name, [("method", .identifier("milp"))]))
    let p = try #require(
      Fixtures.problem(
        Fixtures.path("opt/" + name), overrides: [("method", .identifier("lp_walk"))])
    )
    var context = SolveContext(timeLimit: 0.5)
    let incumbents = Incumbents(start: context.start, sign: p.objective.sign)
    let x = try #require(exact.point)
    incumbents.offer(x, value: p.objective.sign * p.evaluate(x).objective, method: "ppga")
    context.incumbents = incumbents
    let r = LPWalkBackend().solve(p, context)
    #expect(r.statistics.first { $0.0 == "starts_incumbent" }?.1 == .int(1))
    #expect(close(try #require(r.claimedObjective), expected, abs: 1e-6, rel: 0))
  }

  /// A chain of improvements by one method (every 10 ms for 0.6 s, 5 s into the solve: a window
  /// of 0.1 s) keeps an entry about every window, not one entry that moves with the chain: every
  /// entry is at least a window after the entry two before it.
  @Test func incumbentsTraceAChainOfImprovementsEveryWindow() {
    let inc = Incumbents(start: monotonicSeconds() - 5, sign: 1)
    let end = monotonicSeconds() + 0.6
    var v = 0.0
    while monotonicSeconds() < end {
      v += 1
      inc.offer([v], value: v, method: "ppga")
      Thread.sleep(forTimeInterval: 0.01)
    }
    let t = inc.trace.map(\.seconds)
    #expect(t.count >= 4, "\(t)")
    #expect(inc.trace.last?.objective == v)
    for k in 2..<max(2, t.count) {
      #expect(t[k] - t[k - 2] >= Incumbents.coalescing * t[k - 2] + 1e-3, "\(t)")
    }
  }

  /// The incumbent keeps strict improvements only, coalesces a method's bursts, and `close`
  /// appends a better reported value.
  @Test func incumbentsKeepImprovementsOnly() {
    let inc = Incumbents(start: monotonicSeconds(), sign: -1)  // minimization
    #expect(inc.offer([0], value: -5, method: "ppga"))
    #expect(!inc.offer([1], value: -6, method: "lp_walk"))  // objective 6 > 5: worse
    #expect(inc.offer([2], value: -4, method: "lp_walk"))
    #expect(inc.trace.map(\.objective) == [5, 4])
    #expect(inc.best?.method == "lp_walk")
    let closed = inc.close(objective: 3, seconds: 1, method: "auto")
    #expect(closed.map(\.objective) == [5, 4, 3])
  }
}

/// PPGA_LR's mechanisms on the hand-built 2-D network of `regionStepLandsExactlyOnTheBoundary`:
/// y = relu(x0 - 0.5) + relu(x1 - 0.25) - relu(x0 + x1 - 1.5) over [0, 2]^2.
@Suite struct RegionSkipTests {
  static func preactivations(_ x: [Double]) -> [Double] {
    [x[0] - 0.5, x[1] - 0.25, x[0] + x[1] - 1.5]
  }
  static let box = Polytope(dimension: 2, lower: [0, 0], upper: [2, 2])

  /// From (0.6, 0.3) to (0.7, 0.4) (same region: neurons 0 and 1 on, 2 off), the skip lands on
  /// x0 + x1 = 1.5, i.e. (0.9, 0.6) (t = 3 along d = (0.1, 0.1)).
  @Test func skipLandsOnTheRegionBoundary() throws {
    let x: [Double] = [0.6, 0.3]
    let trial: [Double] = [0.7, 0.4]
    let p = try #require(
      RegionSkip.skip(
        x: x, trial: trial, zx: Self.preactivations(x), zt: Self.preactivations(trial),
        overshoot: 0, polytope: Self.box))
    #expect(abs(p[0] - 0.9) < 1e-15 && abs(p[1] - 0.6) < 1e-15, "\(p)")
    // With an overshoot of 1e-3 (absolute), the point is 1e-3 further along d.
    let q = try #require(
      RegionSkip.skip(
        x: x, trial: trial, zx: Self.preactivations(x), zt: Self.preactivations(trial),
        overshoot: 1e-3, polytope: Self.box))
    let step = 1e-3 / (0.1 * 2.0.squareRoot())
    #expect(abs(q[0] - (0.6 + 0.1 * (3 + step))) < 1e-12)
  }

  /// A region that extends past the box: the skip stops on the box (x0 = 2), and not at all
  /// when the trial is already there.
  @Test func skipStopsAtTheDomain() throws {
    let x: [Double] = [1.5, 0.3]
    let trial: [Double] = [1.6, 0.3]
    let p = try #require(
      RegionSkip.skip(
        x: x, trial: trial, zx: Self.preactivations(x), zt: Self.preactivations(trial),
        overshoot: 0, polytope: Self.box))
    #expect(p == [2, 0.3])
    #expect(
      RegionSkip.skip(
        x: [1.9, 0.3], trial: [2, 0.3], zx: Self.preactivations([1.9, 0.3]),
        zt: Self.preactivations([2, 0.3]), overshoot: 0, polytope: Self.box) == nil)
  }

  /// A row of the polytope caps the skip: x0 + x1 <= 1.2 from (0.6, 0.3) along (0.1, 0.1) is
  /// reached at t = 1.5.
  @Test func skipStopsAtARow() throws {
    let poly = Polytope(
      dimension: 2, matrix: [1, 1], rhs: [1.2], rowNames: ["r"], lower: [0, 0], upper: [2, 2])
    let x: [Double] = [0.6, 0.3]
    let trial: [Double] = [0.7, 0.4]
    let p = try #require(
      RegionSkip.skip(
        x: x, trial: trial, zx: Self.preactivations(x), zt: Self.preactivations(trial),
        overshoot: 0, polytope: poly))
    #expect(abs(p[0] - 0.75) < 1e-15 && abs(p[1] - 0.45) < 1e-15, "\(p)")
  }

  /// Trimming: first-layer pre-activations (1, -1, 3, 0.5) at x and (-3, 1, 2, -0.5) at x + d
  /// cross zero at t = 0.25, 0.5, 0.5 (neuron 2 does not cross); with k = 1 crossing kept, the
  /// cut is halfway between the first and second crossings, t = 0.375. With at most k
  /// crossings there is nothing to trim.
  @Test func trimCutsBetweenCrossings() throws {
    let t = try #require(RegionSkip.trim(zx1: [1, -1, 3, 0.5], zt1: [-3, 1, 2, -0.5]))
    #expect(abs(t - 0.375) < 1e-15)
    #expect(RegionSkip.trim(zx1: [1, -1, 3, 0.5], zt1: [-3, -1, 2, 0.5]) == nil)
  }

  /// The elite pool keeps the `capacity` best values and one point per value: 24 points of
  /// values 0...23 (shuffled, each offered twice) leave the 16 best, 8...23.
  @Test func elitePoolKeepsTheBest() {
    var pool = ElitePool()
    var rng = Xoshiro256(seed: 3)
    var values = (0..<24).map(Double.init)
    values.shuffle(using: &rng)
    for v in values + values { pool.remember([v, -v], value: v) }
    #expect(pool.elites.map(\.value).sorted() == (8..<24).map(Double.init))
    #expect(pool.elites.allSatisfy { $0.point == [$0.value, -$0.value] })
    pool.remember([0, 0], value: .nan)
    #expect(pool.elites.count == ElitePool.capacity)
  }

  /// A recombination takes each coordinate from one of its two parents, never pairs the center
  /// with itself, both parents contribute (about half the coordinates each over many draws), and
  /// it lies in X: on a box
  /// exactly the parents' coordinates; with a row x0 + ... + x7 <= 4 that the mix of the parents
  /// 1^8 (outside) and 0^8 can break, the projection onto the row.
  @Test func recombinationMixesTheParentsInX() throws {
    let n = 8
    var rng = Xoshiro256(seed: 11)
    let center = [Double](repeating: 1, count: n)
    let other = [Double](repeating: 0, count: n)
    var pool = ElitePool()
    #expect(pool.recombine(center, &rng, domain: try Domain(Self.box8)) == nil)
    pool.remember(center, value: 2)
    #expect(pool.recombine(center, &rng, domain: try Domain(Self.box8)) == nil)
    pool.remember(other, value: 1)
    let box = try Domain(Self.box8)
    var fromCenter = 0
    var draws = 0
    for _ in 0..<200 {
      guard let s = pool.recombine(center, &rng, domain: box) else { continue }
      draws += 1
      #expect(s.allSatisfy { $0 == 0 || $0 == 1 }, "\(s)")
      fromCenter += s.filter { $0 == 1 }.count
    }
    #expect(draws == 200)  // the partner is never the center itself
    let share = Double(fromCenter) / Double(draws * n)
    #expect(abs(share - 0.5) < 0.1, "\(share)")

    let row = Polytope(
      dimension: n, matrix: [Double](repeating: 1, count: n), rhs: [4], rowNames: ["r"],
      lower: [Double](repeating: 0, count: n), upper: [Double](repeating: 1, count: n))
    let domain = try Domain(row)
    for _ in 0..<50 {
      guard let s = pool.recombine(center, &rng, domain: domain) else { continue }
      #expect(s.reduce(0, +) <= 4 + 1e-9, "\(s)")
      #expect(s.allSatisfy { $0 >= -1e-12 && $0 <= 1 + 1e-12 }, "\(s)")
    }
  }

  /// Anytime PPGA in lanes crosses the lanes' start bests at some of their stalls (statistic
  /// `crossovers`, counted among the perturbations); a run with a count of starts (the paper's
  /// PPGA) never does. A crossover takes each coordinate from one of its two parents.
  @Test func lanesCrossTheirStartBestsWhenAnytime() throws {
    let net = LimitsTests.randomNetwork([20, 50, 50, 1], seed: 4)
    let stat = { (r: SolveResult, name: String) -> Int? in
      guard case .int(let k) = r.statistics.first(where: { $0.0 == name })?.1 else { return nil }
      return k
    }
    let anytime = LimitsTests.problem(net) { $0.timeLimit = 0.5 }
    let r = GradientBackend(.ppga, workers: 1).solve(anytime, SolveContext(timeLimit: 0.5))
    let crossovers = try #require(stat(r, "crossovers"))
    #expect(crossovers > 0)
    #expect(crossovers < (try #require(stat(r, "perturbations"))))
    let counted = LimitsTests.problem(net) {
      $0.starts = 64
      $0.timeLimit = 60
    }
    let c = GradientBackend(.ppga, workers: 1).solve(counted, SolveContext(timeLimit: 60))
    #expect(stat(c, "perturbations") ?? 0 > 0)
    #expect(stat(c, "crossovers") == 0)

    var rng = Xoshiro256(seed: 5)
    let a = (0..<8).map { Double($0) / 8 }
    let b = (0..<8).map { 1 - Double($0) / 16 }
    let box = try Domain(Self.box8)
    for _ in 0..<20 {
      let child = try #require(ElitePool.crossover(a, b, &rng, domain: box))
      #expect((0..<8).allSatisfy { child[$0] == a[$0] || child[$0] == b[$0] }, "\(child)")
    }
  }

  static let box8 = Polytope(
    dimension: 8, lower: [Double](repeating: 0, count: 8), upper: [Double](repeating: 1, count: 8))
}

/// The heuristics' last step (`RegionPolish`, `region_polish`): the LP of the best point's linear
/// region.
@Suite struct RegionPolishTests {
  /// Kinks at a_j: maximize sum_j (x_j - 2 relu(x_j - a_j)) over [0, 1]^12 (the x_j through the
  /// objective's input weights, the ReLUs through one output). Each term rises with slope 1 up
  /// to a_j and falls with slope 1 after it, so the optimum is x = a, of value sum_j a_j, and
  /// the LP of any region containing a point near a reaches it exactly.
  static let kinks = (0..<12).map { 0.1 + 0.8 * Double($0) / 11 + 0.0123 }

  static func kinkProblem(_ settings: (inout SolveOptions) -> Void) -> Problem {
    let n = kinks.count
    var identity = [Double](repeating: 0, count: n * n)
    for j in 0..<n { identity[j * n + j] = 1 }
    let net = Network(layers: [
      DenseLayer(
        inputSize: n, outputSize: n, weights: identity, bias: kinks.map { -$0 }, activation: .relu),
      DenseLayer(
        inputSize: n, outputSize: 1, weights: [Double](repeating: -2, count: n), bias: [0],
        activation: .linear),
    ])
    var p = LimitsTests.problem(net, settings)
    p.objective.inputWeights = [Double](repeating: 1, count: n)
    return p
  }

  /// With a coarse step tolerance the ascents stop near the kinks, not on them; the polish ends
  /// every heuristic at the optimum sum_j a_j to 1e-12, and says what it gained. Without it the
  /// gradient methods stay below (so the check can fail).
  @Test(arguments: [Method.gradient_walk, .ppga, .ppga_lr, .lp_walk, .auto])
  func polishEndsAtTheRegionsOptimum(_ method: Method) throws {
    let optimum = Self.kinks.reduce(0, +)
    func run(_ polish: Bool) -> SolutionReport {
      let p = Self.kinkProblem {
        $0.method = method
        $0.starts = 8
        $0.stepTolerance = 1e-3
        $0.regionPolish = polish
        $0.autoMilpNeurons = 0  // auto: the race of the heuristics
      }
      return Solver.solve(p, SolveContext(timeLimit: 30))
    }
    let polished = run(true)
    let f = try #require(polished.objective)
    #expect(abs(f - optimum) <= 1e-12 * optimum, "\(method): \(f) vs \(optimum)")
    let said = polished.statistics.first { $0.0 == "region_polish" }?.1
    if method == .lp_walk {
      // LP Walk's points are their regions' optima already.
      #expect(said == .string(RegionPolish.Outcome.noGain.text), "\(String(describing: said))")
    } else if method != .auto {
      guard case .string(let text) = said else {
        Issue.record("\(method): no region_polish statistic")
        return
      }
      #expect(text.hasPrefix("improved by"), "\(method): \(text)")
      let plain = try #require(run(false).objective)
      #expect(plain < optimum - 1e-9, "\(method) without the polish: \(plain)")
      #expect(!run(false).statistics.contains { $0.0 == "region_polish" })
    }
  }

  /// Anytime (no `starts`), a gradient method runs until the time limit less the polish's
  /// reserve, and the polish still solves its LP: on the kinks the value is the optimum
  /// sum_j a_j. The reserve covers the LP solver's set-up, not only the matrix: on the grid's
  /// 10-500-1 networks the LP took 2-7 ms, and the matrix alone reserved 5 ms ("did not solve in
  /// the time left"); at most a tenth of the limit.
  @Test(arguments: [Method.gradient_walk, .ppga, .ppga_lr])
  func anytimePolishSolves(_ method: Method) throws {
    let kinks = Self.kinkProblem {
      $0.method = method
      $0.stepTolerance = 1e-3
    }
    let r = Solver.solve(kinks, SolveContext(timeLimit: 1))
    let said = r.statistics.first { $0.0 == "region_polish" }?.1
    guard case .string(let text) = said else {
      Issue.record("\(method): no region_polish statistic")
      return
    }
    #expect(text.hasPrefix("improved by"), "\(method): \(text)")
    let optimum = Self.kinks.reduce(0, +)
    let f = try #require(r.objective)
    #expect(abs(f - optimum) <= 1e-12 * optimum, "\(method): \(f) vs \(optimum)")
    let random = LimitsTests.problem(LimitsTests.randomNetwork([10, 500, 1], seed: 5)) {
      $0.method = method
    }
    #expect(RegionPolish.reserve(random, SolveContext(timeLimit: 1)) >= 0.02)
    #expect(RegionPolish.reserve(random, SolveContext(timeLimit: 0.1)) <= 0.01 + 1e-12)
  }

  /// A point claimed at its region's optimum up to rounding is kept, and the polish says "no
  /// gain"; claimed 1e-9 below (relative), the polish takes the optimum and says what it gained.
  /// The optimum sum_j a_j is computed here, not by the code under test.
  @Test func roundingIsNoGain() throws {
    let p = Self.kinkProblem { $0.method = .ppga }
    let optimum = Self.kinks.reduce(0, +)
    for (below, gains) in [(1e-14, false), (1e-9, true)] {
      let claimed = optimum * (1 - below)
      var r = SolveResult(
        status: .feasible, method: .ppga, point: Self.kinks, claimedObjective: claimed)
      let outcome = RegionPolish.polish(
        &r, Self.kinks, claimed, p, SolveContext(timeLimit: 30))
      if gains {
        guard case .improved(let gain) = outcome else {
          Issue.record("claimed \(below) below: \(outcome)")
          continue
        }
        #expect(abs(gain - below) <= 1e-11, "\(gain)")
        #expect(abs(try #require(r.claimedObjective) - optimum) <= 1e-12 * optimum)
      } else {
        #expect(outcome == .noGain, "claimed \(below) below: \(outcome)")
        #expect(r.claimedObjective == claimed && r.point == Self.kinks)
      }
    }
  }

  /// The region's affine maps (`LinearRegion`: one matrix product per layer, the first layer's
  /// identity never formed, an inactive neuron's row zeroed) agree with an independent forward
  /// pass at points of the same region: every ReLU's pre-activation, the outputs, the objective.
  @Test func linearRegionMatchesTheForwardPass() throws {
    var rng = Xoshiro256(seed: 21)
    let net = Network(layers: [
      DenseLayer.random(6, 9, .relu, &rng), DenseLayer.random(9, 9, .relu, &rng),
      DenseLayer.random(9, 7, .relu, &rng), DenseLayer.random(7, 2, .linear, &rng),
    ])
    let p = Problem(
      network: net,
      polytope: Polytope(
        dimension: 6, lower: [Double](repeating: -1, count: 6),
        upper: [Double](repeating: 1, count: 6)),
      objective: Objective(
        sense: .minimize, outputWeights: [0.5, -2], inputWeights: [1, 0, -1, 0, 0.25, 0],
        constant: 3),
      options: SolveOptions())
    var checked = 0
    for _ in 0..<20 {
      let x = (0..<6).map { _ in 2 * rng.unit() - 1 }
      let region = LinearRegion(problem: p, at: x)
      let reference = independentPass(net, x)
      let z = reference.z.dropLast().flatMap { $0 }
      #expect(region.active == z.map { $0 >= 0 })
      #expect(region.active.contains(false) && region.active.contains(true))
      // Points of the same region: x moved by 1e-4 in a random direction, kept when the
      // pattern does not change.
      for _ in 0..<5 {
        let y = x.map { $0 + 1e-4 * (2 * rng.unit() - 1) }
        let pass = independentPass(net, y)
        let zy = pass.z.dropLast().flatMap { $0 }
        guard zy.map({ $0 >= 0 }) == region.active else { continue }
        checked += 1
        func affine(_ row: [Double], _ c: Double) -> Double {
          zip(row, y).reduce(c) { $0 + $1.0 * $1.1 }
        }
        for i in zy.indices {
          #expect(abs(affine(Array(region.row(i)), region.constants[i]) - zy[i]) <= 1e-12)
        }
        for k in 0..<2 {
          #expect(
            abs(affine(region.outputs[k], region.outputConstants[k]) - pass.outputs[k]) <= 1e-12)
        }
        let objective =
          3 + 0.5 * pass.outputs[0] - 2 * pass.outputs[1] + y[0] - y[2] + 0.25 * y[4]
        #expect(abs(affine(region.objective, region.objectiveConstant) - objective) <= 1e-12)
      }
    }
    #expect(checked >= 50)
  }

  /// The region LP by row generation (`RegionLPSolver.regionOptimum`: the rows nearest to the
  /// point first, violated rows added until none is) reaches the optimum of the LP with every
  /// row at once, built here from the region's rows and solved by a fresh HiGHS model, along LP
  /// Walk's steps (to the next region just past each optimum) on a random network over a box
  /// and on an output-row fixture; its point meets every row of its region, and on the random
  /// network rows are generated (347 of them in the 60 regions: the first LP, with the nearest 64
  /// of 400 rows, is not always enough).
  @Test func regionLPByRowGenerationMatchesTheWholeLP() throws {
    let random = LimitsTests.problem(LimitsTests.randomNetwork([40, 200, 200, 1], seed: 12))
    let rows = try OutputFixtures.problem("mid_3_5_4_2_rows", [])
    for (p, minimumCompared, generates) in [(random, 30, true), (rows, 5, false)] {
      let lp = try RegionLPSolver(problem: p, stop: monotonicSeconds() + 60)
      try lp.solver.set("presolve", "off")
      var rng = Xoshiro256(seed: 5)
      var lo = p.polytope.lower
      var hi = p.polytope.upper
      for j in lo.indices {
        lo[j] = max(lo[j], -10)
        hi[j] = min(hi[j], 10)
      }
      func sample() -> [Double] { lo.indices.map { lo[$0] + (hi[$0] - lo[$0]) * rng.unit() } }
      var x = sample()
      var compared = 0
      for _ in 0..<60 {
        let region = LinearRegion(problem: p, at: x)
        let whole = try Self.wholeRegionLP(p, region, margin: lp.outputRowMargin)
        guard let xs = try lp.regionOptimum(region, at: x, timeLimit: 10) else {
          // An empty region (the output rows): the whole LP must agree.
          #expect(whole == nil)
          x = sample()
          continue
        }
        let reference = try #require(whole)
        let value = zip(region.objective, xs).reduce(region.objectiveConstant) { $0 + $1.0 * $1.1 }
        #expect(abs(value - reference) <= 1e-9 * (1 + abs(reference)), "\(value) vs \(reference)")
        for i in 0..<region.rowCount {
          let v = region.value(i, at: xs)
          #expect(region.active[i] ? v >= -1e-6 : v <= 1e-6, "row \(i): \(v)")
        }
        compared += 1
        // Just past the optimum, into the next region (a new start when the walk stalls).
        let next = xs.indices.map { min(max(xs[$0] + 1e-3 * (xs[$0] - x[$0]), lo[$0]), hi[$0]) }
        let moved = LinearRegion(problem: p, at: next).active != region.active
        x = moved ? next : sample()
      }
      #expect(compared >= minimumCompared)
      #expect(lp.solves == 60)
      if generates { #expect(lp.generatedRows > 0) }
    }
  }

  /// The optimum value of `region`'s LP with all its rows (every ReLU neuron's, the output rows
  /// tightened by `margin`), by a fresh HiGHS model; nil when it is not optimal.
  static func wholeRegionLP(
    _ p: Problem, _ region: LinearRegion, margin: (Int) -> Double
  ) throws -> Double? {
    let s = HighsSolver()
    try s.addPolytope(p.polytope)
    try s.setMaximize(p.objective.sense == .maximize)
    if p.hasOutputConstraints {
      try s.set(
        "primal_feasibility_tolerance",
        Polytope.emptinessTolerance(accepted: p.options.feasibilityTolerance))
    }
    let n = p.network.inputSize
    var batch = RowBatch()
    for i in 0..<region.rowCount {
      let m = region.constants[i]
      batch.beginRow(
        lower: region.active[i] ? -m : -s.infinity, upper: region.active[i] ? s.infinity : -m)
      for (k, a) in region.row(i).enumerated() { batch.add(k, a) }
    }
    let oc = p.outputConstraints
    for r in 0..<oc.rowCount {
      var a = Array(oc.inputRow(r))
      var rhs = oc.rhs[r] - margin(r)
      for (i, h) in oc.outputRow(r).enumerated() {
        rhs -= h * region.outputConstants[i]
        for k in 0..<n { a[k] += h * region.outputs[i][k] }
      }
      batch.beginRow(lower: -s.infinity, upper: rhs)
      for k in 0..<n { batch.add(k, a[k]) }
    }
    try s.addRows(batch)
    try s.setCosts(region.objective)
    try s.setOffset(region.objectiveConstant)
    guard try s.run() == .optimal else { return nil }
    return s.objectiveValue
  }
}

/// LP Walk's relaxation starts when anytime (`LPWalk.budgetedRelaxedStart`): a relaxation LP
/// stopped by its time limit is resumed by the next relaxation start, and their time is bounded.
@Suite struct RelaxationStartTests {
  /// The budget of the relaxation LPs: with walks of a 32nd of the time the relaxation takes
  /// whole (W), a relaxation start gets 4 mean walks, W / 8, less than its share of the time
  /// (a quarter of at least W): it stops there; the next start, with no walk in between, runs
  /// no LP. With walks as long as W, and the time going by, the share grows by about W / 40
  /// between starts, and the relaxation ends at the whole solve's optimum (1e-9 relative): each
  /// slice, shorter than W, resumes where the last one stopped (from scratch, none would end).
  /// Measured: W 0.64 s, 26 slices, 0.81 s in all.
  @Test func relaxationsKeepToTheirBudget() throws {
    let p = LimitsTests.problem(LimitsTests.randomNetwork([20, 250, 250, 250, 1], seed: 3)) {
      $0.method = .lp_walk
    }
    let context = SolveContext(timeLimit: 120)
    var whole = try LPWalk(problem: p, context: context)
    let t0 = monotonicSeconds()
    _ = try #require(try whole.relaxedStart(timeLimit: 60))
    let w = monotonicSeconds() - t0
    let optimum = whole.lp.solver.objectiveValue
    var walk = try LPWalk(problem: p, context: context)
    walk.walks = 1
    walk.walkSeconds = w / 32
    #expect(try walk.budgetedRelaxedStart() == nil)
    let first = walk.relaxationSeconds
    #expect(first <= max(w / 8, LPWalkBackend.relaxationSlice) + 0.03, "\(first) s of \(w)")
    #expect(try walk.budgetedRelaxedStart() == nil)
    #expect(walk.relaxationSeconds == first)
    walk.walkSeconds = w
    var calls = 0
    while try walk.budgetedRelaxedStart() == nil {
      calls += 1
      guard calls < 200 else {
        Issue.record("not solved: \(walk.relaxationSeconds) s of relaxation")
        return
      }
      Thread.sleep(forTimeInterval: w / 10)
    }
    #expect(walk.relaxations == 1 && !walk.relaxationTooSlow)
    let value = walk.lp.solver.objectiveValue
    #expect(abs(value - optimum) <= 1e-9 * (1 + abs(optimum)), "\(value) vs \(optimum)")
  }
}
