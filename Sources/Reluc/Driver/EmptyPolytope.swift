import RelucBase
import RelucIR

extension Emptiness {
  /// The result of a solve that ends before any back end (`Solver.emptyPolytope`): `infeasible`
  /// with what was proven, `error` when the emptiness LP did not decide, nil when the polytope
  /// has a point. With output rows a polytope that has a point does not make the problem
  /// feasible: only the MILP (a proof) says `infeasible` then; the heuristics say
  /// `no_feasible_point`.
  func result(_ method: Method) -> SolveResult? {
    switch self {
    case .nonEmpty:
      return nil
    case .empty(let tolerance, let least):
      let measured =
        least.map { "; the closest input HiGHS finds violates them by \(formatNumber($0))" } ?? ""
      return SolveResult(
        status: .infeasible, method: method,
        message: "the constraints on the inputs have no common point (HiGHS proves the LP "
          + "infeasible at primal feasibility tolerance \(formatNumber(tolerance)))" + measured)
    case .undecided(let reason):
      return SolveResult(
        status: .error, method: method,
        message:
          "could not decide whether the constraints on the inputs have a common point: \(reason)")
    }
  }
}
