import Foundation
import RelucBase
import RelucIR
import Testing

@testable import Reluc

/// Models with constraints on outputs and hidden values and with two networks
/// (Fixtures/constrained/make_fixtures.py): their optima by enumeration of every network's
/// activation patterns with scipy, and every row's left side at sample points by numpy forward
/// passes. Nothing here is computed by reluc's own code.
enum ConstrainedFixtures {
  static let models = Fixtures.files("constrained", ext: "rmod")

  struct Expected {
    var optimum: Double?
    var points: [(x: [Double], lhs: [Double], rhs: [Double])]
  }

  static let expected: [String: Expected] = {
    let data = Fixtures.read(Fixtures.path("constrained/expected.json"))
    guard let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
    else { return [:] }
    var out: [String: Expected] = [:]
    for (name, value) in object {
      guard let v = value as? [String: Any] else { continue }
      let points = (v["points"] as? [[String: Any]] ?? []).map {
        (
          x: $0["x"] as? [Double] ?? [], lhs: $0["lhs"] as? [Double] ?? [],
          rhs: $0["rhs"] as? [Double] ?? []
        )
      }
      out[name] = Expected(optimum: v["optimum"] as? Double, points: points)
    }
    return out
  }()

  static func problem(_ name: String, _ overrides: [(String, OptionValue)] = []) -> Problem? {
    Fixtures.problem(Fixtures.path("constrained/" + name), overrides: overrides)
  }

  static func stem(_ name: String) -> String { String(name.dropLast(".rmod".count)) }
}

@Suite struct ConstrainedModelTests {
  @Test func fixturesExist() {
    #expect(ConstrainedFixtures.models.count >= 6)
    #expect(ConstrainedFixtures.expected.count == ConstrainedFixtures.models.count)
  }

  /// Lowering: every row's left side at sample points equals numpy's forward passes through the
  /// separate networks (so the combined network, the passthroughs, the slices, the hidden values
  /// and the row signs are right).
  @Test(arguments: ConstrainedFixtures.models)
  func rowsMatchForwardPasses(_ name: String) throws {
    let p = try #require(ConstrainedFixtures.problem(name))
    let e = try #require(ConstrainedFixtures.expected[ConstrainedFixtures.stem(name)])
    for point in e.points {
      let y = p.network.evaluate(point.x)
      // A row of the model may become an input row (a first-layer pre-activation is affine in
      // x) and constants move to the right side: compare every row's lhs - rhs, as multisets.
      let rows = p.rowChecks(x: point.x, y: y)
      let actual = rows.map { $0.lhs - $0.rhs }.sorted()
      let wanted = zip(point.lhs, point.rhs).map { $0 - $1 }.sorted()
      #expect(actual.count == wanted.count, "\(name)")
      for (a, w) in zip(actual, wanted) {
        #expect(close(a, w, abs: 1e-12, rel: 1e-12), "\(name): \(a) vs \(w)")
      }
    }
  }

  /// Two networks of different depths over shared inputs: the compiled network's outputs are the
  /// two networks' own forward passes (`independentPass`) at points inside the domain and
  /// outside it, below the lower bounds too (a differential test found `reluc eval` at x = 0,
  /// below the bound 1, reporting the shallower network at x = 1: its inputs were carried as
  /// relu(x - lower) alone).
  @Test func combinedNetworkIsExactOutsideTheDomain() throws {
    var rng = Xoshiro256(seed: 17)
    let deep = Network(layers: [
      .random(3, 6, .relu, &rng), .random(6, 5, .relu, &rng), .random(5, 2, .linear, &rng),
    ])
    let shallow = Network(layers: [.random(3, 4, .relu, &rng), .random(4, 1, .linear, &rng)])
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "reluc-depths-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for (name, net) in [("deep", deep), ("shallow", shallow)] {
      try NetworkWriter.xml(net).write(
        toFile: dir.appendingPathComponent(name + ".xml").path, atomically: true, encoding: .utf8)
    }
    let model = dir.appendingPathComponent("m.rmod").path
    let text = "network \"deep.xml\"\nnetwork s \"shallow.xml\"\n"
    try (text + "maximize y[0] + s.y[0]\nconstraint 1 <= x <= 2\n")
      .write(toFile: model, atomically: true, encoding: .utf8)
    let p = try #require(Compiler.compile(path: model).problem)
    #expect(p.network.layers.count == 3)
    for x in [[1.5, 1.2, 1.9], [1, 1, 1], [0, 0, 0], [-3, 1.5, 4], [5, -2, 0.5]] {
      let expected = independentPass(deep, x).outputs + independentPass(shallow, x).outputs
      let got = p.evaluate(x).outputs
      #expect(got.count == 3)
      for (a, b) in zip(got, expected) { #expect(close(a, b, abs: 1e-12, rel: 1e-12), "\(x)") }
    }
  }

  /// An output row that interval bounds prove can never hold is a warning at its constraint
  /// (the numbers: the network's outputs are bounded by the sum of |weights| plus |bias| over the
  /// box, far below 1000).
  @Test func constraintThatCanNeverHoldIsAWarning() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "reluc-never-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.copyItem(
      atPath: Fixtures.path("constrained/outputs_tight.xml"),
      toPath: dir.appendingPathComponent("n.xml").path)
    let model = dir.appendingPathComponent("m.rmod").path
    try "network \"n.xml\"\nmaximize y[0]\nconstraint -1 <= x <= 1\nconstraint far: y[1] >= 1000\nconstraint near: y[1] >= -1000\n"
      .write(toFile: model, atomically: true, encoding: .utf8)
    let c = Compiler.compile(path: model)
    #expect(c.problem != nil)
    let warnings = c.diagnostics.all.filter { $0.id == "constraint-never-holds" }
    #expect(warnings.count == 1)
    #expect(warnings.first?.message.contains("'far'") == true)
    let r = try #require(warnings.first?.location?.range)
    let file = try #require(c.sources.file(model))
    #expect(file.text(r).hasPrefix("constraint far"))
  }

  /// A model without hidden values or a second network is lowered to its network unchanged.
  @Test func oneNetworkIsNotRewritten() throws {
    let p = try #require(ConstrainedFixtures.problem("outputs_tight.rmod"))
    #expect(p.network.layers.count == 3)
    #expect(p.network.outputSize == 2)
    #expect(p.outputGroups.map(\.name) == ["y"])
  }

  /// The exact MILP (reluc's tree and HiGHS's) reaches the enumerated optimum, or proves
  /// infeasibility where the enumeration found no feasible pattern.
  @Test(arguments: ConstrainedFixtures.models, ["all", "root"])
  func milpMatchesEnumeration(_ name: String, _ cuts: String) throws {
    let e = try #require(ConstrainedFixtures.expected[ConstrainedFixtures.stem(name)])
    let p = try #require(
      ConstrainedFixtures.problem(
        name, [("method", .identifier("milp")), ("cuts", .identifier(cuts))]))
    let r = Solver.solve(p, SolveContext(timeLimit: 60))
    guard let expected = e.optimum else {
      #expect(r.status == .infeasible, "\(name): \(r.status)")
      #expect(r.point == nil)
      return
    }
    #expect(r.status == .optimal, "\(name): \(r.status) \(r.message ?? "")")
    let f = try #require(r.objective)
    #expect(close(f, expected, abs: 1e-6, rel: 0), "\(name) cuts=\(cuts): \(f) vs \(expected)")
  }

  /// Every heuristic returns a point that passes the final check (forward pass, every row), or
  /// says that it found none; never `infeasible` (that needs a proof).
  @Test(arguments: ["gradient_walk", "ppga", "ppga_lr", "lp_walk", "milp_walk", "auto"])
  func heuristicsReturnFeasiblePointsOrNone(_ method: String) throws {
    for name in ConstrainedFixtures.models {
      let e = try #require(ConstrainedFixtures.expected[ConstrainedFixtures.stem(name)])
      let p = try #require(
        ConstrainedFixtures.problem(
          name, [("method", .identifier(method)), ("starts", .number(8))]))
      let r = Solver.solve(p, SolveContext(timeLimit: 2))
      #expect(r.status != .checkFailed, "\(method) on \(name): \(r.message ?? "")")
      if r.point != nil {
        #expect(r.maxViolation ?? .infinity <= p.options.feasibilityTolerance, "\(method) \(name)")
        if let f = r.objective, let best = e.optimum {
          // Never better than the optimum (the check would have caught an infeasible point).
          let s = p.objective.sign
          #expect(s * f <= s * best + 1e-6, "\(method) on \(name): \(f) beats \(best)")
        }
      } else if method != "auto" {
        #expect(
          [SolveStatus.noFeasiblePoint, .infeasible].contains(r.status),
          "\(method) on \(name): \(r.status)")
      }
      if e.optimum == nil { #expect(r.point == nil, "\(method) on \(name)") }
      if r.status == .infeasible {
        // Only a method that runs the exact MILP may prove it.
        #expect(["milp_walk", "auto"].contains(method) && e.optimum == nil, "\(method) on \(name)")
      }
    }
  }
}
