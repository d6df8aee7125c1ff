import RelucBase
import RelucIR

/// The objective statement.
extension Lowering {

  /// The objective's sense and form over the inputs and the combined outputs (hidden values
  /// it names are exposed).
  mutating func lowerObjective(_ net: Symbols) -> (sense: Sense, form: Affine)? {
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
    if (Array(a.x.values) + Array(a.y.values)).contains(where: { abs($0) > 1e9 }) {
      diagnostics.report(Messages.hugeCoefficient, at: loc(e.range))
    }
    return (sense, a)
  }
}
