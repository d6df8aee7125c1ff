import RelucBase
import RelucIR
import RelucXML

/// Resolves names, checks dimensions and folds a parsed model into a `Problem`.
///
/// The `Problem` it returns satisfies the IR's invariant (see `Problem`): every name resolved,
/// every dimension checked, every input bounded, the network's normalizations folded into its
/// layers, and the options set from the model's `option` statements and then the command line.
///
/// Name resolution: the decision vector is named by the first network's input; each network's
/// output vector and layers by its file, qualified by its alias (`cost.y`, `cost.hidden1.pre`)
/// when it has one; index names are bound by quantifiers and sums. Constraints over a single
/// input with a constant coefficient become bounds; other constraints over inputs only become
/// rows of `A x <= b`; constraints naming an output or a hidden value become output rows.
/// Several networks and the hidden values the model names are compiled into one network
/// (`CombinedNetwork.swift`), so back ends see one network.
public struct Lowering {
  let model: ModelSyntax
  let modelDirectory: String
  let reader: NetworkReader
  var diagnostics = DiagnosticBag()
  var networkStatement: SourceRange?
  /// The network files as read (path shown in diagnostics, bytes), for diagnostics that point
  /// into them.
  public internal(set) var networkFiles: [(path: String, bytes: [UInt8])] = []
  /// Hidden post-activations the model names, in order of first use, and their position among
  /// the combined outputs.
  var exposures: [Exposure] = []
  var exposureSlot: [Exposure: Int] = [:]
  /// The limits on expansion (terms, constraints, matrix entries).
  let limits: FrontEndLimits
  /// Set when a limit was passed or an interrupt was requested: lowering stops at once.
  var halted = false
  /// Terms expanded so far (leaves evaluated, vector components), against
  /// `limits.maxExpandedTerms`.
  var expandedTerms = 0
  /// How many times the expression being evaluated is expanded by the enclosing quantifiers
  /// and sums (the product of their range sizes).
  var expansion = 1
  /// Constraints generated so far (all statements), against `limits.maxConstraints`.
  var generatedConstraints = 0

  /// Creates a lowering for a parsed model.
  public init(
    model: ModelSyntax, maxNetworkBytes: Int = NetworkReader.defaultMaxBytes,
    limits: FrontEndLimits = FrontEndLimits()
  ) {
    self.model = model
    self.limits = limits
    self.reader = NetworkReader(maxBytes: maxNetworkBytes)
    let path = model.file.path
    if let slash = path.lastIndex(of: "/") {
      modelDirectory = String(path[..<slash])
    } else {
      modelDirectory = "."
    }
  }

  var file: SourceFile { model.file }
  func loc(_ r: SourceRange) -> DiagnosticLocation { .range(file.path, r) }

  /// Whether `name` is seen for the first time in `seen` (then recorded there); otherwise
  /// reports `message` at it, with a note `note` at its first use, and returns false.
  mutating func firstUse(
    of name: Identifier, in seen: inout [String: SourceRange], _ message: DiagnosticMessage,
    note: String
  ) -> Bool {
    if let prev = seen[name.name] {
      diagnostics.report(
        message, at: loc(name.range), notes: [DiagnosticNote(note, at: loc(prev))])
      return false
    }
    seen[name.name] = name.range
    return true
  }

  /// Lowers the model; command-line option assignments are applied after the file's options.
  /// Returns nil when any error was reported. Runs on a thread with a large stack, like the
  /// parser.
  public mutating func lower(overrides: [OptionAssignment] = []) -> (Problem?, DiagnosticBag) {
    onLargeStack { lowerOnThisThread(overrides: overrides) }
  }

  mutating func lowerOnThisThread(overrides: [OptionAssignment]) -> (Problem?, DiagnosticBag) {
    guard let symbols = loadNetworks() else { return (nil, diagnostics) }
    let objective = lowerObjective(symbols)
    let constraints = halted ? nil : lowerConstraints(symbols)
    guard !halted else { return (nil, diagnostics) }
    let options = lowerOptions(overrides: overrides)
    guard !diagnostics.hasErrors, let objective, let constraints else { return (nil, diagnostics) }
    let (network, groups) = combinedNetwork(symbols, lower: constraints.polytope.lower)
    let m = network.outputSize
    var c = [Double](repeating: 0, count: m)
    for (k, w) in objective.form.y { c[k] = w }
    var d = [Double](repeating: 0, count: symbols.inputSize)
    for (k, w) in objective.form.x { d[k] = w }
    var rows = OutputConstraints.none(inputSize: symbols.inputSize, outputSize: m)
    for r in constraints.outputRows {
      var g = [Double](repeating: 0, count: symbols.inputSize)
      var h = [Double](repeating: 0, count: m)
      for (k, w) in r.form.x { g[k] = w }
      for (k, w) in r.form.y { h[k] = w }
      rows.append(input: g, output: h, rhs: -r.form.constant, name: r.name)
    }
    let problem = Problem(
      network: network, polytope: constraints.polytope,
      objective: Objective(
        sense: objective.sense, outputWeights: c, inputWeights: d,
        constant: objective.form.constant),
      options: options, outputConstraints: rows, outputGroups: groups)
    warnNeverHolding(problem, constraints.outputRows)
    return (problem, diagnostics)
  }

  /// Counts `n` expanded terms; false (after reporting) when that passes the limit or an
  /// interrupt was requested (polled every 4096 terms).
  mutating func countTerms(_ n: Int, at range: SourceRange) -> Bool {
    if halted { return false }
    let before = expandedTerms
    expandedTerms += n
    if expandedTerms > limits.maxExpandedTerms {
      halt(Messages.tooManyTerms(limits.maxExpandedTerms), at: range)
      return false
    }
    if before >> 12 != expandedTerms >> 12, Interrupt.requested {
      halt(Messages.loweringInterrupted, at: range)
      return false
    }
    return true
  }

  /// Reports a limit (or an interrupt) and stops lowering.
  mutating func halt(_ message: DiagnosticMessage, at range: SourceRange) {
    if !halted { diagnostics.report(message, at: loc(range)) }
    halted = true
  }

  /// Warns about output rows that interval bounds prove can never hold (the problem is then
  /// infeasible; the solve says so, this says where).
  mutating func warnNeverHolding(_ problem: Problem, _ rows: [OutputRow]) {
    guard !rows.isEmpty else { return }
    let bounds = intervalBounds(
      problem.network, lower: problem.polytope.lower, upper: problem.polytope.upper)
    let last = problem.network.layers.count - 1
    let (ylo, yhi) = (bounds.lower[last], bounds.upper[last])
    let (xlo, xhi) = (problem.polytope.lower, problem.polytope.upper)
    let oc = problem.outputConstraints
    var warned = Set<SourceRange>()
    for (r, row) in rows.enumerated() where !warned.contains(row.range) {
      var least = 0.0
      for (j, g) in oc.inputRow(r).enumerated() where g != 0 {
        least += g * (g > 0 ? xlo[j] : xhi[j])
      }
      for (i, h) in oc.outputRow(r).enumerated() where h != 0 {
        // The last layer's activation (a ReLU clips the lower bound at 0).
        let lo = problem.network.layers[last].activation == .relu ? max(0, ylo[i]) : ylo[i]
        let hi = problem.network.layers[last].activation == .relu ? max(0, yhi[i]) : yhi[i]
        least += h * (h > 0 ? lo : hi)
      }
      let rhs = oc.rhs[r]
      if least > rhs + 1e-9 * max(1, abs(rhs)) {
        warned.insert(row.range)
        diagnostics.report(Messages.constraintNeverHolds(row.name, least, rhs), at: loc(row.range))
      }
    }
  }

  func networkNote(_ text: String) -> [DiagnosticNote] {
    guard let r = networkStatement else { return [] }
    return [DiagnosticNote(text, at: loc(r))]
  }
}
