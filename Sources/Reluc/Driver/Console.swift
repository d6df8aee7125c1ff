import RelucBase
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

/// When diagnostics are coloured.
public enum ColorChoice: String, Sendable, CaseIterable {
  case auto, always, never
}

/// Where a command's words go: results to standard output or a file, diagnostics to standard
/// error as text or JSON. Every error of every command leaves through `report`, with the exit
/// code its message declares; every write is checked (exit 74 when it fails).
public struct Console: Sendable {
  /// Whether diagnostics are coloured.
  public var color: Bool
  /// Text or JSON diagnostics.
  public var format: DiagnosticFormat

  /// A console; `auto` colours when standard error is a terminal and `NO_COLOR` is unset.
  public init(color: ColorChoice = .auto, format: DiagnosticFormat = .text) {
    switch color {
    case .always: self.color = true
    case .never: self.color = false
    case .auto: self.color = isatty(2) == 1 && getenv("NO_COLOR") == nil
    }
    self.format = format
  }

  /// Writes raw text to standard error (progress lines, `fmt --check` notices).
  public func stderr(_ text: String) {
    var s = text
    s.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
  }

  /// Prints diagnostics (with `alwaysJSON`, an empty JSON array too) and returns the exit code
  /// they call for.
  @discardableResult
  public func report(
    _ diagnostics: DiagnosticBag, sources: SourceManager = SourceManager(), alwaysJSON: Bool = false
  ) -> RelucExit {
    let renderer = DiagnosticRenderer(sources: sources, color: color)
    if format == .json {
      if alwaysJSON || !diagnostics.all.isEmpty {
        stderr(JSON.array(diagnostics.all.map(renderer.json)).rendered() + "\n")
      }
    } else {
      stderr(renderer.render(diagnostics))
    }
    return diagnostics.exitCode
  }

  /// Prints a compilation's diagnostics and returns the exit code they call for.
  @discardableResult
  public func report(_ c: Compilation, alwaysJSON: Bool = false) -> RelucExit {
    report(c.diagnostics, sources: c.sources, alwaysJSON: alwaysJSON)
  }

  /// Reports one message and returns its exit code.
  @discardableResult
  public func report(
    _ message: DiagnosticMessage, at location: DiagnosticLocation? = nil, help: String? = nil
  ) -> RelucExit {
    var bag = DiagnosticBag()
    bag.report(message, at: location, help: help)
    return report(bag)
  }

  /// When `path` names one of `inputs`, reports `would-overwrite-input` and returns its exit
  /// code; nil otherwise (and for standard output).
  public func refuseOverwriting(_ path: String?, inputs: [String]) -> RelucExit? {
    guard let path, let input = inputs.first(where: { sameFile($0, path) }) else { return nil }
    return report(Messages.wouldOverwriteInput(input))
  }

  /// Writes a command's result to `path` (standard output for nil), adding a final newline;
  /// refuses to write over any of `inputs`. Returns 0, or the exit code of the failure (after
  /// reporting it).
  public func emit(_ text: String, to path: String?, inputs: [String] = []) -> RelucExit {
    if let refused = refuseOverwriting(path, inputs: inputs) { return refused }
    let body = text.hasSuffix("\n") || text.isEmpty ? text : text + "\n"
    if let reason = writeChecked(Array(body.utf8), to: path) {
      return report(Messages.cannotWrite(path ?? "standard output", reason))
    }
    return .ok
  }
}
