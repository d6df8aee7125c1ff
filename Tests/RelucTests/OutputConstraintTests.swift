import Foundation
import RelucBase
import RelucHiGHS
import RelucIR
import RelucXML
import Testing

@testable import Reluc

/// The output-constraint fixtures (Fixtures/outputs/make_fixtures.py): optima from an
/// independent enumeration of linear regions with scipy, the output rows being linear rows of
/// each region's LP. Problems are built here from the XML network and the JSON rows.
enum OutputFixtures {
  static let names = Fixtures.files("outputs", ext: "json").map { String($0.dropLast(5)) }

  struct Spec: Decodable {
    var sense: String
    var outputWeights: [Double]
    var inputWeights: [Double]
    var lower: [Double]
    var upper: [Double]
    var inputRows: [[Double]]
    var inputRhs: [Double]
    var G: [[Double]]
    var H: [[Double]]
    var h: [Double]
    var names: [String]
    var optimum: Double?
  }

  static func spec(_ name: String) throws -> Spec {
    let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("outputs/\(name).json")))
    return try JSONDecoder().decode(Spec.self, from: data)
  }

  static func problem(_ name: String, _ options: [(String, OptionValue)]) throws -> Problem {
    let s = try spec(name)
    guard case .success(let net) = NetworkReader().read(path: Fixtures.path("outputs/\(name).xml"))
    else { throw HighsError.stopped }
    var rows = OutputConstraints.none(inputSize: net.inputSize, outputSize: net.outputSize)
    for r in s.h.indices {
      rows.append(input: s.G[r], output: s.H[r], rhs: s.h[r], name: s.names[r])
    }
    let polytope = Polytope(
      dimension: net.inputSize, matrix: s.inputRows.flatMap { $0 }, rhs: s.inputRhs,
      rowNames: s.inputRhs.indices.map { "a\($0)" }, lower: s.lower, upper: s.upper)
    var o = SolveOptions()
    o.timeLimit = 20
    for (k, v) in options { try o.set(k, v) }
    return Problem(
      network: net, polytope: polytope,
      objective: Objective(
        sense: s.sense == "maximize" ? .maximize : .minimize, outputWeights: s.outputWeights,
        inputWeights: s.inputWeights),
      options: o, outputConstraints: rows)
  }

  static func solve(_ name: String, _ options: [(String, OptionValue)]) throws -> SolutionReport {
    let p = try problem(name, options)
    return Solver.solve(p, SolveContext(timeLimit: p.options.timeLimit))
  }

  /// The MILP settings: our tree (`cuts = all`), HiGHS's tree (`cuts = root`, `none`), MILP Walk.
  static let exact: [[(String, OptionValue)]] = [
    [("method", .identifier("milp")), ("cuts", .identifier("all"))],
    [("method", .identifier("milp")), ("cuts", .identifier("root"))],
    [
      ("method", .identifier("milp")), ("cuts", .identifier("none")),
      ("warm_start", .identifier("false")),
    ],
    [("method", .identifier("milp")), ("cuts", .identifier("all")), ("bounds", .identifier("lp"))],
  ]
  static let heuristics = ["ppga", "ppga_lr", "gradient_walk", "lp_walk", "milp_walk", "auto"]
}

@Suite struct OutputConstraintTests {
  @Test(arguments: OutputFixtures.names)
  func milpMatchesEnumeration(_ name: String) throws {
    let s = try OutputFixtures.spec(name)
    for options in OutputFixtures.exact {
      let r = try OutputFixtures.solve(name, options)
      let label = "\(name) \(options.map { "\($0.0)=\($0.1)" })"
      guard let expected = s.optimum else {
        #expect(r.status == .infeasible, "\(label): \(r.status)")
        #expect(r.point == nil)
        continue
      }
      #expect(r.status == .optimal, "\(label): \(r.status) \(r.message ?? "")")
      let f = try #require(r.objective, "\(label)")
      #expect(close(f, expected, abs: 1e-6, rel: 0), "\(label): \(f) vs \(expected)")
      #expect(try #require(r.maxViolation) <= 1e-7)
    }
  }

  @Test(arguments: OutputFixtures.names)
  func milpWalkMatchesEnumeration(_ name: String) throws {
    let s = try OutputFixtures.spec(name)
    let r = try OutputFixtures.solve(name, [("method", .identifier("milp_walk"))])
    guard let expected = s.optimum else {
      #expect(r.status == .noFeasiblePoint, "\(name): \(r.status)")
      #expect(r.point == nil)
      return
    }
    let f = try #require(r.objective, "\(name): \(r.status) \(r.message ?? "")")
    #expect(close(f, expected, abs: 1e-6, rel: 0), "\(name): \(f) vs \(expected)")
  }

  /// Every heuristic returns a point that passes the check with the rows, or no point with
  /// `no_feasible_point`; never `infeasible`, never a point on the infeasible case. Its value
  /// never beats the optimum.
  @Test(arguments: OutputFixtures.names)
  func heuristicsReturnFeasiblePointsOrNone(_ name: String) throws {
    let s = try OutputFixtures.spec(name)
    for method in OutputFixtures.heuristics {
      let r = try OutputFixtures.solve(name, [("method", .identifier(method))])
      let label = "\(name) \(method)"
      #expect(r.status != .checkFailed && r.status != .error, "\(label): \(r.message ?? "")")
      if method != "auto" { #expect(r.status != .infeasible, "\(label)") }
      guard let x = r.point else {
        #expect(r.status == .noFeasiblePoint || r.status == .infeasible, "\(label): \(r.status)")
        continue
      }
      let p = try OutputFixtures.problem(name, [])
      #expect(PointCheck(problem: p, point: x).feasible, "\(label)")
      let expected = try #require(s.optimum, "\(label): a point on an infeasible problem")
      let f = try #require(r.objective)
      let better = s.sense == "maximize" ? f - expected : expected - f
      #expect(better <= 1e-6, "\(label): \(f) beats the optimum \(expected)")
    }
  }

  /// The gradient methods find the optimum of these small cases (the restoration LP polishes
  /// their points on the optimum's region).
  @Test(arguments: OutputFixtures.names)
  func gradientMethodsReachTheOptimum(_ name: String) throws {
    let s = try OutputFixtures.spec(name)
    guard let expected = s.optimum else { return }
    for method in ["ppga", "ppga_lr"] {
      let r = try OutputFixtures.solve(
        name, [("method", .identifier(method)), ("starts", .number(64))])
      let f = try #require(r.objective, "\(name) \(method): \(r.status)")
      #expect(close(f, expected, abs: 1e-6, rel: 0), "\(name) \(method): \(f) vs \(expected)")
    }
  }

  /// The exported MILP with the output rows, read back by HiGHS, has the enumeration's optimum;
  /// its output rows are named after the constraints.
  @Test(arguments: OutputFixtures.names)
  func exportKeepsTheRows(_ name: String) throws {
    let s = try OutputFixtures.spec(name)
    let p = try OutputFixtures.problem(name, [])
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "reluc-out-\(getpid())-\(name)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("m.mps").path
    try MILPBackend.export(p, to: path)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    for rowName in s.names { #expect(text.contains(rowName + "_out_"), "\(name): \(rowName)") }
    let h = HighsSolver()
    try h.setLogging(false)
    try h.readModel(path)
    let status = try h.run()
    guard let expected = s.optimum else {
      #expect(status == .infeasible, "\(name): \(status)")
      return
    }
    #expect(status == .optimal)
    #expect(close(h.objectiveValue, expected, abs: 1e-6, rel: 0), "\(name): \(h.objectiveValue)")
  }

  /// The region LP carries the rows: at the enumeration's optimal point (scipy's argmax) the
  /// repair returns a feasible point whose value is the optimum.
  @Test func regionRepairReachesTheOptimumFromItsRegion() throws {
    for name in OutputFixtures.names {
      let s = try OutputFixtures.spec(name)
      guard let expected = s.optimum else { continue }
      let p = try OutputFixtures.problem(name, [])
      let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("outputs/\(name).json")))
      let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
      let arg = try #require(json?["argmax"] as? [Double])
      let lp = try RegionLPSolver(problem: p, stop: monotonicSeconds() + 10)
      let r = try #require(try lp.repair(arg, timeLimit: 10), "\(name)")
      #expect(PointCheck(problem: p, point: r.0).feasible)
      #expect(close(r.1, expected, abs: 1e-6, rel: 0), "\(name): \(r.1) vs \(expected)")
    }
  }

  /// The convex-side rule is off when rows name outputs (it would lower activations the rows see).
  @Test func convexSideIsOffWithOutputRows() throws {
    let r = try OutputFixtures.solve(
      "tight_2_8_2", [("method", .identifier("milp")), ("cuts", .identifier("none"))])
    #expect(r.statistics.first { $0.0 == "convex_side" }?.1 == .int(0))
  }
}

/// The exact penalty of the gradient methods (`OutputPenalty`): the kernels' merit is the
/// objective less `mu sum w_r max(0, row_r)` computed here from the reference forward pass, and
/// their gradient is the merit's (central differences inside a linear region), per lane in the
/// batched kernel.
@Suite struct OutputPenaltyTests {
  @Test func kernelsAscendTheExactPenalty() throws {
    let p = try OutputFixtures.problem("mixed_2_6_6_2", [])
    let rows = p.outputConstraints
    let penalty = OutputPenalty(problem: p)
    penalty.multiplier = 3
    let single = NetworkKernel(problem: p)
    single.rows = PenaltyLanes(penalty, lanes: 1)
    let lanes = 5
    let batch = BatchKernel<Double>(problem: p, batch: lanes)
    batch.rows = PenaltyLanes(penalty, lanes: lanes)
    var rng = Xoshiro256(seed: 7)
    var X = [Double](repeating: 0, count: 2 * lanes)
    var points: [[Double]] = []
    for b in 0..<lanes {
      let x = [rng.unit() * 2 - 1, rng.unit() * 2 - 1]
      points.append(x)
      X[b] = x[0]
      X[lanes + b] = x[1]
    }
    X.withUnsafeBufferPointer { batch.forward($0.baseAddress!) }
    var G = [Double](repeating: 0, count: 2 * lanes)
    G.withUnsafeMutableBufferPointer { batch.gradient(into: $0.baseAddress!) }
    // The gradients of some lanes only, the others left as they were.
    let some = [0, 3, 4]
    var S = [Double](repeating: -2.5, count: 2 * lanes)
    S.withUnsafeMutableBufferPointer { batch.gradient(into: $0.baseAddress!, lanes: some) }
    var violatedSomewhere = false
    for (b, x) in points.enumerated() {
      func merit(_ v: [Double]) -> Double {
        let y = p.network.evaluate(v)
        var m = p.objective.sign * p.objective.value(x: v, y: y)
        for r in 0..<rows.rowCount {
          let s = rows.lhs(r, x: v, y: y) - rows.rhs[r]
          if s > 0 { m -= 3 * penalty.weights[r] * s }
        }
        return m
      }
      let y = p.network.evaluate(x)
      if rows.maxScaledViolation(x: x, y: y) > 0 { violatedSomewhere = true }
      let f = x.withUnsafeBufferPointer { single.forward($0.baseAddress!) }
      #expect(close(f, merit(x), abs: 1e-12, rel: 1e-12))
      let fb = X.withUnsafeBufferPointer { batch.value(b, $0.baseAddress!) }
      #expect(close(fb, merit(x), abs: 1e-12, rel: 1e-12))
      var g = [0.0, 0.0]
      _ = x.withUnsafeBufferPointer { single.forward($0.baseAddress!) }
      g.withUnsafeMutableBufferPointer { single.gradient(into: $0.baseAddress!) }
      for j in 0..<2 {
        let h = 1e-7
        var up = x
        var down = x
        up[j] += h
        down[j] -= h
        let fd = (merit(up) - merit(down)) / (2 * h)
        #expect(close(g[j], fd, abs: 1e-5, rel: 1e-5), "lane \(b) input \(j): \(g[j]) vs \(fd)")
        #expect(close(G[j * lanes + b], g[j], abs: 1e-12, rel: 1e-12))
        if some.contains(b) {
          #expect(close(S[j * lanes + b], g[j], abs: 1e-12, rel: 1e-12))
        } else {
          #expect(S[j * lanes + b] == -2.5)
        }
      }
    }
    #expect(violatedSomewhere)
  }
}

extension OutputConstraintTests {
  /// HiGHS's point may miss a row by its tolerance: `checkedIncumbent` repairs a point that
  /// violates a row slightly (the enumeration's optimum with that row's bound lowered by 1e-5)
  /// into one that passes the check, no better than the optimum it came from.
  @Test func slightlyInfeasibleIncumbentIsRepaired() throws {
    let name = "tight_2_8_2"
    let s = try OutputFixtures.spec(name)
    let expected = try #require(s.optimum)
    var p = try OutputFixtures.problem(name, [])
    let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("outputs/\(name).json")))
    let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    let x = try #require(json?["argmax"] as? [Double])
    p.outputConstraints.rhs[0] -= 1e-5
    #expect(!PointCheck(problem: p, point: x).feasible)
    let r = MILPBackend.checkedIncumbent(x, p, SolveContext(timeLimit: 10))
    let point = try #require(r.point)
    #expect(PointCheck(problem: p, point: point).feasible)
    let f = try #require(r.objective)
    #expect(f <= expected + 1e-9 && f >= expected - 1e-3, "\(f) vs \(expected)")
    #expect(r.note != nil)
  }

  /// HiGHS's columns meet their bounds within its tolerance, and its objective is the big-M
  /// model's: a point outside the box by 1e-6 (ten times what the final check accepts) is
  /// clamped into it, and the objective reported is the forward pass's at the clamped point (a
  /// differential test found `milp` with `cuts = none` ending in `check_failed`, exit 70, on a
  /// plain box-constrained problem).
  @Test func highsPointIsClampedAndEvaluated() throws {
    let name = "tight_2_8_2"
    var p = try OutputFixtures.problem(name, [])
    // The box alone (the check once looked at the output rows only).
    p.outputConstraints = .none(inputSize: p.network.inputSize, outputSize: p.network.outputSize)
    let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("outputs/\(name).json")))
    let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    var x = try #require(json?["argmax"] as? [Double])
    let j = try #require(x.indices.first { x[$0] > p.polytope.lower[$0] })
    x[j] = p.polytope.upper[j] + 1e-6 * max(1, p.polytope.upper.map(abs).max() ?? 1)
    #expect(!PointCheck(problem: p, point: x).feasible)
    let r = MILPBackend.checkedIncumbent(x, p, SolveContext(timeLimit: 10))
    let point = try #require(r.point)
    #expect(point[j] <= p.polytope.upper[j])
    let check = PointCheck(problem: p, point: point)
    #expect(point[j] == p.polytope.upper[j])
    #expect(r.note == nil)
    #expect(check.feasible)
    #expect(r.objective == check.objective)
  }
}

extension OutputConstraintTests {
  /// A network whose big-M LP points all miss the output row after the forward pass: the branch
  /// and bound starts without an incumbent (it once closed its root node then, through a NaN
  /// cutoff, and said `infeasible`). A sample numpy shows feasible (make_fixtures.py,
  /// feasible_case) proves the problem feasible: no method may say `infeasible`, and the exact
  /// settings' points are feasible and no worse than that sample.
  @Test func treeWithoutIncumbentDoesNotClaimInfeasible() throws {
    let name = "feasible/noincumbent_10_40_40_2"
    let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("outputs/\(name).json")))
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let known = try #require(json["feasibleValue"] as? Double)
    let sample = try #require(json["feasiblePoint"] as? [Double])
    #expect(PointCheck(problem: try OutputFixtures.problem(name, []), point: sample).feasible)
    for options: [(String, OptionValue)] in [
      [("cuts", .identifier("all")), ("bounds", .identifier("interval"))],
      [("cuts", .identifier("all")), ("bounds", .identifier("lp"))],
      [("cuts", .identifier("root")), ("bounds", .identifier("interval"))],
    ] {
      let r = try OutputFixtures.solve(
        name,
        [
          ("method", .identifier("milp")), ("warm_start", .identifier("false")),
          ("time_limit", .number(8)),
        ] + options)
      let label = "\(options.map { "\($0.0)=\($0.1)" })"
      #expect(r.status != .infeasible, "\(label)")
      #expect(r.status != .checkFailed && r.status != .error, "\(label): \(r.message ?? "")")
      if let f = r.objective { #expect(f >= known - 1e-9, "\(label): \(f) < \(known)") }
    }
    // The tree (default settings but no warm start) finds a point.
    let r = try OutputFixtures.solve(
      name,
      [
        ("method", .identifier("milp")), ("warm_start", .identifier("false")),
        ("bounds", .identifier("interval")), ("time_limit", .number(8)),
      ])
    #expect(r.point != nil)
  }
}
