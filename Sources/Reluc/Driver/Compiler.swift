import RelucBase
import RelucIR
import RelucXML

#if canImport(Glibc)
  import Glibc
#endif

/// The outcome of compiling a model file: the problem (when there was no error), all diagnostics,
/// and the sources needed to render them.
public struct Compilation: Sendable {
  /// The lowered problem, nil when an error was reported.
  public var problem: Problem?
  /// Everything reported, in order.
  public var diagnostics: DiagnosticBag
  /// The loaded files.
  public var sources: SourceManager
  /// The syntax tree, when the file could be read.
  public var syntax: ModelSyntax?

  /// Creates a compilation record.
  public init(
    problem: Problem?, diagnostics: DiagnosticBag, sources: SourceManager, syntax: ModelSyntax?
  ) {
    self.problem = problem
    self.diagnostics = diagnostics
    self.sources = sources
    self.syntax = syntax
  }

  /// The exit code the diagnostics call for (0 when there is no error).
  public var exitCode: RelucExit {
    guard diagnostics.hasErrors else { return .ok }
    let missing = ["model-not-found", "network-not-found"]
    if diagnostics.all.contains(where: { $0.severity == .error && missing.contains($0.id) }) {
      return .noInput
    }
    return .dataError
  }
}

/// Reads a whole file; nil when it cannot be read or is not a regular file.
public func readFile(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
  var st = stat()
  guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= limit,
    let f = fopen(path, "rb")
  else { return nil }
  defer { fclose(f) }
  var out = [UInt8](repeating: 0, count: Int(st.st_size))
  let n = out.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
  return n == out.count ? out : nil
}

/// The front end's stages: read, lex and parse, then lower (stopping after a stage with errors).
public enum Compiler {
  /// Parses a model file (no lowering). Reports `model-not-found` when it cannot be read.
  public static func parse(path: String) -> (ModelSyntax?, DiagnosticBag, SourceManager) {
    var bag = DiagnosticBag()
    var sources = SourceManager()
    guard let bytes = readFile(path) else {
      bag.report(Messages.modelNotFound(path), at: .file(path))
      return (nil, bag, sources)
    }
    let file = SourceFile(path: path, bytes: bytes)
    sources.add(file)
    if String(validating: bytes, as: UTF8.self) == nil {
      bag.report(Messages.notUTF8, at: .file(path))
      return (nil, bag, sources)
    }
    let (syntax, d) = Parser.parse(file)
    bag.add(contentsOf: d)
    return (syntax, bag, sources)
  }

  /// Compiles a model file to a `Problem`.
  public static func compile(
    path: String, overrides: [(String, OptionValue)] = [], maxNetworkBytes: Int = 1 << 30
  ) -> Compilation {
    let (syntax, bag, sources) = parse(path: path)
    var c = Compilation(problem: nil, diagnostics: bag, sources: sources, syntax: syntax)
    guard let syntax, !bag.hasErrors else { return c }
    var lowering = Lowering(model: syntax, reader: NetworkReader(maxBytes: maxNetworkBytes))
    let (problem, d) = lowering.lower(overrides: overrides)
    c.diagnostics.add(contentsOf: d)
    c.problem = problem?.folded()
    return c
  }
}

extension Problem {
  /// The problem with the network's normalizations folded into its layers.
  func folded() -> Problem {
    var p = self
    p.network = network.foldingNormalization()
    return p
  }
}
