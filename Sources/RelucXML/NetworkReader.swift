internal import CLibXML2
import RelucBase
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

/// Reads the reluc XML network format (grammar/network.xsd) with libxml2's streaming reader.
///
/// Safe on hostile files: a document type declaration (DTD) is rejected as soon as it is seen,
/// so no entity is ever declared or expanded; entity references are rejected; no network access
/// (`XML_PARSE_NONET`); libxml2's default size limits stay on (no `XML_PARSE_HUGE`); and the
/// whole file is limited to `maxBytes`, checked before it is read (only regular files are read,
/// so a FIFO or a device cannot block or stream forever). Declared sizes are checked against the
/// bytes actually present before any allocation grows with them.
public struct NetworkReader: Sendable {
  /// The default size limit of a network file: 1 GiB.
  public static let defaultMaxBytes = 1 << 30
  /// Largest network file accepted, in bytes (`--max-network-bytes`).
  public var maxBytes: Int
  /// Largest layer width accepted.
  public static let maxWidth = 10_000_000

  /// Creates a reader with a size limit.
  public init(maxBytes: Int = NetworkReader.defaultMaxBytes) { self.maxBytes = maxBytes }

  /// Reads a network file's bytes, once: refused when it is missing, not a regular file, or
  /// larger than `maxBytes` (checked before reading). `shown` is the path diagnostics print.
  public func load(path: String, shown: String? = nil) -> Result<[UInt8], DiagnosticBag> {
    let shown = shown ?? path
    var bag = DiagnosticBag()
    switch readRegularFile(path, limit: maxBytes) {
    case .success(let bytes):
      return .success(bytes)
    case .failure(let e):
      let message = Messages.readFailure(
        e, shown, missing: Messages.networkNotFound,
        tooLarge: { Messages.networkTooLarge($0, $1, maxBytes) })
      bag.report(message, at: .file(shown))
    }
    return .failure(bag)
  }

  /// Parses and checks a network from a file's bytes. On failure returns the diagnostics (at
  /// least one error), located in `path`.
  public func parse(_ bytes: [UInt8], path: String) -> Result<Network, DiagnosticBag> {
    var bag = DiagnosticBag()
    if bytes.count > maxBytes {
      bag.report(Messages.networkTooLarge(path, bytes.count, maxBytes), at: .file(path))
      return .failure(bag)
    }
    let state = ParseState(path: path, bytes: bytes)
    state.run()
    if let d = state.failure {
      bag.add(d)
      return .failure(bag)
    }
    guard let net = state.build() else {
      bag.add(state.failure!)
      return .failure(bag)
    }
    return .success(net)
  }

  /// Reads and parses a network file (`load`, then `parse`).
  public func read(path: String, displayPath: String? = nil) -> Result<Network, DiagnosticBag> {
    load(path: path, shown: displayPath).flatMap { parse($0, path: displayPath ?? path) }
  }
}
