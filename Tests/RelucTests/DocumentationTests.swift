import Foundation
import RelucBase
import RelucIR
import Testing

/// The man page is kept in sync with the options.
@Suite struct DocumentationTests {
  let man = Fixtures.read(Fixtures.repository + "/man/reluc.1").replacingOccurrences(of: "\\-", with: "-")

  @Test func everyModelOptionIsInTheManPage() {
    for spec in SolveOptions.specs {
      #expect(man.contains(".B \(spec.name)\n"), "option \(spec.name) missing from man/reluc.1")
    }
  }

  @Test func everyCommandLineFlagIsInTheManPage() throws {
    let source = Fixtures.read(Fixtures.repository + "/Sources/reluc/main.swift")
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var flags: [String] = []
    for (k, line) in lines.enumerated() where (line.contains("@Option(") || line.contains("@Flag(")) {
      // The property name follows on the same or a later line: `var name`.
      for l in lines[k..<min(lines.count, k + 6)] {
        if let r = l.range(of: #"var (\w+)"#, options: .regularExpression) {
          let name = String(l[r].dropFirst(4))
          let kebab = name.reduce(into: "") { s, c in
            if c.isUppercase { s += "-" + c.lowercased() } else { s.append(c) }
          }
          flags.append(kebab)
          break
        }
      }
    }
    #expect(flags.count >= 15)
    // `-O` is spelled `set` in the source.
    for f in flags where f != "set" {
      #expect(man.contains("--" + f), "--\(f) missing from man/reluc.1")
    }
  }

  @Test func everyDiagnosticIdInTheManPageExists() {
    let messages = Fixtures.read(Fixtures.repository + "/Sources/RelucBase/Messages.swift")
    for id in ["unknown-name", "unknown-option", "digest-mismatch", "xml-dtd", "xml-row-length"] {
      #expect(messages.contains("\"\(id)\""))
      #expect(man.contains(id))
    }
  }
}
