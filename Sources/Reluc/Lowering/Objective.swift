import RelucBase
import RelucIR

/// The objective statement.
extension Lowering {

  mutating func lowerObjective(_ net: Network) -> Objective? {
    var found: (Sense, Expr, SourceRange)? = nil
    for s in model.statements {
      guard case .objective(let sense, let e, let range) = s else { continue }
      if let first = found {
        diagnostics.report(
          Messages.duplicateObjective, at: loc(range),
          notes: [DiagnosticNote("first objective here", at: loc(first.2))])
        continue
      }
      found = (sense, e, range)
    }
    guard let (sense, e, _) = found else {
      diagnostics.report(Messages.missingObjective, at: .range(file.path, SourceRange(0, 0)))
      return nil
    }
    guard let v = evaluate(e, Scope(), net) else { return nil }
    guard case .scalar(let a) = v else {
      diagnostics.report(Messages.vectorObjective(v.components.count), at: loc(e.range))
      return nil
    }
    guard finiteCoefficients(v, at: e.range) else { return nil }
    var c = [Double](repeating: 0, count: net.outputSize)
    var d = [Double](repeating: 0, count: net.inputSize)
    for (k, w) in a.y { c[k] = w }
    for (k, w) in a.x { d[k] = w }
    if (c + d).contains(where: { abs($0) > 1e9 }) {
      diagnostics.report(Messages.hugeCoefficient, at: loc(e.range))
    }
    return Objective(sense: sense, outputWeights: c, inputWeights: d, constant: a.constant)
  }
}
