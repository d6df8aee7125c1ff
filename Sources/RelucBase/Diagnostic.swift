/// How serious a diagnostic is.
public enum Severity: String, Sendable, Equatable, Codable {
  case error, warning, note
}

/// Where a diagnostic points: a byte range in a loaded source file, or a line and column in a
/// file that is not kept in memory (a network file), or nowhere in particular (a file as a whole).
public struct DiagnosticLocation: Sendable, Equatable {
  /// The file's path as shown to the user.
  public var path: String
  /// The byte range, when the file is a loaded `SourceFile`.
  public var range: SourceRange?
  /// The line and column, when known without a byte range.
  public var lineColumn: LineColumn?

  /// A location at a byte range of a loaded file.
  public static func range(_ path: String, _ range: SourceRange) -> DiagnosticLocation {
    DiagnosticLocation(path: path, range: range, lineColumn: nil)
  }

  /// A location at a line and column of a file that is not loaded.
  public static func at(_ path: String, line: Int, column: Int) -> DiagnosticLocation {
    DiagnosticLocation(path: path, range: nil, lineColumn: LineColumn(line: line, column: column))
  }

  /// A file as a whole.
  public static func file(_ path: String) -> DiagnosticLocation {
    DiagnosticLocation(path: path, range: nil, lineColumn: nil)
  }
}

/// A note attached to a diagnostic, pointing at a related place.
public struct DiagnosticNote: Sendable, Equatable {
  /// The note's text.
  public var message: String
  /// Where it points, if anywhere.
  public var location: DiagnosticLocation?

  /// Creates a note.
  public init(_ message: String, at location: DiagnosticLocation? = nil) {
    self.message = message
    self.location = location
  }
}

/// One error, warning or note produced by any stage of reluc.
public struct Diagnostic: Sendable, Equatable {
  /// Stable identifier of the message kind (see `Messages.swift`), e.g. `unknown-option`.
  public var id: String
  /// Error or warning.
  public var severity: Severity
  /// The message, one line, no trailing period.
  public var message: String
  /// Where it points.
  public var location: DiagnosticLocation?
  /// Related places.
  public var notes: [DiagnosticNote]
  /// A suggestion ("did you mean 'seed'?").
  public var help: String?
  /// The exit code an error calls for (see `RelucExit`); unused for warnings and notes.
  public var exit: RelucExit

  /// Creates a diagnostic from a declared message.
  public init(
    _ message: DiagnosticMessage, at location: DiagnosticLocation?,
    notes: [DiagnosticNote] = [], help: String? = nil
  ) {
    self.id = message.id
    self.severity = message.severity
    self.message = message.text
    self.location = location
    self.notes = notes
    self.help = help ?? message.help
    self.exit = message.exit
  }
}

/// A message kind with its stable id, severity and text. Declared once in `Messages.swift`.
public struct DiagnosticMessage: Sendable, Equatable {
  /// Stable identifier.
  public var id: String
  /// Severity.
  public var severity: Severity
  /// Text.
  public var text: String
  /// Optional fixed help text.
  public var help: String?
  /// The exit code an error of this kind calls for: 65 (bad model or network) unless declared
  /// otherwise (66 for a missing file, 64 for a bad command line, 69 for a solver failure, 74
  /// for a failed write).
  public var exit: RelucExit

  /// Creates a message.
  public init(
    _ id: String, _ severity: Severity, _ text: String, help: String? = nil,
    exit: RelucExit = .dataError
  ) {
    self.id = id
    self.severity = severity
    self.text = text
    self.help = help
    self.exit = exit
  }

  /// The same message about something given on the command line: a usage error (exit 64).
  public var onCommandLine: DiagnosticMessage {
    var m = self
    m.exit = .usage
    return m
  }
}

/// Collects diagnostics from the stages of one run.
public struct DiagnosticBag: Sendable, Equatable, Error {
  /// All diagnostics, in the order they were reported.
  public private(set) var all: [Diagnostic] = []

  /// Creates an empty bag.
  public init() {}

  /// Whether any error was reported.
  public var hasErrors: Bool { all.contains { $0.severity == .error } }

  /// The number of errors.
  public var errorCount: Int { all.filter { $0.severity == .error }.count }

  /// The exit code the errors call for (0 when there is none). When errors call for several,
  /// a usage error wins, then a missing file, then the rest in the order reported.
  public var exitCode: RelucExit {
    all.filter { $0.severity == .error }.map(\.exit).reduce(.ok, RelucExit.worse)
  }

  /// Adds a diagnostic.
  public mutating func add(_ d: Diagnostic) { all.append(d) }

  /// Adds all diagnostics of another bag.
  public mutating func add(contentsOf other: DiagnosticBag) { all.append(contentsOf: other.all) }

  /// Reports a declared message.
  public mutating func report(
    _ m: DiagnosticMessage, at location: DiagnosticLocation?, notes: [DiagnosticNote] = [],
    help: String? = nil
  ) {
    all.append(Diagnostic(m, at: location, notes: notes, help: help))
  }
}

/// Suggests the candidate closest to `name` by edit distance, if it is close enough.
public func closestMatch(to name: String, among candidates: [String]) -> String? {
  let a = Array(name.lowercased().unicodeScalars)
  var best: (String, Int)? = nil
  for c in candidates {
    let b = Array(c.lowercased().unicodeScalars)
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...max(1, a.count) where !a.isEmpty {
      cur[0] = i
      for j in 1...max(1, b.count) where !b.isEmpty {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      }
      swap(&prev, &cur)
    }
    let d = a.isEmpty ? b.count : (b.isEmpty ? a.count : prev[b.count])
    if best == nil || d < best!.1 { best = (c, d) }
  }
  guard let (c, d) = best else { return nil }
  let limit = max(1, min(3, (a.count + 2) / 3))
  return d <= limit ? c : nil
}

/// Formats a number the shortest way that reads back to the same value (`1`, `0.5`, `1e-07`).
public func formatNumber(_ d: Double) -> String {
  if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
  return "\(d)"
}
