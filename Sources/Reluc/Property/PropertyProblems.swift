import RelucBase
import RelucIR

/// One disjunct of a property as a `Problem`: the inputs' box and rows (conditions on inputs
/// only) in the polytope, the conditions naming an output in `outputConstraints`; the objective
/// is zero (a verifier only asks whether the set is empty). `problem` is nil when the disjunct
/// is empty by its input bounds alone (a lower bound above an upper one).
public struct PropertyDisjunct: Sendable {
  /// 1-based position among the property's disjuncts.
  public var index: Int
  /// The problem, nil when the bounds cross.
  public var problem: Problem?
  /// The disjunct's conditions, as read.
  public var conditions: [PropertyCondition]
}

extension VNNProperty {
  /// The disjuncts as problems over `network` (normalizations folded, sizes those the property
  /// was read against). A condition on one input with coefficient +-1 is a bound; other
  /// conditions on inputs only are polytope rows; conditions naming an output are output rows.
  /// Inputs start from the network's declared bounds (NNet's minimums and maximums), as in a
  /// model. Reports `vnnlib-unbounded-input` for an input left unbounded in some disjunct.
  public func problems(network: Network, options: SolveOptions = SolveOptions())
    -> ([PropertyDisjunct], DiagnosticBag)
  {
    var bag = DiagnosticBag()
    var out: [PropertyDisjunct] = []
    let n = inputSize
    let m = outputSize
    for (k, conjunction) in disjuncts.enumerated() {
      var lower = network.inputLower ?? [Double](repeating: -.infinity, count: n)
      var upper = network.inputUpper ?? [Double](repeating: .infinity, count: n)
      var matrix: [Double] = []
      var rhs: [Double] = []
      var rowNames: [String] = []
      var rows = OutputConstraints.none(inputSize: n, outputSize: m)
      for c in conjunction {
        let name = "c\(file.position(of: c.range.start).line)"
        if c.namesOutput {
          rows.append(input: c.input, output: c.output, rhs: c.rhs, name: name)
          continue
        }
        let nonzero = c.input.indices.filter { c.input[$0] != 0 }
        if nonzero.count == 1, abs(c.input[nonzero[0]]) == 1 {
          let j = nonzero[0]
          if c.input[j] > 0 {
            upper[j] = min(upper[j], c.rhs)
          } else {
            lower[j] = max(lower[j], -c.rhs)
          }
        } else {
          matrix += c.input
          rhs.append(c.rhs)
          rowNames.append(name)
        }
      }
      var unbounded = false
      for j in 0..<n {
        for (side, value) in [("lower", lower[j]), ("upper", upper[j])] where !value.isFinite {
          bag.report(
            Messages.vnnlibUnboundedInput(
              "X_\(j)", side, disjunct: k + 1, of: disjuncts.count),
            at: .file(file.path))
          unbounded = true
        }
      }
      // The first disjunct with an unbounded input is reported (thousands alike would not help).
      if unbounded { return (out, bag) }
      let empty = (0..<n).contains { lower[$0] > upper[$0] }
      let problem: Problem? =
        empty
        ? nil
        : Problem(
          network: network,
          polytope: Polytope(
            dimension: n, matrix: matrix, rhs: rhs, rowNames: rowNames, lower: lower,
            upper: upper),
          objective: Objective(
            sense: .maximize, outputWeights: [Double](repeating: 0, count: m),
            inputWeights: [Double](repeating: 0, count: n)),
          options: options, outputConstraints: rows)
      out.append(PropertyDisjunct(index: k + 1, problem: problem, conditions: conjunction))
    }
    return (out, bag)
  }
}
