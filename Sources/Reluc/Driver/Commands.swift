import RelucBase
import RelucIR
import RelucXML

#if canImport(Glibc)
  import Glibc
#endif

/// What `reluc solve` is asked to do: the model, the command line's option assignments, and the
/// run's inputs that are not options (starting points, output path, output form).
public struct SolveRequest: Sendable {
  /// The model file.
  public var model: String
  /// Option assignments from the command line, applied after the model's options.
  public var overrides: [OptionAssignment] = []
  /// Starting points as given (`--start x0,x1,...`), checked against the network's input size.
  public var starts: [String] = []
  /// Only check the model.
  public var validateOnly = false
  /// The result (or, with `validateOnly`, the diagnostics) as JSON.
  public var json = false
  /// Where the result goes (standard output for nil).
  public var output: String?
  /// No progress line.
  public var quiet = false
  /// The solvers' logs on standard error.
  public var verbose = false
  /// Largest network file read.
  public var maxNetworkBytes = NetworkReader.defaultMaxBytes
  /// The front end's limits (nesting, expanded terms, generated constraints, matrix entries).
  public var limits = FrontEndLimits()

  /// A request to solve `model` with the defaults.
  public init(model: String) { self.model = model }
}

/// The commands of the `reluc` executable. Each returns the exit code; every error is reported
/// through the `Console` with the exit code its message declares.
public enum Commands {
  /// `reluc solve` (and `reluc --validate`).
  public static func solve(_ r: SolveRequest, console: Console) -> RelucExit {
    var console = console
    if r.validateOnly && r.json { console.format = .json }
    // Installed before compiling: a long expansion stops at SIGINT (`interrupted`, exit 130).
    RunSignals.installInterruptHandler()
    let c = Compiler.compile(
      path: r.model, overrides: r.overrides, maxNetworkBytes: r.maxNetworkBytes, limits: r.limits)
    let code = console.report(c, alwaysJSON: r.validateOnly && r.json)
    guard let problem = c.problem else { return code }
    if r.validateOnly { return .ok }
    // Refused before the solve rather than after it.
    if let refused = console.refuseOverwriting(r.output, inputs: c.inputFiles) { return refused }
    var starts: [[Double]] = []
    for text in r.starts {
      guard let x = parsePoint(text, size: problem.network.inputSize) else {
        return console.report(
          Messages.badCommandLine(
            "--start needs \(problem.network.inputSize) comma-separated finite numbers, got '\(text)'"
          ))
      }
      starts.append(x)
    }
    RunSignals.installCrashGuard()
    var context = SolveContext(timeLimit: problem.options.timeLimit, verbose: r.verbose)
    context.userStarts = starts
    let showProgress = !r.quiet && !r.verbose && isatty(2) == 1
    let line =
      showProgress
      ? RunSignals.progressLine(
        method: problem.options.method.rawValue, start: context.start, console: console)
      : nil
    context.progress = line?.callback
    let result = Solver.solve(problem, context)
    if let line {
      line.stop()
      RunSignals.clearProgressLine(console)
    }
    let text = r.json ? result.json(problem: problem).rendered() : result.text(problem: problem)
    let written = console.emit(text, to: r.output, inputs: c.inputFiles)
    return written != .ok ? written : result.status.exitCode
  }

  /// `reluc validate`: every model checked; the worst exit code (a missing file first). With
  /// `json`, one JSON array holds the diagnostics of all the models.
  public static func validate(
    _ models: [String], json: Bool, maxNetworkBytes: Int, console: Console,
    limits: FrontEndLimits = FrontEndLimits()
  ) -> RelucExit {
    var console = console
    if json { console.format = .json }
    var worst = RelucExit.ok
    var all = DiagnosticBag()
    var sources = SourceManager()
    for m in models {
      let c = Compiler.compile(path: m, maxNetworkBytes: maxNetworkBytes, limits: limits)
      worst = RelucExit.worse(worst, c.diagnostics.exitCode)
      if json {
        all.add(contentsOf: c.diagnostics)
        sources.add(contentsOf: c.sources)
      } else {
        console.report(c)
      }
    }
    if json { console.report(all, sources: sources, alwaysJSON: true) }
    return worst
  }

  /// `reluc eval`: a forward pass at a point, with the objective and the check of every
  /// constraint by the same rule as a solution report.
  public static func eval(
    model: String, input: String, json: Bool, maxNetworkBytes: Int, console: Console,
    limits: FrontEndLimits = FrontEndLimits()
  ) -> RelucExit {
    let c = Compiler.compile(path: model, maxNetworkBytes: maxNetworkBytes, limits: limits)
    let code = console.report(c)
    guard let problem = c.problem else { return code }
    let net = problem.network
    guard let x = parsePoint(input, size: nil) else {
      return console.report(
        Messages.badCommandLine("--input must be comma-separated finite numbers"))
    }
    guard x.count == net.inputSize else {
      return console.report(
        Messages.badCommandLine(
          "--input has \(x.count) numbers; the network '\(net.inputName)' has \(net.inputSize) inputs"
        ))
    }
    let check = PointCheck(problem: problem, point: x)
    guard check.objective.isFinite, check.outputs.allSatisfy(\.isFinite) else {
      return console.report(Messages.nonFiniteEvaluation(net.outputName))
    }
    let rows = problem.rowChecks(x: x, y: check.outputs)
    let bounds = (0..<net.inputSize).compactMap { j -> (String, Double)? in
      let v = max(problem.polytope.lower[j] - x[j], x[j] - problem.polytope.upper[j])
      return v > 0 ? ("\(net.inputName)[\(j)]", v) : nil
    }
    let text: String
    if json {
      var fields: [(String, JSON)] = [(net.inputName, .array(x.map { .number($0) }))]
      for (name, values) in problem.resultOutputs(check.outputs) {
        fields.append((name, .array(values.map { .number($0) })))
      }
      fields += [
        ("objective", .number(check.objective)),
        (
          "constraints",
          .array(
            rows.map {
              .object([
                ("name", .string($0.name)), ("lhs", .number($0.lhs)), ("rhs", .number($0.rhs)),
                ("violation", .number($0.violation)),
              ])
            })
        ),
        (
          "bound_violations",
          .object(bounds.map { ($0.0, .number($0.1)) })
        ),
        ("max_violation", .number(check.maxViolation)),
        ("feasible", .bool(check.feasible)),
      ]
      text = JSON.object(fields).rendered()
    } else {
      var t = ""
      for (name, values) in problem.resultOutputs(check.outputs) {
        for (i, v) in values.enumerated() { t += "\(name)[\(i)] = \(formatNumber(v))\n" }
      }
      t += "objective: \(formatNumber(check.objective))\n"
      for r in rows {
        t += "constraint \(r.name): \(formatNumber(r.lhs)) <= \(formatNumber(r.rhs))"
        t += r.violation > 0 ? " (violated by \(formatNumber(r.violation)))\n" : "\n"
      }
      for (name, v) in bounds { t += "bound \(name): violated by \(formatNumber(v))\n" }
      t += "max violation: \(formatNumber(check.maxViolation))\(check.feasible ? "" : " (infeasible)")"
      text = t
    }
    return console.emit(text, to: nil)
  }

  /// `reluc fmt`: rewrites (or with `check`, only checks; with `toStdout`, prints) models in
  /// canonical form.
  public static func fmt(
    _ models: [String], check: Bool, toStdout: Bool, console: Console,
    limits: FrontEndLimits = FrontEndLimits()
  ) -> RelucExit {
    var worst = RelucExit.ok
    for m in models {
      let (syntax, bag, sources) = Compiler.parse(path: m, limits: limits)
      guard let syntax, !bag.hasErrors else {
        worst = RelucExit.worse(worst, console.report(bag, sources: sources))
        continue
      }
      let text = Formatter.format(syntax)
      let original = String(decoding: syntax.file.bytes, as: UTF8.self)
      if toStdout {
        worst = RelucExit.worse(worst, console.emit(text, to: nil))
      } else if text != original {
        if check {
          let shown = DisplayText.sanitize(m)
          console.stderr("\(shown): not formatted (run reluc fmt \(shown))\n")
          worst = RelucExit.worse(worst, .notFormatted)
        } else if let reason = writeChecked(Array(text.utf8), to: m) {
          worst = RelucExit.worse(worst, console.report(Messages.cannotWrite(m, reason)))
        }
      }
    }
    return worst
  }

  /// `reluc export`: the big-M MILP as MPS and/or LP files.
  public static func export(
    model: String, mps: String?, lp: String?, maxNetworkBytes: Int, console: Console,
    limits: FrontEndLimits = FrontEndLimits()
  ) -> RelucExit {
    guard mps != nil || lp != nil else {
      return console.report(Messages.badCommandLine("give --mps FILE or --lp FILE"))
    }
    for (path, ext) in [(mps, ".mps"), (lp, ".lp")] {
      if let path, !path.hasSuffix(ext) {
        return console.report(
          Messages.badCommandLine("'\(path)' must end in \(ext): HiGHS picks the format by it"))
      }
    }
    let c = Compiler.compile(path: model, maxNetworkBytes: maxNetworkBytes, limits: limits)
    let code = console.report(c)
    guard let problem = c.problem else { return code }
    for (path, ext) in [(mps, ".mps"), (lp, ".lp")] {
      guard let path else { continue }
      if let refused = console.refuseOverwriting(path, inputs: c.inputFiles) { return refused }
      // HiGHS writes to a private temporary folder (it does not report a short write); the
      // bytes are then written to the destination with every write checked.
      guard let folder = makeTemporaryFolder() else {
        return console.report(
          Messages.cannotWrite("a temporary folder", String(cString: strerror(errno))))
      }
      let temporary = folder + "/model" + ext
      defer {
        unlink(temporary)
        rmdir(folder)
      }
      do { try MILPBackend.export(problem, to: temporary) } catch {
        return console.report(Messages.solverFailed("\(error)"))
      }
      guard case .success(let bytes) = readRegularFile(temporary, limit: Int.max) else {
        return console.report(Messages.solverFailed("HiGHS did not write the model"))
      }
      if let reason = writeChecked(bytes, to: path) {
        return console.report(Messages.cannotWrite(path, reason))
      }
    }
    return .ok
  }

  /// A new private folder under `TMPDIR` (or /tmp); nil when it cannot be made.
  static func makeTemporaryFolder() -> String? {
    var base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    if base.isEmpty { base = "/tmp" }
    var template = Array((base + "/reluc-export-XXXXXX").utf8CString)
    return template.withUnsafeMutableBufferPointer { buffer in
      mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
    }
  }

  /// `reluc import`: an ONNX or NNet network converted to the reluc XML format.
  public static func importNetwork(
    _ path: String, output: String?, format: String?, console: Console
  ) -> RelucExit {
    let kind = format ?? (path.hasSuffix(".nnet") ? "nnet" : path.hasSuffix(".onnx") ? "onnx" : "")
    guard kind == "onnx" || kind == "nnet" else {
      return console.report(Messages.unknownNetworkFormat(path))
    }
    let bytes: [UInt8]
    switch readRegularFile(path, limit: 1 << 31) {
    case .success(let b): bytes = b
    case .failure(let e):
      return console.report(Messages.readFailure(e, path, missing: Messages.fileNotFound))
    }
    let base =
      String(path.split(separator: "/").last ?? "net").split(separator: ".").first.map(String.init)
      ?? "net"
    let net: Network
    do {
      net =
        kind == "nnet"
        ? try NNetImporter.parse(String(decoding: bytes, as: UTF8.self), name: base)
        : try ONNXImporter.parse(bytes, name: base)
    } catch {
      let at: DiagnosticLocation = error.line.map { .at(path, line: $0, column: 1) } ?? .file(path)
      return console.report(Messages.importFailed(error.message), at: at)
    }
    return console.emit(NetworkWriter.xml(net), to: output, inputs: [path])
  }

  /// Comma-separated finite numbers (`size` of them when given); nil otherwise.
  static func parsePoint(_ text: String, size: Int?) -> [Double]? {
    let values = text.split(separator: ",", omittingEmptySubsequences: false).map {
      Double($0.trimmingCharacters(" "))
    }
    guard values.allSatisfy({ $0?.isFinite == true }) else { return nil }
    if let size, values.count != size { return nil }
    return values.map { $0! }
  }
}
