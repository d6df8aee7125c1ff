import Foundation
import RelucBase
import RelucIR
import Testing

@testable import Reluc

/// Issue 19, "wrong or failed answers": the fixtures in Fixtures/answers (make_fixtures.py: the
/// polytopes' rows pass through a known interior point, scipy's LP confirms them non-empty; the
/// 1e-8-empty box and the overflowing coefficient by construction).
enum AnswerFixtures {
  static func problem(_ name: String, _ overrides: [(String, OptionValue)] = []) -> Problem? {
    Fixtures.problem(Fixtures.path("answers/" + name), overrides: overrides)
  }

  /// The largest violation of the rows and bounds at x, computed here (not by `Polytope`).
  static func violation(_ p: Polytope, _ x: [Double]) -> Double {
    var worst = 0.0
    for j in 0..<p.dimension { worst = max(worst, p.lower[j] - x[j], x[j] - p.upper[j]) }
    for r in 0..<p.rowCount {
      var s = -p.rhs[r]
      for j in 0..<p.dimension { s += p.matrix[r * p.dimension + j] * x[j] }
      worst = max(worst, s)
    }
    return worst
  }

  static let methods: [Method] = [
    .gradient_walk, .ppga, .ppga_lr, .lp_walk, .milp_walk, .milp, .bab, .auto,
  ]
}

@Suite struct AnswerTests {
  /// Every method, on 300 and 1,000 rows over a 10-100-100-1 network, reports a point the final
  /// check accepts (re-checked here) or no point with a message; never `check_failed`.
  @Test(arguments: ["rows_300.rmod", "rows_1000.rmod"], AnswerFixtures.methods)
  func manyRowsGiveAdmissiblePointsOrNone(_ name: String, _ method: Method) throws {
    let p = try #require(
      AnswerFixtures.problem(
        name,
        [
          ("method", .identifier(method.rawValue)), ("time_limit", .number(1)),
          ("starts", .number(4)),
        ]))
    #expect(p.polytope.rowCount == (name == "rows_300.rmod" ? 300 : 1000))
    let r = Solver.solve(p, SolveContext(timeLimit: p.options.timeLimit))
    #expect(r.status != .checkFailed, "\(name) \(method): \(r.message ?? "")")
    #expect(r.status != .infeasible, "\(name) \(method): the polytope has a point")
    if let x = r.point {
      let scale = max(1, p.polytope.upper.map(abs).max() ?? 1)
      #expect(
        AnswerFixtures.violation(p.polytope, x) <= p.options.feasibilityTolerance * scale,
        "\(name) \(method)")
    } else {
      #expect(r.message != nil, "\(name) \(method): no point and no message")
    }
  }

  /// The gradient methods find a point on the 1,000 rows (the projection converges) within 5 s.
  @Test(arguments: [Method.gradient_walk, .ppga, .ppga_lr])
  func gradientMethodsFindAPointOnAThousandRows(_ method: Method) throws {
    let p = try #require(
      AnswerFixtures.problem(
        "rows_1000.rmod",
        [
          ("method", .identifier(method.rawValue)), ("time_limit", .number(5)),
          ("starts", .number(2)),
        ]))
    let r = Solver.solve(p, SolveContext(timeLimit: p.options.timeLimit))
    let x = try #require(r.point, "\(method): \(r.status) \(r.message ?? "")")
    #expect(AnswerFixtures.violation(p.polytope, x) <= 1e-7)
    #expect(r.statistics.first { $0.0 == "failed_projections" } == nil)
  }

  /// The box made empty by 1e-8 is `infeasible` for every method (before any back end runs),
  /// with no point and the message saying what HiGHS proved; also with a looser tolerance.
  @Test(arguments: AnswerFixtures.methods, [1e-7, 1e-5])
  func boxEmptyByTinyAmountIsInfeasible(_ method: Method, _ tolerance: Double) throws {
    let p = try #require(
      AnswerFixtures.problem(
        "empty_box.rmod",
        [
          ("method", .identifier(method.rawValue)), ("time_limit", .number(2)),
          ("feasibility_tolerance", .number(tolerance)),
        ]))
    let r = Solver.solve(p, SolveContext(timeLimit: p.options.timeLimit))
    #expect(r.status == .infeasible, "\(method): \(r.status)")
    #expect(r.point == nil)
    #expect(r.message?.contains("no common point") == true)
  }

  /// The emptiness LP on the fixtures: non-empty polytopes are `nonEmpty`; the 1e-8 box is
  /// `empty`, and the closest input HiGHS finds violates it by about 1e-8 / 3 (the exact least
  /// violation: the row and both upper bounds share the excess).
  @Test func emptinessDecisions() throws {
    for name in ["rows_300.rmod", "rows_1000.rmod"] {
      let p = try #require(AnswerFixtures.problem(name))
      #expect(p.polytope.emptiness(feasibilityTolerance: 1e-7) == .nonEmpty, "\(name)")
    }
    let p = try #require(AnswerFixtures.problem("empty_box.rmod"))
    guard case .empty(let tolerance, let least) = p.polytope.emptiness(feasibilityTolerance: 1e-7)
    else {
      Issue.record("the 1e-8-empty box is not proven empty")
      return
    }
    #expect(tolerance < 1e-7)
    let l = try #require(least)
    #expect(l >= 1e-8 / 3 - 1e-15 && l <= 1e-8 / 3 + 2e-10, "\(l)")
  }

  /// The active-set projection is feasible and the nearest point, (v - p) . (q - p) <= 0 for
  /// feasible q, on polytopes of 100 to 400 rows through the centre c (q: c plus small moves,
  /// feasible by the margins, and points between c and p).
  @Test func activeSetProjectionIsExactOnManyRows() throws {
    var rng = Xoshiro256(seed: 19)
    for trial in 0..<8 {
      let n = 3 + trial % 6
      let m = 100 + 50 * trial
      let c = (0..<n).map { _ in 0.3 + 0.4 * rng.unit() }
      var a: [Double] = []
      var b: [Double] = []
      for _ in 0..<m {
        let row = (0..<n).map { _ in rng.unit() * 2 - 1 }
        a += row
        var dot = 0.0
        for j in 0..<n { dot += row[j] * c[j] }
        b.append(dot + 0.05 + 0.2 * rng.unit())
      }
      let poly = Polytope(
        dimension: n, matrix: a, rhs: b, rowNames: [], lower: [Double](repeating: 0, count: n),
        upper: [Double](repeating: 1, count: n))
      for _ in 0..<10 {
        let v = (0..<n).map { _ in rng.unit() * 4 - 1.5 }
        let p = try #require(
          v.withUnsafeBufferPointer { ActiveSetProjection(poly).project($0.baseAddress!) })
        #expect(AnswerFixtures.violation(poly, p) <= 1e-10)
        var qs: [[Double]] = []
        for _ in 0..<100 {
          var q = c
          for j in 0..<n { q[j] += (rng.unit() * 2 - 1) * 0.04 / Double(n) }
          qs.append(q)
        }
        for k in 0..<20 {
          var q = c
          let s = Double(k) / 20
          for j in 0..<n { q[j] += s * (p[j] - c[j]) }
          qs.append(q)
        }
        for q in qs {
          #expect(AnswerFixtures.violation(poly, q) <= 1e-12)
          var dot = 0.0
          for j in 0..<n { dot += (v[j] - p[j]) * (q[j] - p[j]) }
          #expect(dot <= 1e-9)
        }
      }
    }
  }

  /// On the 1,000-row fixture the domain's projection always succeeds without HiGHS's QP and
  /// gives points the final check admits.
  @Test func domainProjectsOntoAThousandRows() throws {
    let p = try #require(AnswerFixtures.problem("rows_1000.rmod"))
    let domain = try Domain(p.polytope, feasibilityTolerance: p.options.feasibilityTolerance)
    var rng = Xoshiro256(seed: 3)
    for _ in 0..<30 {
      var v = (0..<10).map { _ in rng.unit() * 4 - 2 }
      #expect(v.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) })
      #expect(AnswerFixtures.violation(p.polytope, v) <= 1e-9)
    }
    #expect(domain.qpProjections == 0)
    #expect(domain.failedProjections == 0)
  }

  /// Overflowing coefficients are located errors in lowering (objective and constraints).
  @Test func nonFiniteCoefficientsAreLocatedErrors() throws {
    let c = Compiler.compile(path: Fixtures.path("answers/overflow.rmod"))
    #expect(c.problem == nil)
    let d = try #require(c.diagnostics.all.first { $0.id == "non-finite-coefficient" })
    #expect(d.severity == .error)
    let range = try #require(d.location?.range)
    // "maximize 1e400 * v[0]" on line 5: the expression starts at column 10.
    let text = Fixtures.read(Fixtures.path("answers/overflow.rmod"))
    let utf8 = Array(text.utf8)
    #expect(String(decoding: utf8[range.start..<range.end], as: UTF8.self) == "1e400 * v[0]")
  }
}

/// Through the executable: exit codes and messages.
@Suite(.serialized) struct AnswerExecutableTests {
  let binary = Fixtures.repository + "/.build/debug/reluc"

  func run(_ args: [String]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (
      p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self)
    )
  }

  @Test func overflowingLiteralIsALocatedError() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let path = Fixtures.path("answers/overflow.rmod")
    for method in ["ppga", "milp"] {
      let (code, out, err) = try run([path, "--method", method, "--time-limit", "2", "-q"])
      #expect(code == 65)
      #expect(err.contains("overflow.rmod:5:10: error"), "\(err)")
      #expect(!out.contains("nan") && !err.contains("HiGHS"))
    }
    let (code, _, err) = try run(["eval", path, "--input", "0.5,0.5"])
    #expect(code == 65)
    #expect(err.contains("overflow.rmod:5:10"))
  }

  /// A forward pass that overflows: `eval` says so (exit 65) and prints no `nan`.
  @Test func evalWithNonFiniteResultSaysSo() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let folder = NSTemporaryDirectory() + "reluc-answers-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try FileManager.default.copyItem(
      atPath: Fixtures.path("answers/net_u_2_8_1.xml"), toPath: folder + "/net_u_2_8_1.xml")
    let model = folder + "/big.rmod"
    try
      "network \"net_u_2_8_1.xml\"\nmaximize 1e300 * v[0] - 1e300 * v[0] + 1e300 * u[0]\nconstraint -1 <= u <= 1\n"
      .write(toFile: model, atomically: true, encoding: .utf8)
    let (code, out, err) = try run(["eval", model, "--input", "1e300,1e300"])
    #expect(code == 65, "\(out) \(err)")
    #expect(!out.contains("nan"))
    #expect(err.contains("not finite"))
  }

  @Test func emptyBoxIsInfeasibleThroughTheExecutable() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let (code, out, _) = try run([
      Fixtures.path("answers/empty_box.rmod"), "--method", "milp", "-q",
    ])
    #expect(code == 0)
    #expect(out.contains("status: infeasible"))
    #expect(!out.contains("optimal"))
  }
}
