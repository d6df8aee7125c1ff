import RelucBase
import RelucHiGHS
import RelucIR

/// The MILP's side of the output rows: a point an LP or HiGHS's MILP gives passes its rows only
/// up to HiGHS's tolerances (and a binary within the integrality tolerance of 0 or 1 moves the
/// big-M model's outputs away from the forward pass's), so a point that fails the final check
/// (`PointCheck`) by a little is repaired: its activation pattern fixed, the region LP with every
/// row (`RegionLPSolver.repair`) gives the best point of that region that passes the check, or
/// nothing. Points that violate the rows by more than `repairableViolation` are not tried (far
/// from the rows' boundary, the LP of their region is almost never feasible).
struct OutputRowRepair {
  let problem: Problem
  /// The region LP, built on first use.
  var lp: RegionLPSolver? = nil
  /// Repairs tried and those that gave a point.
  var tried = 0
  var repaired = 0

  /// Scaled violations (`PointCheck.maxViolation`) above this are not repaired.
  static let repairableViolation = 1e-3

  init(problem: Problem) { self.problem = problem }

  /// `x` itself when it passes the final check, else its repair (see the type), else nil; with
  /// the objective by a forward pass. Without output rows, `x` (the polytope is checked by the
  /// callers).
  /// `anyViolation`: try the repair whatever the violation (when there is no point yet).
  mutating func checked(_ x: [Double], until deadline: Double, anyViolation: Bool = false)
    throws(HighsError) -> (point: [Double], objective: Double)?
  {
    guard problem.hasOutputConstraints else { return (x, problem.evaluate(x).objective) }
    let check = PointCheck(problem: problem, point: x)
    if check.feasible { return (x, check.objective) }
    guard anyViolation || check.maxViolation <= Self.repairableViolation else { return nil }
    return try repair(x, until: deadline)
  }

  /// The region LP's repair of `x` (whatever its violation).
  mutating func repair(_ x: [Double], until deadline: Double) throws(HighsError) -> (
    point: [Double], objective: Double
  )? {
    if lp == nil {
      lp = try RegionLPSolver(problem: problem, stop: deadline)
    }
    tried += 1
    guard let r = try lp!.repair(x, timeLimit: max(0.01, deadline - monotonicSeconds())) else {
      return nil
    }
    repaired += 1
    return (r.0, r.1)
  }
}

extension MILPBackend {
  /// A start point for the MILP: dropped when it fails the final check (with output rows, a
  /// heuristic's point is not always feasible), else kept.
  static func admissibleStart(_ x: [Double]?, _ problem: Problem) -> [Double]? {
    guard let x, x.count == problem.network.inputSize else { return nil }
    guard problem.hasOutputConstraints else { return x }
    return PointCheck(problem: problem, point: x).feasible ? x : nil
  }

  /// HiGHS's point made to pass the final check: its columns lie within HiGHS's tolerances of
  /// their bounds, so it is clamped into the inputs' box first; then, if it still fails the
  /// check (an input or output row violated by more than the final check accepts: HiGHS meets
  /// rows within its own tolerances, and a binary within the integrality tolerance of 0 or 1
  /// moves the big-M model's outputs away from the forward pass's), it is repaired (see
  /// `OutputRowRepair`). The objective is the forward pass's, not the big-M model's. Nil with
  /// the reason when neither the point nor its repair passes.
  static func checkedIncumbent(
    _ x: [Double], _ problem: Problem, _ context: SolveContext
  ) -> (point: [Double]?, objective: Double?, note: String?) {
    let x = problem.polytope.clamped(x)
    let check = PointCheck(problem: problem, point: x)
    if check.feasible, check.objective.isFinite { return (x, check.objective, nil) }
    var repair = OutputRowRepair(problem: problem)
    // The repair runs even past the deadline (one LP, bounded by a second): a point HiGHS found
    // is worth keeping.
    let until = max(context.deadline, monotonicSeconds() + 1)
    if let r = try? repair.repair(x, until: until) {
      return (
        r.point, r.objective,
        "HiGHS's point violated the constraints by \(formatNumber(check.maxViolation)) "
          + "(scaled) after the forward pass; the LP of its linear region repaired it"
      )
    }
    return (
      nil, nil,
      "HiGHS's point violates the constraints by \(formatNumber(check.maxViolation)) "
        + "(scaled) after the forward pass, and the LP of its linear region has no point that "
        + "satisfies them; no point is reported"
    )
  }
}
