import Foundation
import RelucBase
import RelucIR
import Testing

/// The man page is kept in sync with the options.
@Suite struct DocumentationTests {
  let man = Fixtures.read(Fixtures.repository + "/man/reluc.1").replacingOccurrences(
    of: "\\-", with: "-")

  @Test func everyModelOptionIsInTheManPage() {
    for spec in SolveOptions.specs {
      #expect(man.contains(".B \(spec.name)\n"), "option \(spec.name) missing from man/reluc.1")
    }
  }

  /// The man page states every option's default as the option table declares it: "(default
  /// 60)", "(default 1e-7, ...)", "(default 2/3)" or, for choices, "auto (default)".
  @Test func everyOptionsDefaultIsTheManPagesDefault() throws {
    let section = try #require(man.components(separatedBy: ".SH MODEL OPTIONS").last)
    for spec in SolveOptions.specs {
      let entry = try #require(
        section.components(separatedBy: ".TP\n.B \(spec.name)\n").dropFirst().first?
          .components(separatedBy: ".TP\n").first, "no entry for \(spec.name)")
      switch spec.defaultValue {
      case .number(let d):
        let after = try #require(
          entry.components(separatedBy: "(default ").dropFirst().first, "\(spec.name): no default")
        let token = String(after.prefix { "0123456789.e-+/".contains($0) })
        let parts = token.split(separator: "/").compactMap { Double($0) }
        let stated = parts.count == 2 ? parts[0] / parts[1] : parts.first
        #expect(stated == d, "\(spec.name): the man page says \(token), the table \(d)")
      case .identifier(let name), .string(let name):
        let flat = entry.replacingOccurrences(of: "\"", with: "").split(separator: " ")
          .joined(separator: " ")
        #expect(
          flat.contains("\(name) (default)") || flat.contains("(default \(name)"),
          "\(spec.name): the man page does not give \(name) as the default")
      }
    }
  }

  @Test func everyCommandLineFlagIsInTheManPage() throws {
    let source = Fixtures.read(Fixtures.repository + "/Sources/reluc/main.swift")
    let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var flags: [String] = []
    for (k, line) in lines.enumerated() where (line.contains("@Option(") || line.contains("@Flag("))
    {
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
