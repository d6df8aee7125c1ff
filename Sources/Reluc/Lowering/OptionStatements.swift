import RelucBase
import RelucIR

/// `option` statements and command-line overrides: both become `OptionAssignment`s, applied in
/// one place (`SolveOptions.apply`), the model's first; a rejected one becomes a diagnostic here.
extension Lowering {
  /// The options of the model file, then `overrides` (the command line's), with diagnostics.
  mutating func lowerOptions(overrides: [OptionAssignment]) -> SolveOptions {
    var options = SolveOptions()
    var seen: [String: SourceRange] = [:]
    for s in model.statements {
      guard case .option(let name, let value, let range) = s else { continue }
      let a = OptionAssignment(
        name.name, value.value,
        origin: .model(name: name.range, value: value.range, statement: range))
      if let (_, error) = options.apply([a]).first {
        report(error, for: a)
        continue
      }
      if let prev = seen[name.name] {
        diagnostics.report(
          Messages.duplicateOption(name.name), at: loc(range),
          notes: [DiagnosticNote("first set here", at: loc(prev))])
      }
      seen[name.name] = range
    }
    for (assignment, error) in options.apply(overrides) {
      report(error, for: assignment)
    }
    return options
  }

  /// The diagnostic for a rejected assignment: at the statement in a model file, or a usage
  /// error naming the flag for the command line.
  mutating func report(_ error: OptionError, for a: OptionAssignment) {
    let message: DiagnosticMessage
    switch error {
    case .unknown(let suggestion):
      message = Messages.unknownOption(a.name, suggestion: suggestion)
    case .badValue(let expected):
      let shown: String
      if case .model(_, let value, _) = a.origin {
        shown = file.text(value)
      } else {
        shown = a.value.description
      }
      message = Messages.badOptionValue(a.name, shown, expected)
    }
    switch a.origin {
    case .model(let name, let value, _):
      let at: SourceRange
      if case .unknown = error { at = name } else { at = value }
      diagnostics.report(message, at: loc(at))
    case .commandLine(let flag):
      diagnostics.report(
        message.onCommandLine, at: nil,
        notes: [DiagnosticNote("given on the command line (\(flag))")])
    }
  }
}
