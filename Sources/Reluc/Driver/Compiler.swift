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
  /// The files read: the model, then the network (once it was found).
  public var inputFiles: [String] = []

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
  public var exitCode: RelucExit { diagnostics.exitCode }
}

/// The front end's stages: read, lex and parse, then lower (stopping after a stage with errors).
public enum Compiler {
  /// The largest model file read: 64 MiB.
  public static let maxModelBytes = 64 << 20

  /// Parses a model file (no lowering). Reports `model-not-found` when it cannot be read.
  /// `limits.maxNesting` bounds the nesting of expressions.
  public static func parse(path: String, limits: FrontEndLimits = FrontEndLimits())
    -> (ModelSyntax?, DiagnosticBag, SourceManager)
  {
    var bag = DiagnosticBag()
    var sources = SourceManager()
    let bytes: [UInt8]
    switch readRegularFile(path, limit: maxModelBytes) {
    case .success(let b): bytes = b
    case .failure(let e):
      bag.report(Messages.readFailure(e, path, missing: Messages.modelNotFound), at: .file(path))
      return (nil, bag, sources)
    }
    let file = SourceFile(path: path, bytes: bytes)
    sources.add(file)
    if String(validating: bytes, as: UTF8.self) == nil {
      bag.report(Messages.notUTF8, at: .file(path))
      return (nil, bag, sources)
    }
    let (syntax, d) = Parser.parse(file, limits: limits)
    bag.add(contentsOf: d)
    return (syntax, bag, sources)
  }

  /// Compiles a model file to a `Problem`, within `limits` (nesting, expanded terms, generated
  /// constraints, matrix entries: see `FrontEndLimits`).
  public static func compile(
    path: String, overrides: [OptionAssignment] = [],
    maxNetworkBytes: Int = NetworkReader.defaultMaxBytes,
    limits: FrontEndLimits = FrontEndLimits()
  ) -> Compilation {
    let (syntax, bag, sources) = parse(path: path, limits: limits)
    var c = Compilation(problem: nil, diagnostics: bag, sources: sources, syntax: syntax)
    guard let syntax, !bag.hasErrors else { return c }
    var lowering = Lowering(model: syntax, maxNetworkBytes: maxNetworkBytes, limits: limits)
    let (problem, d) = lowering.lower(overrides: overrides)
    c.diagnostics.add(contentsOf: d)
    for net in lowering.networkFiles
    where d.all.contains(where: { $0.location?.path == net.path }) {
      c.sources.attach(path: net.path, bytes: net.bytes)
    }
    c.problem = problem
    c.inputFiles = [path] + lowering.networkFiles.map(\.path)
    return c
  }
}
