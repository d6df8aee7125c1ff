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

  /// Creates a lowering for a parsed model.
  public init(model: ModelSyntax, maxNetworkBytes: Int = NetworkReader.defaultMaxBytes) {
    self.model = model
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
  /// Returns nil when any error was reported.
  public mutating func lower(overrides: [OptionAssignment] = []) -> (Problem?, DiagnosticBag) {
    guard let net = loadNetwork() else { return (nil, diagnostics) }
    network = net
    let objective = lowerObjective(net)
    let polytope = lowerConstraints(net)
    let options = lowerOptions(overrides: overrides)
    guard !diagnostics.hasErrors, let objective, let polytope else { return (nil, diagnostics) }
    let problem = Problem(
      network: net.foldingNormalization(), polytope: polytope, objective: objective,
      options: options)
    return (problem, diagnostics)
  }

  func networkNote(_ text: String) -> [DiagnosticNote] {
    guard let r = networkStatement else { return [] }
    return [DiagnosticNote(text, at: loc(r))]
  }
}
