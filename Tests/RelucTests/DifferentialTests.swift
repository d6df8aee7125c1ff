import Foundation
import Reluc
import RelucIR
import Testing

/// The models of `Fixtures/differential`: each once exposed a defect in a differential campaign
/// (random small problems against an enumeration of activation patterns with scipy); their
/// optima are that enumeration's (`make_expected.py`, `expected.json`).
enum DifferentialFixtures {
  static let models = Fixtures.files("differential", ext: "rmod")

  static let optima: [String: Double] = {
    let text = Fixtures.read(Fixtures.path("differential/expected.json"))
    guard
      let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    else { return [:] }
    return object.compactMapValues { ($0 as? [String: Any])?["optimum"] as? Double }
  }()
}

@Suite struct DifferentialTests {
  @Test func fixturesExist() {
    #expect(DifferentialFixtures.models.count == 8)
    #expect(DifferentialFixtures.optima.count == DifferentialFixtures.models.count)
  }

  /// Every exact setting ends with a point that passes the final check (never `check_failed`),
  /// no worse than the optimum by more than the gap and better only by what the feasibility
  /// tolerance allows, and a bound on the optimum. It proves the optimum (`optimal`), but for
  /// HiGHS's own tree (`cuts = root` or `none`) on networks with unstable ReLUs, which may stop
  /// within its tolerances at a bound the final point does not meet (`feasible`, as on
  /// `box_corner`, where HiGHS's dual bound is 4e-6 below the optimum). On the `stable_*`
  /// models the MILP has no binaries: HiGHS once gave no MIP bound there (0, reported as
  /// optimal with a bound on the wrong side of the objective).
  @Test(
    arguments: DifferentialFixtures.models,
    ["milp cuts=all", "milp cuts=root", "milp cuts=none", "bab", "auto"])
  func exactMethodsMatchTheEnumeration(_ name: String, _ setting: String) throws {
    let stem = String(name.dropLast(".rmod".count))
    let expected = try #require(DifferentialFixtures.optima[stem])
    let words = setting.split(separator: " ").map(String.init)
    var overrides: [(String, OptionValue)] = [("method", .identifier(words[0]))]
    if words.count > 1 { overrides.append(("cuts", .identifier(String(words[1].dropFirst(5))))) }
    let path = Fixtures.path("differential/" + name)
    let p = try #require(Fixtures.problem(path, overrides: overrides))
    let r = Solver.solve(p, SolveContext(timeLimit: 30))
    let highsTree = words.count > 1 && words[1] != "cuts=all"
    if highsTree && !stem.hasPrefix("stable") {
      #expect(r.status == .optimal || r.status == .feasible, "\(stem) \(setting): \(r.status)")
    } else {
      #expect(r.status == .optimal, "\(stem) \(setting): \(r.status) \(r.message ?? "")")
    }
    let f = try #require(r.objective, "\(stem) \(setting): \(r.status) \(r.message ?? "")")
    #expect((r.maxViolation ?? .infinity) <= p.options.feasibilityTolerance)
    let s = p.objective.sign
    let scale = 1 + abs(expected)
    #expect(s * f >= s * expected - 3e-6 * scale, "\(stem) \(setting): \(f) vs \(expected)")
    #expect(s * f <= s * expected + 1e-5 * scale, "\(stem) \(setting): \(f) vs \(expected)")
    // The point reported is the best any member found: the trace (every improvement of the
    // shared incumbent) ends at its value (on `milp_beside`, `auto` once reported the MILP's
    // point below a point of PPGA's in the trace).
    let last = try #require(r.trace.last, "\(stem) \(setting): no trace")
    #expect(
      s * last.objective <= s * f + 1e-9 * scale, "\(stem) \(setting): trace \(last) vs \(f)")
    let b = try #require(r.bound, "\(stem) \(setting): no bound")
    #expect(s * b >= s * expected - 1e-9 * scale, "\(stem) \(setting): bound \(b) vs \(expected)")
  }
}
