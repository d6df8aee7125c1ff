import Foundation
import Reluc
import RelucBase
import RelucIR
import Testing

/// Renders a compilation's diagnostics as the CLI does (no colour), with fixture paths made
/// relative so the golden files do not depend on where the repository is.
func renderedDiagnostics(_ path: String) -> String {
  let c = Compiler.compile(path: path)
  let text = DiagnosticRenderer(sources: c.sources, color: false).render(c.diagnostics)
  return text.replacingOccurrences(of: Fixtures.root + "/", with: "")
    + "exit: \(c.exitCode.rawValue)\n"
}

@Suite struct DiagnosticsGoldenTests {
  static let broken = Fixtures.files("broken", ext: "rmod")

  @Test func corpusIsLarge() {
    #expect(Self.broken.count >= 30)
  }

  /// Golden files: re-record with RELUC_RECORD=1 swift test.
  @Test(arguments: broken)
  func brokenModelIsRejected(_ name: String) throws {
    let path = Fixtures.path("broken/" + name)
    let c = Compiler.compile(path: path)
    #expect(c.diagnostics.hasErrors, "\(name) should be rejected")
    #expect(c.problem == nil)
    #expect(c.exitCode != .ok)
    let actual = renderedDiagnostics(path)
    let golden = path.replacingOccurrences(of: ".rmod", with: ".expected")
    if ProcessInfo.processInfo.environment["RELUC_RECORD"] == "1" {
      try actual.write(toFile: golden, atomically: true, encoding: .utf8)
    }
    #expect(actual == Fixtures.read(golden))
    // Every error points at a file (most at a line and column).
    for d in c.diagnostics.all where d.severity == .error {
      #expect(d.location != nil, "\(d.id) has no location")
    }
  }

  @Test func jsonDiagnosticsHaveLocations() throws {
    let c = Compiler.compile(path: Fixtures.path("broken/unknown_option.rmod"))
    let r = DiagnosticRenderer(sources: c.sources)
    let json = JSON.array(c.diagnostics.all.map(r.json)).rendered()
    let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
    let first = try #require(parsed?.first)
    #expect(first["id"] as? String == "unknown-option")
    #expect(first["help"] as? String == "did you mean 'seed'?")
    let loc = try #require(first["location"] as? [String: Any])
    #expect(loc["line"] as? Int == 4)
    #expect(loc["column"] as? Int == 8)
  }

  @Test func parserRecoversAndReportsSeveralErrors() {
    let c = Compiler.compile(path: Fixtures.path("broken/several_errors.rmod"))
    #expect(c.diagnostics.errorCount >= 3)
  }
}
