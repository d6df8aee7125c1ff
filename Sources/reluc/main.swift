import ArgumentParser
import Reluc
import RelucBase
import RelucIR
import RelucXML

// The executable: argument parsing only. Every command is a call into the Reluc library
// (`Commands`), which reports errors and returns the exit code.

/// Options shared by the subcommands that read a model.
struct InputOptions: ParsableArguments {
  @Option(name: .long, help: "Diagnostics format: text or json.")
  var diagnosticsFormat: DiagnosticFormat = .text

  @Option(name: .long, parsing: .unconditional, help: "Largest network file accepted, in bytes.")
  var maxNetworkBytes: Int = NetworkReader.defaultMaxBytes

  @Option(name: .long, help: "Colour diagnostics: auto, always or never.")
  var color: ColorChoice = .auto

  @Option(name: .long, help: "Deepest nesting of an expression (parentheses, signs, sums).")
  var maxNesting: Int = FrontEndLimits.defaultMaxNesting

  @Option(name: .long, help: "Most terms the sums, vectors and quantifiers may expand to.")
  var maxTerms: Int = FrontEndLimits.defaultMaxExpandedTerms

  @Option(name: .long, help: "Most constraints the quantifiers may generate.")
  var maxConstraints: Int = FrontEndLimits.defaultMaxConstraints

  @Option(name: .long, help: "Most entries of the constraint matrix (rows times inputs).")
  var maxMatrixEntries: Int = FrontEndLimits.defaultMaxMatrixEntries

  var console: Console { Console(color: color, format: diagnosticsFormat) }

  var limits: FrontEndLimits {
    FrontEndLimits(
      maxNesting: maxNesting, maxExpandedTerms: maxTerms, maxConstraints: maxConstraints,
      maxMatrixEntries: maxMatrixEntries)
  }

  func validate() throws {
    for (flag, value) in [
      ("--max-network-bytes", maxNetworkBytes), ("--max-nesting", maxNesting),
      ("--max-terms", maxTerms), ("--max-constraints", maxConstraints),
      ("--max-matrix-entries", maxMatrixEntries),
    ] where value < 1 {
      throw ValidationError("\(flag) must be positive")
    }
  }
}

extension ColorChoice: ExpressibleByArgument {}
extension DiagnosticFormat: ExpressibleByArgument {}

/// Ends the command with `code`.
func finish(_ code: RelucExit) throws -> Never { throw ExitCode(code.rawValue) }

@main
struct RelucCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reluc",
    abstract: "Optimize over trained ReLU networks.",
    discussion: "See reluc(1) for the model language, the network format and the methods.",
    version: "reluc \(relucVersion)",
    subcommands: [
      Solve.self, Validate.self, Eval.self, Fmt.self, Export.self, Import.self, Verify.self,
    ],
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
  @Option(name: .long, help: "The method (overrides the model's option method).")
  var method: String?
  @Option(
    name: .long, parsing: .unconditional, help: "Time limit in seconds (overrides time_limit).")
  var timeLimit: Double?
  @Option(name: .long, parsing: .unconditional, help: "Random seed (overrides seed).")
  var seed: Double?
  @Option(
    name: .customShort("O"),
    help: "Set any option: -O NAME=VALUE (repeatable; wins over the model).")
  var set: [String] = []
  @Option(
    name: .long, parsing: .unconditionalSingleValue,
    help: "A starting point x0,x1,... for the gradient methods and LP Walk (repeatable).")
  var start: [String] = []
  @Flag(name: .shortAndLong, help: "No progress line.") var quiet = false
  @Flag(name: .shortAndLong, help: "Show the solvers' logs.") var verbose = false
  @OptionGroup var input: InputOptions

  func run() throws {
    var request = SolveRequest(model: model)
    if let method { request.overrides.append(.flag("--method", "method", .identifier(method))) }
    if let timeLimit {
      request.overrides.append(.flag("--time-limit", "time_limit", .number(timeLimit)))
    }
    if let seed { request.overrides.append(.flag("--seed", "seed", .number(seed))) }
    for item in set {
      guard let a = OptionAssignment.parseOverride(item) else {
        throw ValidationError("-O takes NAME=VALUE, got '\(item)'")
      }
      request.overrides.append(a)
    }
    request.starts = start
    request.validateOnly = validate
    request.json = json
    request.output = output
    request.quiet = quiet
    request.verbose = verbose
    request.maxNetworkBytes = input.maxNetworkBytes
    request.limits = input.limits
    try finish(Commands.solve(request, console: input.console))
  }
}

struct Validate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check models (the same as reluc --validate).")
  @Argument(help: "The model files.") var models: [String]
  @Flag(name: .long, help: "Diagnostics as JSON (one array for all the models).") var json = false
  @OptionGroup var input: InputOptions

  func run() throws {
    try finish(
      Commands.validate(
        models, json: json, maxNetworkBytes: input.maxNetworkBytes, console: input.console,
        limits: input.limits))
  }
}

struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Evaluate the network and objective at a point (a forward pass).")
  @Argument(help: "The model file.") var model: String
  @Option(name: .long, parsing: .unconditional, help: "The input point: comma-separated numbers.")
  var input: String
  @Flag(name: .long, help: "Print JSON.") var json = false
  @OptionGroup var inputOptions: InputOptions

  func run() throws {
    try finish(
      Commands.eval(
        model: model, input: input, json: json, maxNetworkBytes: inputOptions.maxNetworkBytes,
        console: inputOptions.console, limits: inputOptions.limits))
  }
}

struct Fmt: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Rewrite model files in canonical form.")
  @Argument(help: "The model files.") var models: [String]
  @Flag(name: .long, help: "Do not write; exit 1 when a file is not canonical.") var check = false
  @Flag(name: .long, help: "Print the canonical text instead of rewriting the file.")
  var stdout = false
  @OptionGroup var input: InputOptions

  func run() throws {
    try finish(
      Commands.fmt(
        models, check: check, toStdout: stdout, console: input.console, limits: input.limits))
  }
}

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write the big-M MILP of a model as MPS or LP, for other MILP solvers.")
  @Argument(help: "The model file.") var model: String
  @Option(name: .long, help: "Write MPS to this file (its name must end in .mps).") var mps: String?
  @Option(name: .long, help: "Write LP to this file (its name must end in .lp).") var lp: String?
  @OptionGroup var input: InputOptions

  func run() throws {
    try finish(
      Commands.export(
        model: model, mps: mps, lp: lp, maxNetworkBytes: input.maxNetworkBytes,
        console: input.console, limits: input.limits))
  }
}

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Convert an ONNX or NNet network to the reluc XML format, or a VNN-LIB property to models.")
  @Argument(help: "The network file (.onnx or .nnet), or a property (.vnnlib) with --network.")
  var file: String
  @Option(name: .shortAndLong, help: "The file to write (default: standard output).")
  var output: String?
  @Option(
    name: .long, help: "The input format: onnx, nnet or vnnlib (default: from the extension).")
  var format: String?
  @Option(name: .long, help: "The network a property is imported against (ONNX, NNet or XML).")
  var network: String?

  func run() throws {
    if format == "vnnlib" || (format == nil && file.hasSuffix(".vnnlib")) {
      guard let network else { throw ValidationError("importing a property needs --network NET") }
      try finish(
        Commands.importProperty(
          file, network: network, output: output, maxNetworkBytes: NetworkReader.defaultMaxBytes,
          console: Console()))
    }
    if network != nil { throw ValidationError("--network is for importing a .vnnlib property") }
    try finish(Commands.importNetwork(file, output: output, format: format, console: Console()))
  }
}

struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Decide a VNN-LIB property: print sat (with a witness), unsat, unknown or timeout.")
  @Argument(help: "The property (.vnnlib); it describes the unsafe set.") var property: String
  @Option(name: .long, help: "The network: ONNX, NNet or reluc XML.") var network: String
  @Option(name: .long, parsing: .unconditional, help: "Seconds for the whole run.")
  var timeout: Double = 60
  @Option(name: .shortAndLong, help: "Write the answer and witness to this file too.")
  var output: String?
  @Flag(name: .shortAndLong, help: "One line per disjunct and phase on standard error.")
  var verbose = false
  @Option(name: .long, help: "Diagnostics format: text or json.")
  var diagnosticsFormat: DiagnosticFormat = .text
  @Option(name: .long, help: "Colour diagnostics: auto, always or never.")
  var color: ColorChoice = .auto
  @Option(name: .long, parsing: .unconditional, help: "Largest network file accepted, in bytes.")
  var maxNetworkBytes: Int = NetworkReader.defaultMaxBytes

  func validate() throws {
    guard timeout.isFinite, timeout >= 0, timeout <= 1e7 else {
      throw ValidationError("--timeout must be a number of seconds from 0 to 1e7")
    }
    guard maxNetworkBytes >= 1 else {
      throw ValidationError("--max-network-bytes must be positive")
    }
  }

  func run() throws {
    var r = VerifyRequest(property: property, network: network)
    r.timeout = timeout
    r.output = output
    r.verbose = verbose
    r.maxNetworkBytes = maxNetworkBytes
    try finish(Commands.verify(r, console: Console(color: color, format: diagnosticsFormat)))
  }
}
