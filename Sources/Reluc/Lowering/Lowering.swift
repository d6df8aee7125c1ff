import RelucBase
import RelucIR
import RelucXML

/// Resolves names, checks dimensions and folds a parsed model into a `Problem`.
///
/// The `Problem` it returns satisfies the IR's invariant (see `Problem`): every name resolved,
/// every dimension checked, every input bounded, the network's normalizations folded into its
/// layers, and the options set from the model's `option` statements and then the command line.
///
/// Name resolution: the input and output vectors are named by the network file; index names are
/// bound by quantifiers and sums. Constraints over a single input with a constant coefficient
/// become bounds; the rest become rows of `A x <= b`. Constraints on outputs are rejected
/// (documented): every back end would have to support them.
public struct Lowering {
  let model: ModelSyntax
  let modelDirectory: String
  let reader: NetworkReader
  var diagnostics = DiagnosticBag()
  var network: Network?
  var networkStatement: SourceRange?
  /// The network file as read (path shown in diagnostics, bytes), for diagnostics that point
  /// into it.
  public internal(set) var networkFile: (path: String, bytes: [UInt8])?
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

  /// Lowers the model; command-line option assignments are applied after the file's options.
  /// Returns nil when any error was reported. Runs on a thread with a large stack, like the
  /// parser.
  public mutating func lower(overrides: [OptionAssignment] = []) -> (Problem?, DiagnosticBag) {
    onLargeStack { lowerOnThisThread(overrides: overrides) }
  }

  mutating func lowerOnThisThread(overrides: [OptionAssignment]) -> (Problem?, DiagnosticBag) {
    guard let net = loadNetwork() else { return (nil, diagnostics) }
    network = net
    let objective = lowerObjective(net)
    let polytope = halted ? nil : lowerConstraints(net)
    guard !halted else { return (nil, diagnostics) }
    let options = lowerOptions(overrides: overrides)
    guard !diagnostics.hasErrors, let objective, let polytope else { return (nil, diagnostics) }
    let problem = Problem(
      network: net.foldingNormalization(), polytope: polytope, objective: objective,
      options: options)
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

  func networkNote(_ text: String) -> [DiagnosticNote] {
    guard let r = networkStatement else { return [] }
    return [DiagnosticNote(text, at: loc(r))]
  }
}
