import ArgumentParser
import Reluc
import RelucBase
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

/// Options shared by the subcommands that read a model.
struct InputOptions: ParsableArguments {
  @Option(name: .long, help: "Diagnostics format: text or json.")
  var diagnosticsFormat: DiagnosticFormat = .text

  @Option(name: .long, help: "Largest network file accepted, in bytes.")
  var maxNetworkBytes: Int = 1 << 30

  @Option(name: .long, help: "Colour diagnostics: auto, always or never.")
  var color: ColorChoice = .auto
}

enum ColorChoice: String, ExpressibleByArgument, CaseIterable { case auto, always, never }
extension DiagnosticFormat: ExpressibleByArgument {}

func useColor(_ c: ColorChoice) -> Bool {
  switch c {
  case .always: return true
  case .never: return false
  case .auto: return isatty(2) == 1 && getenv("NO_COLOR") == nil
  }
}

func writeErr(_ s: String) {
  var s = s
  s.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Prints diagnostics and returns the exit code they call for.
func report(_ c: Compilation, _ options: InputOptions, alwaysJSON: Bool = false) -> RelucExit {
  let renderer = DiagnosticRenderer(sources: c.sources, color: useColor(options.color))
  if options.diagnosticsFormat == .json {
    if alwaysJSON || !c.diagnostics.all.isEmpty {
      writeErr(JSON.array(c.diagnostics.all.map(renderer.json)).rendered() + "\n")
    }
  } else {
    writeErr(renderer.render(c.diagnostics))
  }
  return c.exitCode
}

func parseOverrides(_ items: [String]) throws -> [(String, OptionValue)] {
  try items.map { item in
    guard let eq = item.firstIndex(of: "=") else {
      throw ValidationError("-O takes NAME=VALUE, got '\(item)'")
    }
    return (String(item[..<eq]), OptionValue.parse(String(item[item.index(after: eq)...])))
  }
}

func quit(_ code: RelucExit) throws -> Never { throw ExitCode(code.rawValue) }

func writeOutput(_ text: String, to path: String?) throws {
  guard let path else {
    print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
    return
  }
  guard let f = fopen(path, "wb") else {
    writeErr("reluc: error: cannot write '\(path)'\n")
    try quit(.noInput)
  }
  fputs(text.hasSuffix("\n") ? text : text + "\n", f)
  fclose(f)
}

/// A fatal signal while solving (a fault in reluc or in HiGHS) ends the process at once with a
/// one-line message and exit code 70. Without this, Swift's runtime prints a backtrace from the
/// signal handler, and when the fault comes from inside HiGHS that handler can itself fault and
/// deadlock (seen once), so the process hangs. `RELUC_BACKTRACE=1` keeps the runtime's handler.
func installCrashGuard() {
  if getenv("RELUC_BACKTRACE") != nil { return }
  for sig in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT] {
    signal(sig) { _ in
      let message: StaticString =
        "reluc: internal error: fatal signal while solving (in reluc or HiGHS); please report it with the model\n"
      _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
      _exit(70)
    }
  }
}

@main
struct RelucCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reluc",
    abstract: "Optimize over trained ReLU networks.",
    discussion: "See reluc(1) for the model language, the network format and the methods.",
    version: "reluc \(relucVersion)",
    subcommands: [Solve.self, Validate.self, Eval.self, Fmt.self, Export.self, Import.self],
    defaultSubcommand: Solve.self)
}

struct Solve: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Solve a model and print the solution.")

  @Argument(help: "The model file (.rmod).") var model: String
  @Flag(name: .long, help: "Only check the model; exit 0 when it is valid.") var validate = false
  @Flag(name: .long, help: "Print the result (or, with --validate, the diagnostics) as JSON.")
  var json = false
  @Option(name: .shortAndLong, help: "Write the result to this file instead of standard output.")
  var output: String?
  @Option(name: .long, help: "The method (overrides the model's option method).") var method: String?
  @Option(name: .long, help: "Time limit in seconds (overrides time_limit).") var timeLimit: Double?
  @Option(name: .long, help: "Random seed (overrides seed).") var seed: Int?
  @Option(name: .customShort("O"), help: "Set any option: -O NAME=VALUE (repeatable; wins over the model).")
  var set: [String] = []
  @Option(name: .long, help: "A starting point x0,x1,... for the gradient methods and LP Walk (repeatable).")
  var start: [String] = []
  @Flag(name: .shortAndLong, help: "No progress line.") var quiet = false
  @Flag(name: .shortAndLong, help: "Show the solvers' logs.") var verbose = false
  @OptionGroup var input: InputOptions

  func run() throws {
    var overrides = try parseOverrides(set)
    if let method { overrides.insert(("method", .identifier(method)), at: 0) }
    if let timeLimit { overrides.insert(("time_limit", .number(timeLimit)), at: 0) }
    if let seed { overrides.insert(("seed", .number(Double(seed))), at: 0) }
    var options = input
    if json && validate { options.diagnosticsFormat = .json }
    let c = Compiler.compile(path: model, overrides: overrides, maxNetworkBytes: input.maxNetworkBytes)
    let code = report(c, options, alwaysJSON: validate && json)
    // A bad command-line option is a usage error.
    if c.diagnostics.all.contains(where: { $0.severity == .error && $0.location == nil }) {
      try quit(.usage)
    }
    guard let problem = c.problem else { try quit(code) }
    if validate { try quit(.ok) }
    var userStarts: [[Double]] = []
    for text in start {
      let values = text.split(separator: ",").map { Double($0.trimmingCharacters(" ")) }
      guard values.count == problem.network.inputSize, values.allSatisfy({ $0?.isFinite == true }) else {
        writeErr("reluc: error: --start needs \(problem.network.inputSize) comma-separated finite numbers, got '\(text)'\n")
        try quit(.usage)
      }
      userStarts.append(values.map { $0! })
    }
    // A parent may have started us with SIGINT blocked (Foundation's Process does): unblock it.
    var mask = sigset_t()
    sigemptyset(&mask)
    sigaddset(&mask, SIGINT)
    sigprocmask(SIG_UNBLOCK, &mask, nil)
    signal(SIGINT) { _ in
      Interrupt.flag.store(true, ordering: .relaxed)
      signal(SIGINT, SIG_DFL)
    }
    installCrashGuard()
    var context = SolveContext(timeLimit: problem.options.timeLimit, verbose: verbose)
    context.userStarts = userStarts
    let showProgress = !quiet && !verbose && isatty(2) == 1
    if showProgress {
      let start = context.start
      let method = problem.options.method.rawValue
      nonisolated(unsafe) var last = 0.0
      context.progress = { best, bound in
        let now = monotonicSeconds()
        guard now - last > 0.1 else { return }
        last = now
        var line = "\r\(method) \(formatNumber((now - start) * 10 .rounded() / 10))s best \(best)"
        if let bound { line += " bound \(bound)" }
        writeErr(line + "\u{1B}[K")
      }
    }
    let result = Solver.solve(problem, context)
    if showProgress { writeErr("\r\u{1B}[K") }
    let text = json ? result.json(problem: problem).rendered() : result.text(problem: problem)
    try writeOutput(text, to: output)
    switch result.status {
    case .checkFailed: try quit(.software)
    case .error: try quit(.unavailable)
    case .interrupted: try quit(.interrupted)
    default: break
    }
  }
}

struct Validate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check a model (same as reluc --validate).")
  @Argument(help: "The model files.") var models: [String]
  @Flag(name: .long, help: "Diagnostics as JSON.") var json = false
  @OptionGroup var input: InputOptions

  func run() throws {
    var worst = RelucExit.ok
    var options = input
    if json { options.diagnosticsFormat = .json }
    for m in models {
      let c = Compiler.compile(path: m, maxNetworkBytes: input.maxNetworkBytes)
      let code = report(c, options, alwaysJSON: json)
      if code != .ok, worst == .ok || code == .noInput { worst = code }
    }
    try quit(worst)
  }
}

struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Evaluate the network and objective at a point (a forward pass).")
  @Argument(help: "The model file.") var model: String
  @Option(name: .long, help: "The input point: comma-separated numbers.") var input: String
  @Flag(name: .long, help: "Print JSON.") var json = false
  @OptionGroup var inputOptions: InputOptions

  func run() throws {
    let c = Compiler.compile(path: model, maxNetworkBytes: inputOptions.maxNetworkBytes)
    let code = report(c, inputOptions)
    guard let problem = c.problem else { try quit(code) }
    let parts = input.split(separator: ",").map { Double($0.trimmingCharacters(" ")) }
    guard parts.allSatisfy({ $0 != nil && $0!.isFinite }) else {
      writeErr("reluc: error: --input must be comma-separated finite numbers\n")
      try quit(.usage)
    }
    let x = parts.map { $0! }
    guard x.count == problem.network.inputSize else {
      writeErr("reluc: error: --input has \(x.count) numbers; the network '\(problem.network.inputName)' has \(problem.network.inputSize) inputs\n")
      try quit(.usage)
    }
    let (y, f) = problem.evaluate(x)
    let violation = problem.polytope.maxViolation(x)
    let net = problem.network
    if json {
      let j = JSON.object([
        (net.inputName, .array(x.map { .number($0) })),
        (net.outputName, .array(y.map { .number($0) })),
        ("objective", .number(f)),
        ("max_violation", .number(violation)),
        ("feasible", .bool(violation <= problem.options.feasibilityTolerance)),
      ])
      print(j.rendered())
    } else {
      for (i, v) in y.enumerated() { print("\(net.outputName)[\(i)] = \(formatNumber(v))") }
      print("objective: \(formatNumber(f))")
      print("max violation: \(formatNumber(violation))\(violation <= problem.options.feasibilityTolerance ? "" : " (infeasible)")")
    }
  }
}


struct Fmt: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Rewrite model files in canonical form.")
  @Argument(help: "The model files.") var models: [String]
  @Flag(name: .long, help: "Do not write; exit 1 when a file is not canonical.") var check = false
  @Flag(name: .long, help: "Print the canonical text instead of rewriting the file.") var stdout = false
  @OptionGroup var input: InputOptions

  func run() throws {
    var worst = RelucExit.ok
    for m in models {
      let (syntax, bag, sources) = Compiler.parse(path: m)
      let c = Compilation(problem: nil, diagnostics: bag, sources: sources, syntax: syntax)
      guard let syntax, !bag.hasErrors else {
        let code = report(c, input)
        if worst == .ok || code == .noInput { worst = code }
        continue
      }
      let text = Formatter.format(syntax)
      let original = String(decoding: syntax.file.bytes, as: UTF8.self)
      if stdout {
        print(text, terminator: "")
      } else if check {
        if text != original {
          writeErr("\(m): not formatted (run reluc fmt \(m))\n")
          if worst == .ok { worst = .notFormatted }
        }
      } else if text != original {
        guard let f = fopen(m, "wb") else {
          writeErr("reluc: error: cannot write '\(m)'\n")
          try quit(.noInput)
        }
        fputs(text, f)
        fclose(f)
      }
    }
    try quit(worst)
  }
}

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write the big-M MILP of a model as MPS or LP, for other MILP solvers.")
  @Argument(help: "The model file.") var model: String
  @Option(name: .long, help: "Write MPS to this file.") var mps: String?
  @Option(name: .long, help: "Write LP to this file.") var lp: String?
  @OptionGroup var input: InputOptions

  func run() throws {
    guard mps != nil || lp != nil else { throw ValidationError("give --mps FILE or --lp FILE") }
    let c = Compiler.compile(path: model, maxNetworkBytes: input.maxNetworkBytes)
    let code = report(c, input)
    guard let problem = c.problem else { try quit(code) }
    for (path, ext) in [(mps, ".mps"), (lp, ".lp")] {
      guard let path else { continue }
      guard path.hasSuffix(ext) else { throw ValidationError("'\(path)' must end in \(ext)") }
      do { try MILPBackend.export(problem, to: path) } catch {
        writeErr("reluc: error: \(error)\n")
        try quit(.unavailable)
      }
    }
  }
}

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Convert an ONNX or NNet network to the reluc XML format.")
  @Argument(help: "The network file (.onnx or .nnet).") var network: String
  @Option(name: .shortAndLong, help: "The XML file to write (default: standard output).")
  var output: String?
  @Option(name: .long, help: "The input format: onnx or nnet (default: from the extension).")
  var format: String?

  func run() throws {
    let fmt = format ?? (network.hasSuffix(".nnet") ? "nnet" : network.hasSuffix(".onnx") ? "onnx" : "")
    guard fmt == "onnx" || fmt == "nnet" else {
      throw ValidationError("cannot tell the format of '\(network)'; give --format onnx or --format nnet")
    }
    guard let bytes = readFile(network, limit: 1 << 31) else {
      writeErr("reluc: error: cannot read '\(network)'\n")
      try quit(.noInput)
    }
    let base = String(network.split(separator: "/").last ?? "net").split(separator: ".").first.map(String.init) ?? "net"
    do {
      let net =
        fmt == "nnet"
        ? try NNetImporter.parse(String(decoding: bytes, as: UTF8.self), name: base)
        : try ONNXImporter.parse(bytes, name: base)
      try writeOutput(NetworkWriter.xml(net), to: output)
    } catch let e as ImportError {
      writeErr("\(network)\(e.line.map { ":\($0)" } ?? ""): error: \(e.message)\n")
      try quit(.dataError)
    }
  }
}
