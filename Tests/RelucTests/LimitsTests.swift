import Foundation
import RelucBase
import RelucIR
import Testing

@testable import Reluc

/// Issue 19: every phase inside the time limit, SIGINT answered quickly, `auto` never worse than
/// its members' points or a trivial point, no binary for a provably active ReLU. The tests whose
/// names start with `timeLimitIsHonoured` check wall-clock time and run alone (`TIMED_TESTS` in
/// the Makefile).
@Suite struct LimitsTests {
  /// A dense network with uniform random weights in [-1, 1] and biases in [-0.1, 0.1].
  static func randomNetwork(_ sizes: [Int], seed: UInt64) -> Network {
    var rng = Xoshiro256(seed: seed)
    var layers: [DenseLayer] = []
    for k in 1..<sizes.count {
      let (n, m) = (sizes[k - 1], sizes[k])
      layers.append(
        DenseLayer(
          inputSize: n, outputSize: m, weights: (0..<(n * m)).map { _ in 2 * rng.unit() - 1 },
          bias: (0..<m).map { _ in 0.2 * rng.unit() - 0.1 },
          activation: k == sizes.count - 1 ? .linear : .relu))
    }
    return Network(layers: layers)
  }

  /// Maximize the first output over [0, 1]^n.
  static func problem(_ net: Network, _ settings: (inout SolveOptions) -> Void = { _ in })
    -> Problem
  {
    let n = net.inputSize
    var options = SolveOptions()
    settings(&options)
    var out = [Double](repeating: 0, count: net.outputSize)
    out[0] = 1
    return Problem(
      network: net,
      polytope: Polytope(
        dimension: n, lower: [Double](repeating: 0, count: n),
        upper: [Double](repeating: 1, count: n)),
      objective: Objective(
        sense: .maximize, outputWeights: out, inputWeights: [Double](repeating: 0, count: n)),
      options: options)
  }

  /// 20 000 one-neuron ReLU layers (weights alternating in sign so that the interval bounds stay
  /// unstable): the MILP (HiGHS's tree and ours) with a 1 s limit ends in time with a point.
  @Test(arguments: [CutsMethod.all, .none])
  func timeLimitIsHonouredOnADeepNarrowNetwork(_ cuts: CutsMethod) throws {
    var layers = [
      DenseLayer(inputSize: 1, outputSize: 1, weights: [1], bias: [-0.5], activation: .relu)
    ]
    for k in 0..<20_000 {
      layers.append(
        DenseLayer(
          inputSize: 1, outputSize: 1, weights: [k % 2 == 0 ? 1 : 0.999], bias: [-1e-4],
          activation: .relu))
    }
    layers.append(
      DenseLayer(inputSize: 1, outputSize: 1, weights: [1], bias: [0], activation: .linear))
    let p = Self.problem(Network(layers: layers)) {
      $0.method = .milp
      $0.cuts = cuts
      $0.timeLimit = 1
    }
    let t0 = monotonicSeconds()
    let r = Solver.solve(p, SolveContext(timeLimit: 1))
    let elapsed = monotonicSeconds() - t0
    #expect(elapsed < 1.05 + 1.0, "took \(elapsed) s")
    #expect(r.point != nil)
  }

  /// OBBT on a wide network with a 50 ms budget returns within its budget (plus one LP's
  /// interrupt latency and the relaxation's building, generously).
  @Test func timeLimitIsHonouredByBoundTightening() throws {
    let p = Self.problem(Self.randomNetwork([100, 300, 300, 300, 1], seed: 3))
    let t0 = monotonicSeconds()
    let b = try lpTightenedBounds(
      p, SolveContext(timeLimit: 60), budget: 0.05, cutRounds: 3, splits: 3)
    let elapsed = monotonicSeconds() - t0
    #expect(elapsed < 0.05 + 0.4, "took \(elapsed) s")
    // Never looser than the interval bounds.
    let interval = intervalBounds(of: p)
    for l in b.lower.indices {
      for i in b.lower[l].indices {
        #expect(b.lower[l][i] >= interval.lower[l][i] && b.upper[l][i] <= interval.upper[l][i])
      }
    }
  }

  /// LP Walk on a wide network reports a point before a short limit, even when its first LPs
  /// cannot finish in time.
  @Test func timeLimitIsHonouredByLPWalkOnAWideNetwork() throws {
    let p = Self.problem(Self.randomNetwork([300, 200, 200, 10], seed: 5)) {
      $0.method = .lp_walk
      $0.timeLimit = 0.3
    }
    let t0 = monotonicSeconds()
    let r = Solver.solve(p, SolveContext(timeLimit: 0.3))
    let elapsed = monotonicSeconds() - t0
    #expect(r.point != nil)
    #expect(elapsed < 0.3 * 1.05 + 0.7, "took \(elapsed) s")
  }

  /// `auto` (the race and the warm-started MILP) reports a point at least as good as the box's
  /// centre, the origin and its members' points, even with almost no time.
  @Test(arguments: [0, 100_000])
  func autoIsNeverWorseThanATrivialPoint(_ autoMilpNeurons: Int) throws {
    // Every ReLU of the last hidden layer is off at the origin and the objective is -y: the
    // centre (and the origin) are good points, most of the box is worse.
    let p = Self.problem(Self.randomNetwork([20, 40, 40, 2], seed: 9)) {
      $0.method = .auto
      $0.timeLimit = 0.02
      $0.autoMilpNeurons = autoMilpNeurons
    }
    let r = Solver.solve(p, SolveContext(timeLimit: 0.02))
    let value = try #require(r.objective)
    for x in Solver.trivialPoints(p) {
      #expect(value >= p.evaluate(x).objective - 1e-12)
    }
  }

  /// `keepingBest`: a member's better point replaces the winner's; a worse one does not.
  @Test func autoKeepsTheBestMemberPoint() throws {
    let p = Self.problem(Self.randomNetwork([3, 5, 1], seed: 2))
    let xs: [[Double]] = [[0.1, 0.9, 0.3], [0.7, 0.2, 0.8]]
    let values = xs.map { p.evaluate($0).objective }
    let (worse, better) = values[0] < values[1] ? (0, 1) : (1, 0)
    let a = SolveResult(
      status: .timeLimit, method: .lp_walk, point: xs[worse], claimedObjective: values[worse])
    let b = Solver.Candidate(point: xs[better], value: values[better], from: "ppga")
    let r = Solver.keepingBest(p, a, value: values[worse], candidates: [b])
    #expect(r.point == xs[better])
    #expect(r.status == .timeLimit)
    let c = Solver.Candidate(point: xs[worse], value: values[worse], from: "lp_walk")
    let kept = SolveResult(
      status: .optimal, method: .milp, point: xs[better], claimedObjective: values[better])
    #expect(Solver.keepingBest(p, kept, value: values[better], candidates: [c]).point == xs[better])
    // A result without a point (HiGHS stopped before one) gets the candidate's.
    let none = SolveResult(status: .timeLimit, method: .milp)
    #expect(Solver.keepingBest(p, none, value: -.infinity, candidates: [c]).point == xs[worse])
  }

  /// `keepingSharedIncumbent`: whatever the back end, a better point of the shared incumbent
  /// replaces the result's (so the trace ends at the value reported), named by `found_by`; an
  /// `error` or `infeasible` result is left alone, and so is a result as good as the incumbent.
  @Test func theSharedIncumbentsBetterPointIsReported() throws {
    let p = Self.problem(Self.randomNetwork([3, 5, 1], seed: 2))
    let xs: [[Double]] = [[0.1, 0.9, 0.3], [0.7, 0.2, 0.8]]
    let values = xs.map { p.evaluate($0).objective }
    let (worse, better) = values[0] < values[1] ? (0, 1) : (1, 0)
    var context = SolveContext(timeLimit: 1)
    let incumbents = Incumbents(start: context.start, sign: p.objective.sign)
    context.incumbents = incumbents
    _ = incumbents.offer(xs[better], value: p.objective.sign * values[better], method: "ppga")
    for status in [SolveStatus.feasible, .timeLimit, .interrupted] {
      let r = SolveResult(
        status: status, method: .lp_walk, point: xs[worse], claimedObjective: values[worse])
      let out = Solver.keepingSharedIncumbent(p, context, r)
      #expect(out.point == xs[better])
      #expect(out.claimedObjective == values[better])
      #expect(out.status == status)
      #expect(out.statistics.contains { $0.0 == "found_by" && $0.1 == .string("ppga") })
    }
    // A result without a point gets the incumbent's.
    let none = SolveResult(status: .timeLimit, method: .milp)
    #expect(Solver.keepingSharedIncumbent(p, context, none).point == xs[better])
    // An `optimal` result the incumbent passes (beyond the MILP's tolerance) is only `feasible`.
    let optimal = SolveResult(
      status: .optimal, method: .milp, point: xs[worse], claimedObjective: values[worse],
      bound: values[worse])
    let downgraded = Solver.keepingSharedIncumbent(p, context, optimal)
    #expect(downgraded.point == xs[better] && downgraded.status == .feasible)
    for status in [SolveStatus.error, .infeasible, .unbounded, .checkFailed] {
      let r = SolveResult(status: status, method: .milp)
      #expect(Solver.keepingSharedIncumbent(p, context, r).point == nil)
    }
    let best = SolveResult(
      status: .feasible, method: .ppga, point: xs[better], claimedObjective: values[better])
    #expect(Solver.keepingSharedIncumbent(p, context, best).statistics.isEmpty)
  }

  /// A ReLU whose pre-activation lower bound is exactly 0 (nonnegative weights on inputs in
  /// [0, 1], bias 0) is stably active: no binary, with interval or LP bounds.
  @Test(arguments: [BoundsMethod.interval, .lp])
  func aZeroLowerBoundGetsNoBinary(_ bounds: BoundsMethod) throws {
    let net = Network(layers: [
      DenseLayer(
        inputSize: 2, outputSize: 2, weights: [1, 0.5, 1, -1], bias: [0, 0], activation: .relu),
      DenseLayer(
        inputSize: 2, outputSize: 2, weights: [1, 1, 0.25, 0], bias: [0, 0], activation: .relu),
      DenseLayer(inputSize: 2, outputSize: 1, weights: [1, -1], bias: [0], activation: .linear),
    ])
    let p = Self.problem(net) {
      $0.method = .milp
      $0.bounds = bounds
      $0.cuts = .none
    }
    let b = intervalBounds(of: p)
    #expect(b.lower[0][0] == 0 && b.lower[1][0] == 0 && b.lower[1][1] == 0)
    let r = Solver.solve(p, SolveContext(timeLimit: 10))
    #expect(r.status == .optimal)
    let stats = Dictionary(uniqueKeysWithValues: r.statistics.map { ($0.0, $0.1) })
    // Neuron (0, 1) is unstable; the three with a lower bound of 0 are not.
    #expect(stats["binaries"] == .int(1))
    #expect(stats["stable_active"] == .int(3))
    // The optimum by enumeration of a fine grid is no better than the MILP's.
    var best = -Double.infinity
    for i in 0...100 {
      for j in 0...100 {
        best = max(best, p.evaluate([Double(i) / 100, Double(j) / 100]).objective)
      }
    }
    #expect(try #require(r.objective) >= best - 1e-9)
  }
}

/// SIGINT during a long MILP on a big network: the best point and exit 130 within 0.5 s (plus
/// the debug build's final check and output, generously), whatever phase it came in. Also MILP
/// Walk, and the MILP's bound tightening on 1000 inputs, whose LPs and HiGHS's sub-MIPs did not
/// watch the interrupt (MILP Walk answered after up to 9.8 s, the MILP after 1.8 s).
@Suite(.serialized) struct InterruptLatencyTests {
  let binary = Fixtures.repository + "/.build/debug/reluc"

  @Test(arguments: [
    ("milp", "all", 0.8, 100), ("milp", "all", 2.5, 100), ("milp", "none", 2.5, 100),
    ("milp", "root", 2.5, 100), ("milp", "root", 3, 1000), ("milp_walk", "all", 2.5, 100),
    ("milp_walk", "all", 3, 1000), ("milp_walk", "all", 5, 1000),
  ])
  func timeLimitIsHonouredOnSIGINTDuringAMILP(
    _ method: String, _ cuts: String, _ after: Double, _ inputs: Int
  ) throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "reluc-sigint-\(getpid())-\(method)-\(cuts)-\(after)-\(inputs)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let net = LimitsTests.randomNetwork(
      inputs == 100 ? [100, 400, 400, 10] : [inputs, 100, 100, 1], seed: 17)
    try NetworkWriter.xml(net).write(
      to: dir.appendingPathComponent("big.xml"), atomically: true, encoding: .utf8)
    let model = dir.appendingPathComponent("big.rmod")
    try "network \"big.xml\"\nmaximize y[0]\nconstraint 0 <= x <= 1\n".write(
      to: model, atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = [
      model.path, "--method", method, "--time-limit", "60", "-O", "cuts=\(cuts)", "--json", "-q",
    ]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = Pipe()
    try p.run()
    Thread.sleep(forTimeInterval: after)
    let t0 = monotonicSeconds()
    kill(p.processIdentifier, SIGINT)
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let latency = monotonicSeconds() - t0
    let text = String(decoding: o, as: UTF8.self)
    #expect(p.terminationStatus == 130, "\(text)")
    #expect(text.contains("\"status\": \"interrupted\""))
    #expect(text.contains("\"objective\": "))
    #expect(latency < 0.5 + 0.5, "SIGINT answered in \(latency) s")
  }
}
