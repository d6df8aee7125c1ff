import RelucBase

/// Why an import failed: a message and, where known, a line (NNet) or node (ONNX). The command
/// reports it as the diagnostic `import-failed` (exit 65) at the file, or at the line.
public struct ImportError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The message.
  public var message: String
  /// The 1-based line of a text format, if known.
  public var line: Int?
  /// Creates an error.
  public init(_ message: String, line: Int? = nil) {
    self.message = message
    self.line = line
  }
  public var description: String { message }
}
