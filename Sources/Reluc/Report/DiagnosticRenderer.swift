import RelucBase
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

/// Holds the source files of a run, so diagnostics can show the lines they point at.
public struct SourceManager: Sendable {
  private var files: [String: SourceFile] = [:]
  private var raw: [String: [UInt8]] = [:]

  /// Creates an empty manager.
  public init() {}

  /// Registers a loaded file.
  public mutating func add(_ f: SourceFile) { files[f.path] = f }

  /// Registers the bytes of a file whose diagnostics carry a line and column (a network file),
  /// so its lines are shown without reading it again.
  public mutating func attach(path: String, bytes: [UInt8]) { raw[path] = bytes }

  /// Adds the files of another manager (for one report over several models).
  public mutating func add(contentsOf other: SourceManager) {
    files.merge(other.files) { a, _ in a }
    raw.merge(other.raw) { a, _ in a }
  }

  /// The loaded file at a path.
  public func file(_ path: String) -> SourceFile? { files[path] }

  /// Line, column and source text of a location.
  func resolve(_ l: DiagnosticLocation) -> (LineColumn, String, Int)? {
    if let r = l.range, let f = files[l.path] {
      let start = f.position(of: r.start)
      let end = f.position(of: r.end)
      let width = end.line == start.line ? max(1, end.column - start.column) : 1
      return (start, f.lineText(start.line), width)
    }
    if let lc = l.lineColumn {
      return (lc, raw[l.path].flatMap { Self.line(lc.line, of: $0) } ?? "", 1)
    }
    return nil
  }

  /// One line of a file's bytes (cut at 400 bytes).
  static func line(_ line: Int, of bytes: [UInt8]) -> String? {
    guard var range = lineRange(line, in: bytes) else { return nil }
    if !range.isEmpty, bytes[range.upperBound - 1] == 13 { range = range.dropLast() }
    return String(decoding: bytes[range.prefix(400)], as: UTF8.self)
  }
}

/// How diagnostics are printed.
public enum DiagnosticFormat: String, Sendable, CaseIterable {
  case text, json
}

/// Renders diagnostics like a compiler: `file:line:col: error: message`, the source line, a caret
/// and tildes under the range, then notes and help. Colour only when asked (on a terminal).
public struct DiagnosticRenderer: Sendable {
  /// The files.
  public var sources: SourceManager
  /// Whether to use ANSI colours.
  public var color: Bool

  /// Creates a renderer.
  public init(sources: SourceManager, color: Bool = false) {
    self.sources = sources
    self.color = color
  }

  private func paint(_ s: String, _ code: String) -> String {
    color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
  }

  private func label(_ sev: Severity) -> String {
    switch sev {
    case .error: return paint("error", "1;31")
    case .warning: return paint("warning", "1;35")
    case .note: return paint("note", "1;36")
    }
  }

  private func header(_ l: DiagnosticLocation?) -> (String, (LineColumn, String, Int)?) {
    guard let l else { return ("reluc: ", nil) }
    if let r = sources.resolve(l) {
      return ("\(l.path):\(r.0.line):\(r.0.column): ", r)
    }
    return ("\(l.path): ", nil)
  }

  private func excerpt(_ r: (LineColumn, String, Int)?) -> String {
    guard let (lc, text, width) = r, !text.isEmpty else { return "" }
    let number = String(lc.line)
    let gutter = String(repeating: " ", count: number.count)
    // Control and invisible characters escaped, a long line clipped around the caret.
    let (shown, marker) = DisplayText.excerpt(text, column: lc.column, width: width)
    let caret = "^" + String(repeating: "~", count: max(0, marker.length - 1))
    return " \(number) | \(shown)\n \(gutter) | \(marker.prefix)\(paint(caret, "1;32"))\n"
  }

  /// One diagnostic as text (several lines, ending with a newline). The texts and source lines
  /// shown have their control and invisible characters escaped (`DisplayText`).
  public func render(_ d: Diagnostic) -> String {
    let (h, r) = header(d.location)
    var out =
      paint(DisplayText.sanitize(h), "1") + label(d.severity) + ": "
      + paint(DisplayText.sanitize(d.message), "1") + "\n"
    out += excerpt(r)
    for n in d.notes {
      let (nh, nr) = header(n.location)
      out +=
        paint(DisplayText.sanitize(nh), "1") + label(.note) + ": " + DisplayText.sanitize(n.message)
        + "\n" + excerpt(nr)
    }
    if let help = d.help { out += "  = help: \(DisplayText.sanitize(help))\n" }
    return out
  }

  /// All diagnostics as text, with a summary line when there were errors.
  public func render(_ bag: DiagnosticBag) -> String {
    var out = bag.all.map(render).joined()
    let e = bag.errorCount
    let w = bag.all.filter { $0.severity == .warning }.count
    if e > 0 {
      out += "\(e) error\(e == 1 ? "" : "s")"
      out += w > 0 ? " and \(w) warning\(w == 1 ? "" : "s") generated\n" : " generated\n"
    }
    return out
  }

  func locationJSON(_ l: DiagnosticLocation?) -> JSON {
    guard let l else { return .null }
    var fields: [(String, JSON)] = [("file", .string(l.path))]
    if let r = sources.resolve(l) {
      fields.append(("line", .int(r.0.line)))
      fields.append(("column", .int(r.0.column)))
      if let range = l.range, let f = sources.file(l.path) {
        let end = f.position(of: range.end)
        fields.append(("endLine", .int(end.line)))
        fields.append(("endColumn", .int(end.column)))
      }
    }
    return .object(fields)
  }

  /// One diagnostic as a JSON object (schema in man/reluc.1, DIAGNOSTICS). Its texts are the
  /// same as in the text rendering (control and invisible characters escaped); file paths are
  /// given as they are (JSON escaping makes them safe).
  public func json(_ d: Diagnostic) -> JSON {
    .object([
      ("id", .string(d.id)),
      ("severity", .string(d.severity.rawValue)),
      ("message", .string(DisplayText.sanitize(d.message))),
      ("location", locationJSON(d.location)),
      (
        "notes",
        .array(
          d.notes.map {
            .object([
              ("message", .string(DisplayText.sanitize($0.message))),
              ("location", locationJSON($0.location)),
            ])
          })
      ),
      ("help", d.help.map { .string(DisplayText.sanitize($0)) } ?? .null),
    ])
  }
}
