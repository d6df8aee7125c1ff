import RelucBase
import RelucIR

/// The check shared by the objective and the constraints: every coefficient and constant of a
/// lowered expression is a finite double. A literal beyond the double range (`1e400` reads as
/// infinity) or arithmetic that overflows (`1e200 * 1e200`, `1e308 + 1e308`, then `inf - inf`)
/// would otherwise reach the solvers as an infinite or NaN coefficient (HiGHS rejects the model,
/// the forward pass prints `nan`); it is an error `non-finite-coefficient` at the expression.
extension Lowering {
  /// Reports `non-finite-coefficient` at `range` and returns false when a coefficient or constant
  /// of `value` is infinite or NaN.
  mutating func finiteCoefficients(_ value: Value, at range: SourceRange) -> Bool {
    for a in value.components {
      let all = Array(a.x.values) + Array(a.y.values) + [a.constant]
      if let bad = all.first(where: { !$0.isFinite }) {
        diagnostics.report(Messages.nonFiniteCoefficient(bad), at: loc(range))
        return false
      }
    }
    return true
  }
}
