import Foundation
import RelucBase
import RelucHiGHS
import RelucIR
import Testing

@testable import Reluc

/// The optimization fixtures: optima from an independent enumeration of linear regions
/// (Fixtures/opt/make_fixtures.py, scipy's LP per activation pattern).
enum OptFixtures {
  static let models = Fixtures.files("opt", ext: "rmod")
  static let optimal = models.filter {
    Fixtures.expectation(Fixtures.path("opt/" + $0))?.hasPrefix("optimum") == true
  }

  static func expectedOptimum(_ name: String) -> Double? {
    Fixtures.expectation(Fixtures.path("opt/" + name)).flatMap {
      Double($0.dropFirst("optimum ".count))
    }
  }

  static func solve(_ name: String, _ overrides: [(String, OptionValue)]) -> (
    Problem, SolutionReport
  )? {
    guard let p = Fixtures.problem(Fixtures.path("opt/" + name), overrides: overrides) else {
      return nil
    }
    return (p, Solver.solve(p, SolveContext(timeLimit: p.options.timeLimit)))
  }
}

@Suite struct MILPTests {
  @Test(arguments: OptFixtures.optimal)
  func milpMatchesRegionEnumeration(_ name: String) throws {
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let (p, r) = try #require(OptFixtures.solve(name, [("method", .identifier("milp"))]))
    #expect(r.status == .optimal)
    let f = try #require(r.objective)
    #expect(close(f, expected, abs: 1e-6, rel: 0), "\(name): \(f) vs \(expected)")
    #expect(try #require(r.maxViolation) <= 1e-9)
    // The reported bound is a bound on the optimum (up to the enumeration's own LP accuracy), even
    // when HiGHS stops within its gap tolerances, and it is within those tolerances.
    let b = try #require(r.bound)
    if p.objective.sense == .maximize {
      #expect(b >= expected - 1e-9)
      #expect(b <= expected + 1e-5)
    } else {
      #expect(b <= expected + 1e-9)
      #expect(b >= expected - 1e-5)
    }
  }

  /// The convex-side rule: only last-layer neurons whose objective coefficient works against them
  /// lose their binary, and never when the output layer is not linear.
  @Test func convexSideNeuronsFollowTheObjectiveCoefficient() {
    let hidden = DenseLayer(
      inputSize: 1, outputSize: 3, weights: [1, 1, 1], bias: [0, 0, 0], activation: .relu)
    // Output rows [1, -1, 0] and [2, 1, -1]; objective y0 - y1: g = (-1, -2, 1).
    let out = DenseLayer(
      inputSize: 3, outputSize: 2, weights: [1, -1, 0, 2, 1, -1], bias: [0, 0], activation: .linear)
    let net = Network(layers: [hidden, out])
    let maxObjective = Objective(sense: .maximize, outputWeights: [1, -1], inputWeights: [0])
    let minObjective = Objective(sense: .minimize, outputWeights: [1, -1], inputWeights: [0])
    #expect(BigMModel.convexSideNeurons(net, objective: maxObjective) == [true, true, false])
    #expect(BigMModel.convexSideNeurons(net, objective: minObjective) == [false, false, true])
    var reluOut = out
    reluOut.activation = .relu
    #expect(
      BigMModel.convexSideNeurons(Network(layers: [hidden, reluOut]), objective: maxObjective) == [
        false, false, false,
      ])
    #expect(BigMModel.convexSideNeurons(net, objective: nil) == [false, false, false])
  }

  @Test func convexSideIsUsedOnTheFixtures() throws {
    // On these fixtures the rule removes binaries, and the optimum above still matches.
    for name in ["max_2_5_5_2_rows.rmod", "min_3_6_6_1.rmod"] {
      let (_, r) = try #require(OptFixtures.solve(name, [("method", .identifier("milp"))]))
      let n = r.statistics.first { $0.0 == "convex_side" }?.1
      guard case .int(let k)? = n else {
        Issue.record("\(name): no convex_side statistic")
        continue
      }
      #expect(k > 0, "\(name)")
    }
  }

  /// The ideal-formulation cuts are valid: after the root loop (and the cut rounds inside OBBT),
  /// every point of the network, completed into activations and binaries, satisfies every row;
  /// the loop lowers (or keeps) the root bound and never cuts below the optimum.
  @Test(arguments: OptFixtures.optimal)
  func idealCutsAreValidAndTighten(_ name: String) throws {
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let p = try #require(Fixtures.problem(Fixtures.path("opt/" + name)))
    let bounds = try lpTightenedBounds(p, SolveContext(timeLimit: 10), budget: 10, cutRounds: 3)
    let model = try BigMModel(problem: p, bounds: bounds, objective: p.objective)
    try model.setObjective(p)
    let r = try model.rootCuts(rounds: 20, budget: 10)
    #expect(r.cuts > 0, "\(name): no cut separated")
    let first = try #require(r.bounds.first)
    let last = try #require(r.bounds.last)
    let maximize = p.objective.sense == .maximize
    let slack = 1e-6 * (1 + abs(expected))
    #expect(maximize ? last <= first + 1e-9 : last >= first - 1e-9)
    #expect(
      maximize ? last >= expected - slack : last <= expected + slack,
      "\(name): \(last) vs \(expected)")
    // Fix every column to a sampled point's completion: the model must stay feasible.
    var rng = Xoshiro256(seed: 11)
    let domain = try Domain(p.polytope)
    for _ in 0..<25 {
      var x = [Double](repeating: 0, count: p.network.inputSize)
      x.withUnsafeMutableBufferPointer { domain.sample(&rng, into: $0.baseAddress!) }
      let v = model.completion(of: x, network: p.network)
      for (j, value) in v.enumerated() {
        try model.solver.setColumnBounds(j, lower: value - 1e-9, upper: value + 1e-9)
      }
      #expect(try model.solver.run() == .optimal, "\(name): a network point violates a cut")
    }
  }

  /// The other formulations reach the same optimum: interval bounds, no cuts, no warm start, and
  /// our own branch and bound (`cuts = all`) with one to three workers and without strong
  /// branching.
  @Test(
    arguments: OptFixtures.optimal,
    [
      [("bounds", OptionValue.identifier("interval"))],
      [("cuts", .identifier("none")), ("warm_start", .identifier("false"))],
      [("bounds", .identifier("lp")), ("warm_start", .identifier("false"))],
      [("cuts", .identifier("all"))],
      [
        ("cuts", .identifier("all")), ("warm_start", .identifier("false")), ("workers", .number(3)),
      ],
      [("cuts", .identifier("all")), ("bounds", .identifier("interval")), ("workers", .number(1))],
      [("cuts", .identifier("all")), ("strong_branching", .number(0)), ("workers", .number(1))],
    ])
  func milpVariantsMatch(_ name: String, _ variant: [(String, OptionValue)]) throws {
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let (_, r) = try #require(OptFixtures.solve(name, [("method", .identifier("milp"))] + variant))
    #expect(r.status == .optimal)
    #expect(close(try #require(r.objective), expected, abs: 1e-6, rel: 0), "\(name) \(variant)")
  }

  @Test func infeasiblePolytopeIsAResult() throws {
    let (_, r) = try #require(
      OptFixtures.solve("infeasible.rmod", [("method", .identifier("milp"))]))
    #expect(r.status == .infeasible)
    #expect(r.point == nil)
  }

  @Test func intervalAndLPBoundsAreSoundAndLPIsTighter() throws {
    let p = try #require(Fixtures.problem(Fixtures.path("opt/min_3_6_6_1.rmod")))
    let interval = intervalBounds(p.network, lower: p.polytope.lower, upper: p.polytope.upper)
    let context = SolveContext(timeLimit: 10)
    let lp = try lpTightenedBounds(p, context, budget: 10)
    let cut = try lpTightenedBounds(p, context, budget: 10, cutRounds: 3)
    // Split bound LPs, on two threads: each tighter still (the parts' relaxations are tighter).
    let split = try lpTightenedBounds(p, context, budget: 10, cutRounds: 3, splits: 2, workers: 2)
    let split4 = try lpTightenedBounds(p, context, budget: 10, cutRounds: 3, splits: 4)
    for l in 0..<p.network.layers.count {
      for i in 0..<p.network.layers[l].outputSize {
        #expect(lp.lower[l][i] >= interval.lower[l][i] && lp.upper[l][i] <= interval.upper[l][i])
        // The cuts and the splits only tighten the bound LPs (up to HiGHS's tolerance).
        #expect(
          cut.lower[l][i] >= lp.lower[l][i] - 1e-7 && cut.upper[l][i] <= lp.upper[l][i] + 1e-7)
        #expect(
          split.lower[l][i] >= cut.lower[l][i] - 1e-7 && split.upper[l][i] <= cut.upper[l][i] + 1e-7
        )
        #expect(
          split4.lower[l][i] >= split.lower[l][i] - 1e-7
            && split4.upper[l][i] <= split.upper[l][i] + 1e-7)
      }
    }
    #expect(lp != interval)
    #expect(cut != lp)
    #expect(split4 != cut)
    // Sample the network: every pre-activation lies inside every bound.
    var rng = Xoshiro256(seed: 3)
    let k = NetworkKernel(problem: p)
    for _ in 0..<2000 {
      let x = (0..<3).map { j in
        p.polytope.lower[j] + rng.unit() * (p.polytope.upper[j] - p.polytope.lower[j])
      }
      x.withUnsafeBufferPointer { _ = k.forward($0.baseAddress!) }
      for l in 0..<p.network.layers.count {
        for (i, z) in k.preactivations(l).enumerated() {
          for b in [interval, lp, cut, split, split4] {
            #expect(z >= b.lower[l][i] && z <= b.upper[l][i])
          }
        }
      }
    }
  }

  /// Our branch and bound stopped early still reports a bound on the optimum, and a feasible point.
  @Test(arguments: OptFixtures.optimal)
  func treeStoppedEarlyReportsAValidBound(_ name: String) throws {
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let p = try #require(Fixtures.problem(Fixtures.path("opt/" + name)))
    let bounds = intervalBounds(p.network, lower: p.polytope.lower, upper: p.polytope.upper)
    var context = SolveContext(timeLimit: 10)
    var stops = 0
    for budget in [0.0, 0.002, 0.01, 0.05] {
      context.deadline = monotonicSeconds() + budget
      let tree = IdealCutTree(problem: p, bounds: bounds, context: context, absoluteGap: 1e-6)
      let r = try tree.solve(start: nil)
      // No bound at all is honest when the search stopped before the root LP.
      if let b = r.bound {
        if p.objective.sense == .maximize {
          #expect(b >= expected - 1e-9)
        } else {
          #expect(b <= expected + 1e-9)
        }
      } else {
        #expect(!r.complete)
      }
      if let v = r.value {
        if p.objective.sense == .maximize {
          #expect(v <= expected + 1e-9)
        } else {
          #expect(v >= expected - 1e-9)
        }
      }
      if r.complete {
        #expect(close(try #require(r.value), expected, abs: 1e-6, rel: 0))
      } else {
        stops += 1
      }
    }
    #expect(stops > 0, "\(name): no budget stopped the search early")
  }
}

@Suite struct GradientTests {
  static let methods: [Method] = [.ppga, .ppga_lr, .lp_walk, .milp_walk]

  /// From enough starts, the gradient methods and the walks reach the enumerated optimum.
  @Test(arguments: methods, OptFixtures.optimal)
  func reachesTheOptimum(_ method: Method, _ name: String) throws {
    try expectOptimum(name, [("method", .identifier(method.rawValue))])
  }

  /// LP Walk reaches it with either region LP (`auto` picks the inputs' on these networks, the
  /// lifted one on networks too large for a dense region matrix), the walk alone: without the
  /// final region polish.
  @Test(arguments: [RegionLPKind.lifted, .inputs], OptFixtures.optimal)
  func lpWalkReachesTheOptimumWithEitherRegionLP(_ kind: RegionLPKind, _ name: String) throws {
    let r = try expectOptimum(
      name,
      [
        ("method", .identifier("lp_walk")), ("lp_walk_region_lp", .identifier(kind.rawValue)),
        ("region_polish", .identifier("false")),
      ])
    #expect(r.statistics.first { $0.0 == "region_lp" }?.1 == .string(kind.rawValue))
  }

  /// `auto` takes the LP over the inputs up to the cap on its matrix's entries and the lifted LP
  /// above it; a choice made in the options is kept.
  @Test func regionLPChoiceFollowsTheMatrixSize() throws {
    let p = try #require(Fixtures.problem(Fixtures.path("opt/max_3_10_1.rmod")))
    let entries = (p.network.reluCount + p.outputConstraints.rowCount) * p.network.inputSize
    #expect(entries == 30)
    #expect(RegionLPChoice.kind(p) == .inputs)
    #expect(RegionLPChoice.kind(p, maxEntries: entries) == .inputs)
    #expect(RegionLPChoice.kind(p, maxEntries: entries - 1) == .lifted)
    var lifted = p
    lifted.options.lpWalkRegionLP = .lifted
    #expect(RegionLPChoice.kind(lifted) == .lifted)
    var inputs = p
    inputs.options.lpWalkRegionLP = .inputs
    #expect(RegionLPChoice.kind(inputs, maxEntries: 0) == .inputs)
  }

  /// Solves fixture `name` with `options`, 64 starts and seed 1, and checks the point against the
  /// enumerated optimum.
  @discardableResult
  func expectOptimum(_ name: String, _ options: [(String, OptionValue)]) throws -> SolutionReport {
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let (_, r) = try #require(
      OptFixtures.solve(name, options + [("starts", .number(64)), ("seed", .number(1))]))
    let label = "\(options.map { "\($0.0)=\($0.1)" }) on \(name)"
    #expect(r.status == .feasible, "\(label)")
    let f = try #require(r.objective)
    #expect(close(f, expected, abs: 1e-6, rel: 0), "\(label): \(f) vs \(expected)")
    #expect(try #require(r.maxViolation) <= 1e-9)
    // The walks end on a region LP's optimum: its value is the network's value at the point.
    #expect(try #require(r.objectiveDiscrepancy) <= 1e-9)
    return r
  }

  @Test(arguments: [Method.ppga_lr, .lp_walk, .milp_walk, .gradient_walk])
  func emptyPolytopeIsInfeasibleForEveryMethod(_ method: Method) throws {
    let (_, r) = try #require(
      OptFixtures.solve("infeasible.rmod", [("method", .identifier(method.rawValue))]))
    #expect(r.status == .infeasible)
  }

  @Test(arguments: [Method.gradient_walk, .ppga, .ppga_lr])
  func deterministicForASeedAndFeasible(_ method: Method) throws {
    let o: [(String, OptionValue)] = [
      ("method", .identifier(method.rawValue)), ("starts", .number(8)), ("seed", .number(5)),
    ]
    let (_, a) = try #require(OptFixtures.solve("max_2_5_5_2_rows.rmod", o))
    let (_, b) = try #require(OptFixtures.solve("max_2_5_5_2_rows.rmod", o))
    #expect(a.point == b.point)
    #expect(try #require(a.maxViolation) <= 1e-9)
  }

  /// Hand-built 2-D network: y = relu(x0 - 0.5) + relu(x1 - 0.25) - relu(x0 + x1 - 1.5).
  /// From (0, 0) along (1, 0) the first activation change is at t = 0.5 exactly.
  @Test func regionStepLandsExactlyOnTheBoundary() throws {
    let hidden = DenseLayer(
      inputSize: 2, outputSize: 3, weights: [1, 0, 0, 1, 1, 1], bias: [-0.5, -0.25, -1.5],
      activation: .relu)
    let out = DenseLayer(
      inputSize: 3, outputSize: 1, weights: [1, 1, -1], bias: [0], activation: .linear)
    let net = Network(layers: [hidden, out])
    let p = Problem(
      network: net, polytope: Polytope(dimension: 2, lower: [0, 0], upper: [2, 2]),
      objective: Objective(sense: .maximize, outputWeights: [1], inputWeights: [0, 0]),
      options: SolveOptions())
    let k = NetworkKernel(problem: p)
    let x: [Double] = [0, 0]
    x.withUnsafeBufferPointer { _ = k.forward($0.baseAddress!) }
    let d: [Double] = [1, 0]
    d.withUnsafeBufferPointer { k.directionalPreactivations($0.baseAddress!) }
    #expect(k.regionStep(tMax: 10) == 0.5)
    // Along (1, 1) from (0.6, 0.3) (neurons 0 and 1 active, 2 inactive): neuron 2 turns on at
    // x0 + x1 = 1.5, i.e. t = 0.3.
    let x2: [Double] = [0.6, 0.3]
    x2.withUnsafeBufferPointer { _ = k.forward($0.baseAddress!) }
    let d2: [Double] = [1, 1]
    d2.withUnsafeBufferPointer { k.directionalPreactivations($0.baseAddress!) }
    #expect(abs(k.regionStep(tMax: 10) - 0.3) < 1e-15)
    // The gradient on that region is (1, 1) (backward pass).
    var g = [Double](repeating: 0, count: 2)
    g.withUnsafeMutableBufferPointer { k.gradient(into: $0.baseAddress!) }
    #expect(g == [1, 1])
  }

  /// maximize 1e308 (y + x0), y = relu(x0 + x1), over [0, 1]^2: 3e308 in the reals, beyond the
  /// largest double; the objective is finite where y + x0 < 1.797 only. A point where the
  /// forward pass overflowed was kept as the best (+infinity beats every value) and the run
  /// ended `check_failed`; now it counts as no better than any point, and the method reports
  /// a checked point of finite objective. (1.2e308: the value at (0.5, 0.2), which any climb
  /// passes on its way up.)
  @Test(arguments: [Method.gradient_walk, .ppga, .ppga_lr])
  func overflowedValuesAreNeverKept(_ method: Method) throws {
    let hidden = DenseLayer(
      inputSize: 2, outputSize: 1, weights: [1, 1], bias: [0], activation: .relu)
    var options = SolveOptions()
    options.method = method
    let p = Problem(
      network: Network(layers: [hidden]),
      polytope: Polytope(dimension: 2, lower: [0, 0], upper: [1, 1]),
      objective: Objective(sense: .maximize, outputWeights: [1e308], inputWeights: [1e308, 0]),
      options: options)
    let r = Solver.solve(p, SolveContext(timeLimit: 0.5))
    #expect(r.status == .timeLimit, "\(r.status): \(r.message ?? "")")
    let x = try #require(r.point)
    let f = try #require(r.objective)
    #expect(f.isFinite && f >= 1.2e308)
    #expect(f == p.evaluate(x).objective)
  }

  /// Inputs in [-1e308, 1e308]^2: the box's widths overflow a double. y = -relu(x0) - relu(-x0)
  /// = -|x0|, at most 0 (at x0 = 0). Gradient Walk never ended there (a step of infinite length,
  /// which halving never shortens), PPGA's draws and bab's midpoints were not numbers. Now each
  /// ends by the limit with a checked point within 1e-10 of the box's width of the optimum
  /// (steps stop at `step_tolerance` = 1e-9 of the diameter; bab reaches 0).
  @Test(.timeLimit(.minutes(1)), arguments: [Method.gradient_walk, .ppga, .ppga_lr, .bab])
  func boxesWiderThanTheLargestDoubleEndNearTheOptimum(_ method: Method) throws {
    let hidden = DenseLayer(
      inputSize: 2, outputSize: 2, weights: [1, 0, -1, 0], bias: [0, 0], activation: .relu)
    let out = DenseLayer(
      inputSize: 2, outputSize: 1, weights: [-1, -1], bias: [0], activation: .linear)
    var options = SolveOptions()
    options.method = method
    let p = Problem(
      network: Network(layers: [hidden, out]),
      polytope: Polytope(dimension: 2, lower: [-1e308, -1e308], upper: [1e308, 1e308]),
      objective: Objective(sense: .maximize, outputWeights: [1], inputWeights: [0, 0]),
      options: options)
    let r = Solver.solve(p, SolveContext(timeLimit: 0.5))
    #expect(r.status != .error && r.status != .checkFailed, "\(r.status): \(r.message ?? "")")
    #expect(r.seconds < 2)
    let x = try #require(r.point)
    let f = try #require(r.objective)
    #expect(f <= 0 && f >= -1e298, "\(f)")
    #expect(f == p.evaluate(x).objective)
  }

  @Test func ppgaLRFindsTheCornerOfTheHandBuiltNetwork() throws {
    // max relu(x0 - 0.5) + relu(x1 - 0.25) - relu(x0 + x1 - 1.5) over [0, 2]^2: the optimum is
    // 1.25 on the segment x0 + x1 <= 1.5 ... check by the MILP.
    let dir = NSTemporaryDirectory() + "reluc-hand-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let xml = """
      <network><input name="x" size="2"/><output name="y" size="1"/>
      <layer inputs="2" outputs="3"><row>1 0</row><row>0 1</row><row>1 1</row><bias>-0.5 -0.25 -1.5</bias></layer>
      <layer inputs="3" outputs="1" activation="linear"><row>1 1 -1</row></layer></network>
      """
    try xml.write(toFile: dir + "/h.xml", atomically: true, encoding: .utf8)
    try "network \"h.xml\"\nmaximize y[0]\nconstraint 0 <= x <= 2\n".write(
      toFile: dir + "/m.rmod", atomically: true, encoding: .utf8)
    let milp = try #require(
      Fixtures.problem(dir + "/m.rmod", overrides: [("method", .identifier("milp"))]))
    let exact = Solver.solve(milp, SolveContext(timeLimit: 10))
    let lr = try #require(
      Fixtures.problem(
        dir + "/m.rmod", overrides: [("method", .identifier("ppga_lr")), ("starts", .number(16))]))
    let heuristic = Solver.solve(lr, SolveContext(timeLimit: 10))
    #expect(close(try #require(exact.objective), 1.25, abs: 1e-9, rel: 0))
    #expect(close(try #require(heuristic.objective), 1.25, abs: 1e-9, rel: 0))
  }
}

@Suite struct ReportTests {
  @Test func anInfeasiblePointIsNeverReportedOptimal() throws {
    let p = try #require(Fixtures.problem(Fixtures.path("opt/max_2_8_1.rmod")))
    let bad = SolveResult(status: .optimal, method: .milp, point: [5, 0], claimedObjective: nil)
    let r = SolutionReport(problem: p, result: bad, seconds: 0)
    #expect(r.status == .checkFailed)
    let (_, f) = p.evaluate([0.5, 0.5])
    let wrongValue = SolveResult(
      status: .optimal, method: .milp, point: [0.5, 0.5], claimedObjective: f + 1)
    #expect(SolutionReport(problem: p, result: wrongValue, seconds: 0).status == .checkFailed)
    let right = SolveResult(
      status: .optimal, method: .milp, point: [0.5, 0.5], claimedObjective: f)
    #expect(SolutionReport(problem: p, result: right, seconds: 0).status == .optimal)
  }

  /// Every method stops at a 1 s limit (5% plus 0.5 s of start-up and final check in a debug
  /// build) on a problem none of them finishes in that time, and reports a point.
  @Test(arguments: [Method.ppga, .ppga_lr, .lp_walk, .milp_walk, .milp, .bab, .auto])
  func timeLimitIsHonoured(_ method: Method) throws {
    let p = try #require(
      Fixtures.problem(
        Fixtures.repository + "/samples/random.rmod",
        overrides: [
          ("time_limit", .number(1)), ("starts", .number(100000)),
          ("method", .identifier(method.rawValue)),
          ("auto_milp_neurons", .number(1000)),
        ]))
    let t0 = Date()
    let r = Solver.solve(p, SolveContext(timeLimit: p.options.timeLimit))
    let elapsed = Date().timeIntervalSince(t0)
    #expect(r.status == .timeLimit, "\(method): \(r.status)")
    #expect(elapsed < 1.05 + 0.5, "\(method) took \(elapsed) s")
    #expect(r.point != nil)
  }
}

@Suite struct ProjectionTests {
  /// The projection is feasible and the nearest point: (v - p) . (q - p) <= 0 for every feasible
  /// q (the obtuse-angle characterization).
  @Test func dualProjectionIsExact() throws {
    var rng = Xoshiro256(seed: 11)
    for trial in 0..<20 {
      let n = 2 + trial % 5
      let m = 1 + trial % 4
      var a: [Double] = []
      var b: [Double] = []
      for _ in 0..<m {
        let row = (0..<n).map { _ in rng.unit() * 2 - 1 }
        a += row
        b.append(row.reduce(0, +) * 0.5 + 0.1 * rng.unit())  // the centre is feasible
      }
      let poly = Polytope(
        dimension: n, matrix: a, rhs: b, rowNames: [], lower: [Double](repeating: 0, count: n),
        upper: [Double](repeating: 1, count: n))
      for _ in 0..<10 {
        let v = (0..<n).map { _ in rng.unit() * 4 - 2 }
        let p = try #require(
          v.withUnsafeBufferPointer { DualProjection(poly).project($0.baseAddress!) })
        #expect(poly.maxViolation(p) <= 1e-9)
        for _ in 0..<200 {
          let q = (0..<n).map { _ in rng.unit() }
          guard poly.maxViolation(q) <= 0 else { continue }
          var dot = 0.0
          for j in 0..<n { dot += (v[j] - p[j]) * (q[j] - p[j]) }
          #expect(dot <= 1e-9)
        }
      }
    }
  }

  @Test func dualProjectionAgreesWithTheQP() throws {
    let poly = Polytope(
      dimension: 3, matrix: [1, 1, 1, 1, -1, 0], rhs: [1, 0.2], rowNames: [], lower: [0, 0, 0],
      upper: [1, 1, 1])
    let solver = RelucHiGHSQP(poly)
    var rng = Xoshiro256(seed: 2)
    for _ in 0..<50 {
      let v = (0..<3).map { _ in rng.unit() * 3 - 1 }
      let p = try #require(
        v.withUnsafeBufferPointer { DualProjection(poly).project($0.baseAddress!) })
      let q = try #require(solver.project(v))
      for j in 0..<3 { #expect(abs(p[j] - q[j]) <= 1e-6) }
    }
  }
}

@Suite struct UserStartTests {
  /// A user start at the optimum makes even Gradient Walk (one sampled start besides) end there.
  @Test(arguments: [Method.gradient_walk, .lp_walk])
  func userStartIsUsed(_ method: Method) throws {
    let name = "max_3_10_1.rmod"
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let (_, exact) = try #require(OptFixtures.solve(name, [("method", .identifier("milp"))]))
    let p = try #require(
      Fixtures.problem(
        Fixtures.path("opt/" + name),
        overrides: [("method", .identifier(method.rawValue)), ("starts", .number(1))]))
    var context = SolveContext(timeLimit: 30)
    context.userStarts = [try #require(exact.point)]
    let r = Solver.solve(p, context)
    #expect(close(try #require(r.objective), expected, abs: 1e-6, rel: 0))
    if method == .gradient_walk {
      // One user start and one sampled start.
      #expect(r.statistics.first { $0.0 == "starts" }?.1 == .int(2))
    }
  }
}

@Suite struct BatchKernelTests {
  /// The batched kernel computes, for every point of the batch, the objective, activation pattern
  /// and gradient the one-point kernel does (the second fixture has two outputs and an input term
  /// in its objective).
  @Test(arguments: [("min_3_6_6_1.rmod", 5, UInt64(8)), ("max_2_5_5_2_rows.rmod", 13, UInt64(9))])
  func batchedKernelMatchesTheOnePointKernel(_ name: String, _ batch: Int, _ seed: UInt64) throws {
    let p = try #require(Fixtures.problem(Fixtures.path("opt/" + name)))
    let n = p.network.inputSize
    let one = NetworkKernel(problem: p)
    let many = BatchKernel<Double>(problem: p, batch: batch)
    var rng = Xoshiro256(seed: seed)
    let points = (0..<batch).map { _ in
      (0..<n).map { j in
        p.polytope.lower[j] + rng.unit() * (p.polytope.upper[j] - p.polytope.lower[j])
      }
    }
    var x = [Double](repeating: 0, count: n * batch)
    for (b, pt) in points.enumerated() { for j in 0..<n { x[j * batch + b] = pt[j] } }
    var g = [Double](repeating: 0, count: n * batch)
    x.withUnsafeBufferPointer { many.forward($0.baseAddress!) }
    g.withUnsafeMutableBufferPointer { many.gradient(into: $0.baseAddress!) }
    // The gradients of some points only (PPGA's lanes whose trial is taken): the other columns
    // keep what they held.
    let some = Array(stride(from: 1, to: batch, by: 2))
    var gs = [Double](repeating: 7.5, count: n * batch)
    gs.withUnsafeMutableBufferPointer { many.gradient(into: $0.baseAddress!, lanes: some) }
    for (b, pt) in points.enumerated() {
      var g1 = [Double](repeating: 0, count: n)
      let f = pt.withUnsafeBufferPointer { one.forward($0.baseAddress!) }
      g1.withUnsafeMutableBufferPointer { one.gradient(into: $0.baseAddress!) }
      #expect(abs(f - x.withUnsafeBufferPointer { many.value(b, $0.baseAddress!) }) <= 1e-12)
      #expect(one.patternHash() == many.patternHash(b))
      for j in 0..<n {
        #expect(abs(g1[j] - g[j * batch + b]) <= 1e-12)
        if some.contains(b) {
          #expect(abs(g1[j] - gs[j * batch + b]) <= 1e-12)
        } else {
          #expect(gs[j * batch + b] == 7.5)
        }
      }
    }
  }

  /// The single-precision kernel (`lane_precision = single`) computes the one-point double
  /// kernel's objective and gradient to single precision's rounding, and the same activation
  /// pattern where no pre-activation is near 0.
  @Test(arguments: [("min_3_6_6_1.rmod", 5, UInt64(8)), ("max_2_5_5_2_rows.rmod", 13, UInt64(9))])
  func singlePrecisionKernelMatchesTheDoubleKernel(_ name: String, _ batch: Int, _ seed: UInt64)
    throws
  {
    let p = try #require(Fixtures.problem(Fixtures.path("opt/" + name)))
    let n = p.network.inputSize
    let one = NetworkKernel(problem: p)
    let many = BatchKernel<Float>(problem: p, batch: batch)
    var rng = Xoshiro256(seed: seed)
    var x = [Double](repeating: 0, count: n * batch)
    for b in 0..<batch {
      for j in 0..<n {
        x[j * batch + b] =
          p.polytope.lower[j] + rng.unit() * (p.polytope.upper[j] - p.polytope.lower[j])
      }
    }
    var g = [Double](repeating: 0, count: n * batch)
    x.withUnsafeBufferPointer { many.forward($0.baseAddress!) }
    g.withUnsafeMutableBufferPointer { many.gradient(into: $0.baseAddress!) }
    var z: [Double] = []
    var checked = 0
    for b in 0..<batch {
      let pt = (0..<n).map { x[$0 * batch + b] }
      var g1 = [Double](repeating: 0, count: n)
      let f = pt.withUnsafeBufferPointer { one.forward($0.baseAddress!) }
      g1.withUnsafeMutableBufferPointer { one.gradient(into: $0.baseAddress!) }
      let scale = 1 + abs(f) + g1.reduce(0) { $0 + abs($1) }
      let fb = x.withUnsafeBufferPointer { many.value(b, $0.baseAddress!) }
      #expect(abs(f - fb) <= 1e-5 * scale, "\(name) lane \(b): \(f) vs \(fb)")
      many.copyReLU(b, into: &z)
      guard z.allSatisfy({ abs($0) > 1e-3 }) else { continue }
      checked += 1
      #expect(one.patternHash() == many.patternHash(b))
      for j in 0..<n { #expect(abs(g1[j] - g[j * batch + b]) <= 1e-5 * scale) }
    }
    #expect(checked > 0)
  }

  /// PPGA in lanes reaches the enumerated optimum in both precisions, and a single-precision run
  /// reports exact values: the claimed objective is the final check's forward pass in double.
  @Test(arguments: ["single", "double"])
  func ppgaReachesTheOptimumInBothPrecisions(_ precision: String) throws {
    for name in OptFixtures.optimal {
      let expected = try #require(OptFixtures.expectedOptimum(name))
      let (p, r) = try #require(
        OptFixtures.solve(
          name,
          [
            ("method", .identifier("ppga")), ("lane_precision", .identifier(precision)),
            ("starts", .number(64)),
          ]))
      let f = try #require(r.objective)
      #expect(close(f, expected, abs: 1e-6, rel: 1e-6), "\(name), \(precision): \(f)")
      #expect(try #require(r.objectiveDiscrepancy) <= 1e-12 * (1 + abs(f)), "\(name)")
      // With output rows the penalty keeps the passes in double.
      let rows = p.hasOutputConstraints
      #expect(
        r.statistics.first { $0.0 == "lane_precision" }?.1
          == .string(rows ? "double" : precision), "\(name)")
    }
  }

  /// The pattern hash behind `regions_visited` tells patterns apart: the 1024 patterns of 10
  /// neurons, and a pattern of 130 neurons (three words, the last partial) with each one sign
  /// flipped, give distinct hashes; the same signs give the same hash.
  @Test func patternHashTellsPatternsApart() {
    func hash(_ signs: [Bool]) -> Int {
      var h = PatternHash()
      for s in signs { h.add(s) }
      return h.value
    }
    let short = (0..<1024).map { k in hash((0..<10).map { k >> $0 & 1 == 1 }) }
    #expect(Set(short).count == 1024)
    var rng = Xoshiro256(seed: 3)
    let base = (0..<130).map { _ in rng.unit() < 0.5 }
    var flipped = [hash(base)]
    for i in 0..<130 {
      var p = base
      p[i].toggle()
      flipped.append(hash(p))
    }
    #expect(Set(flipped).count == 131)
    #expect(hash(base) == hash(base))
  }

  /// Single-precision lanes evaluate their best point in double every `recordEvery` rounds and
  /// when their loop ends: a run shorter than that (4 starts of at most 3 iterations, 3 rounds)
  /// still keeps the best lane point, and its claimed value is the final check's forward pass.
  @Test func singleLanesKeepTheirLastRoundsBestPoint() throws {
    for (name, variant) in [("ppga", Method.ppga), ("ppga_lr", .ppga_lr)] {
      let p = LimitsTests.problem(LimitsTests.randomNetwork([4, 16, 16, 1], seed: 9)) {
        $0.method = variant
        $0.lanePrecision = .single
        $0.starts = 4
        $0.workers = 1
        $0.maxIterations = 3
        $0.regionPolish = false
      }
      #expect(3 < GradientRun.recordEvery)
      let r = Solver.solve(p, SolveContext(timeLimit: 30))
      #expect(r.statistics.first { $0.0 == "lane_precision" }?.1 == .string("single"), "\(name)")
      let f = try #require(r.objective, "\(name): no point")
      #expect(try #require(r.objectiveDiscrepancy) <= 1e-12 * (1 + abs(f)), "\(name)")
    }
  }

  /// A network whose weights single precision cannot hold (first-layer weights and every bias
  /// scaled by 1e40, beyond `Float`'s range, so the objective scales by 1e40) runs in double
  /// although single is asked for, and still reaches the scaled enumerated optimum.
  @Test func singlePrecisionFallsBackToDoubleWhereItWouldOverflow() throws {
    let name = "max_2_8_1.rmod"
    let expected = try #require(OptFixtures.expectedOptimum(name))
    var p = try #require(
      Fixtures.problem(
        Fixtures.path("opt/" + name),
        overrides: [("method", .identifier("ppga")), ("starts", .number(64))]))
    let s = 1e40
    for l in p.network.layers.indices {
      p.network.layers[l].bias = p.network.layers[l].bias.map { $0 * s }
      if l == 0 { p.network.layers[0].weights = p.network.layers[0].weights.map { $0 * s } }
    }
    let r = Solver.solve(p, SolveContext(timeLimit: p.options.timeLimit))
    #expect(r.statistics.first { $0.0 == "lane_precision" }?.1 == .string("double"))
    let f = try #require(r.objective)
    #expect(close(f, expected * s, abs: 0, rel: 1e-6), "\(f) vs \(expected * s)")
  }

  /// Batched PPGA (lanes in lockstep) and one-start-at-a-time PPGA both reach the enumerated
  /// optimum, and the batched run reports its lanes.
  @Test(arguments: [1, 7, 64])
  func ppgaReachesTheOptimumAtEveryBatchSize(_ batch: Int) throws {
    for name in OptFixtures.optimal {
      let expected = try #require(OptFixtures.expectedOptimum(name))
      let (_, r) = try #require(
        OptFixtures.solve(
          name,
          [
            ("method", .identifier("ppga")), ("batch", .number(Double(batch))),
            ("starts", .number(64)),
          ]))
      let f = try #require(r.objective)
      #expect(
        close(f, expected, abs: 1e-6, rel: 1e-6), "\(name), batch \(batch): \(f) vs \(expected)")
      #expect(try #require(r.maxViolation) <= 1e-9)
      let lanes = r.statistics.first { $0.0 == "lanes" }?.1
      #expect(
        lanes == (batch == 1 ? nil : .int(2 * min(batch, 32))),
        "\(name): \(String(describing: lanes))")
    }
  }
}

@Suite struct HighsSolverTests {
  /// HiGHS refuses a row coefficient of 1e15 or more (its log is off): the error says so, with
  /// the magnitude, instead of only "addRow failed"; a row below the limit is accepted.
  @Test func aCoefficientBeyondHiGHSsLimitIsNamed() throws {
    let s = HighsSolver()
    try s.addColumn(lower: 0, upper: 1)
    try s.addRow(lower: -1, upper: 1, indices: [0], values: [1e14])
    do {
      try s.addRow(lower: -1, upper: 1, indices: [0], values: [2e16])
      Issue.record("HiGHS accepted a coefficient of 2e16")
    } catch {
      #expect(error.reason?.contains("2e+16") == true, "\(error)")
      #expect(error.reason?.contains("(1e15)") == true, "\(error)")
    }
    var batch = RowBatch()
    batch.beginRow(lower: -1, upper: 1)
    batch.add(0, -1e300)
    #expect(throws: HighsError.self) { try s.addRows(batch) }
    #expect(s.rowCount == 1)
  }

  /// HiGHS compares `time_limit` with an instance's cumulative run time: after many LPs a plain
  /// limit stops the next run at once, `setTimeLimit` gives it the time asked for.
  @Test func timeLimitCountsFromTheNextRun() throws {
    let s = HighsSolver()
    let n = 60
    var rng = Xoshiro256(seed: 3)
    for _ in 0..<n { _ = try s.addColumn(lower: 0, upper: 1) }
    for _ in 0..<n {
      let values = (0..<n).map { _ in rng.unit() }
      try s.addRow(
        lower: -s.infinity, upper: 10, indices: (0..<n).map { Int32($0) }, values: values)
    }
    try s.setMaximize(true)
    var runs = 0
    while s.runSeconds < 0.2 {
      try s.setCosts((0..<n).map { _ in rng.unit() - 0.3 })
      #expect(try s.run() == .optimal)
      runs += 1
    }
    try s.setCosts((0..<n).map { _ in rng.unit() })
    try s.set("time_limit", 0.1)
    #expect(try s.run() == .timeLimit, "the pitfall this guards against")
    try s.setTimeLimit(0.1)
    #expect(try s.run() == .optimal, "after \(runs) runs")
  }
}

extension HighsSolverTests {
  /// A covering LP: minimize c.x with A x >= 5, 0 <= x <= 1 (random positive data).
  static func coveringLP() throws -> HighsSolver {
    let s = HighsSolver()
    let n = 40
    var rng = Xoshiro256(seed: 5)
    for _ in 0..<n { _ = try s.addColumn(lower: 0, upper: 1) }
    for _ in 0..<30 {
      let values = (0..<n).map { _ in rng.unit() }
      try s.addRow(lower: 5, upper: s.infinity, indices: (0..<n).map { Int32($0) }, values: values)
    }
    try s.setCosts((0..<n).map { _ in rng.unit() })
    return s
  }

  /// HiGHS's `objective_bound` stops the dual simplex of a minimization once its dual objective
  /// passes the bound (the tree closes nodes below the incumbent this way), and changes nothing
  /// when the optimum is below it.
  @Test func objectiveBoundStopsAMinimization() throws {
    let reference = try Self.coveringLP()
    #expect(try reference.run() == .optimal)
    let optimum = reference.objectiveValue
    let above = try Self.coveringLP()
    try above.set("objective_bound", optimum + 0.1)
    #expect(try above.run() == .optimal)
    #expect(abs(above.objectiveValue - optimum) <= 1e-9)
    let below = try Self.coveringLP()
    try below.set("objective_bound", optimum - 0.1)
    #expect(try below.run() == .objectiveBound)
  }
}

extension HighsSolverTests {
  /// A saved optimal basis, restored after other solves, makes the next run start at the optimum
  /// (no simplex iteration); a basis that does not fit the model is refused and changes nothing.
  @Test func aRestoredBasisRestartsAtTheOptimum() throws {
    let s = try Self.coveringLP()
    #expect(s.basis() == nil, "no basis before a run")
    #expect(try s.run() == .optimal)
    let optimum = s.objectiveValue
    let saved = try #require(s.basis())
    #expect(saved.columns.count == s.columnCount && saved.rows.count == s.rowCount)
    // Move away: fix a few columns, solve, free them again.
    for j in 0..<8 { try s.setColumnBounds(j, lower: 1, upper: 1) }
    #expect(try s.run() == .optimal)
    for j in 0..<8 { try s.setColumnBounds(j, lower: 0, upper: 1) }
    #expect(s.setBasis(saved))
    #expect(try s.run() == .optimal)
    #expect(s.intInfo("simplex_iteration_count") == 0)
    #expect(abs(s.objectiveValue - optimum) <= 1e-9)
    var wrong = saved
    wrong.rows.removeLast()
    #expect(!s.setBasis(wrong))
  }
}

/// `reluc export`: the written MILP, read back by HiGHS, has the enumerated optimum and the
/// model's names.
@Suite struct ExportTests {
  @Test(arguments: OptFixtures.optimal, [".mps", ".lp"])
  func exportedMILPHasTheOptimumAndTheNames(_ name: String, _ ext: String) throws {
    let problem = try #require(Fixtures.problem(Fixtures.path("opt/" + name)))
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let dir = NSTemporaryDirectory() + "reluc-export-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/m" + ext
    try MILPBackend.export(problem, to: path)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains("\(problem.network.inputName)_0"))
    #expect(text.contains("_a_0"))
    for row in problem.polytope.rowNames.prefix(1) {
      let stem = String(row.prefix { $0.isLetter || $0.isNumber })
      #expect(text.contains(stem + "_"), "row \(row)")
    }
    let s = HighsSolver()
    try s.setLogging(false)
    try s.readModel(path)
    try s.set("mip_rel_gap", 1e-9)
    #expect(try s.run() == .optimal)
    #expect(
      close(s.objectiveValue, expected, abs: 1e-6, rel: 1e-6), "\(s.objectiveValue) vs \(expected)")
  }
}
