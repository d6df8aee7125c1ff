import RelucBase
import RelucIR

/// How a solve ended.
public enum SolveStatus: String, Sendable, Equatable {
  /// Proven optimal (within the MIP gap): only the exact MILP says this.
  case optimal
  /// A feasible point found by a heuristic, optimality not proven.
  case feasible
  /// The time limit was reached; the best point so far is reported, if any.
  case timeLimit = "time_limit"
  /// The polytope of inputs is empty.
  case infeasible
  /// The objective is unbounded (impossible after validation; reported if a solver says so).
  case unbounded
  /// Stopped by SIGINT; the best point so far is reported, if any.
  case interrupted
  /// The reported point failed the final forward-pass or feasibility check.
  case checkFailed = "check_failed"
  /// The solver failed.
  case error
  /// A heuristic ended without a point that satisfies the output constraints; nothing proven
  /// (only the exact methods say `infeasible`).
  case noFeasiblePoint = "no_feasible_point"
}

/// What a back end returns: the best point it found and what it knows about it.
public struct SolveResult: Sendable {
  /// How it ended.
  public var status: SolveStatus
  /// The method that produced the point.
  public var method: Method
  /// The best input point, if any.
  public var point: [Double]?
  /// The objective at `point` as the back end computed it.
  public var claimedObjective: Double?
  /// A proven bound on the optimum (MILP), in the problem's sense.
  public var bound: Double?
  /// Method statistics, in display order (iterations, regions, nodes, ...).
  public var statistics: [(String, JSON)] = []
  /// A message for the user (solver failures).
  public var message: String?

  /// Creates a result.
  public init(
    status: SolveStatus, method: Method, point: [Double]? = nil, claimedObjective: Double? = nil,
    bound: Double? = nil, statistics: [(String, JSON)] = [], message: String? = nil
  ) {
    self.status = status
    self.method = method
    self.point = point
    self.claimedObjective = claimedObjective
    self.bound = bound
    self.statistics = statistics
    self.message = message
  }
}

/// A point checked against a problem: a reference forward pass, the objective, and the largest
/// violation of a constraint or bound, scaled: input bounds and rows by the largest input bound
/// magnitude (at least 1), output rows by `max(1, |rhs|)`. Feasible when the scaled violation is
/// at most `feasibility_tolerance`. The one rule
/// `eval` and every solution report use.
public struct PointCheck: Sendable {
  /// The network's outputs at the point.
  public var outputs: [Double]
  /// The objective at the point.
  public var objective: Double
  /// Largest violation of a constraint or bound (0 when feasible; infinity for NaN).
  public var maxViolation: Double
  /// Whether the violation is within the scaled tolerance.
  public var feasible: Bool

  /// Checks `point` (of the network's input size) against `problem`.
  public init(problem: Problem, point x: [Double]) {
    (outputs, objective) = problem.evaluate(x)
    let scale = max(1, problem.polytope.upper.map(abs).max() ?? 1)
    // Input rows and bounds: relative to the largest input bound; output rows: relative to
    // their right-hand side (`OutputConstraints.scaledViolation`). Both against the same
    // tolerance, so the largest violation is reported in those units.
    let inputViolation = problem.polytope.maxViolation(x) / scale
    let outputViolation = problem.outputConstraints.maxScaledViolation(x: x, y: outputs)
    maxViolation = max(inputViolation, outputViolation)
    feasible = maxViolation <= problem.options.feasibilityTolerance
  }
}

extension SolveStatus {
  /// The exit code a solve that ended so calls for: 70 when a point failed its final check,
  /// 69 when the solver failed, 130 when interrupted, 0 otherwise (a result, even `infeasible`).
  public var exitCode: RelucExit {
    switch self {
    case .checkFailed: return .software
    case .error: return .unavailable
    case .interrupted: return .interrupted
    case .noFeasiblePoint: return .noPoint
    default: return .ok
    }
  }
}

/// A solution as reported: the back end's result re-checked by a reference forward pass and
/// against the constraints. Every solution leaves reluc through this type.
public struct SolutionReport: Sendable {
  /// The final status (downgraded to `check_failed` when the check fails).
  public var status: SolveStatus
  /// The method that found the point.
  public var method: Method
  /// The input point.
  public var point: [Double]?
  /// The network's outputs at the point (reference forward pass).
  public var outputs: [Double]?
  /// The objective at the point (reference forward pass).
  public var objective: Double?
  /// Proven bound (MILP).
  public var bound: Double?
  /// Relative gap between objective and bound.
  public var gap: Double?
  /// Largest violation of a constraint or bound at the point.
  public var maxViolation: Double?
  /// |claimed objective - recomputed objective|.
  public var objectiveDiscrepancy: Double?
  /// Wall-clock seconds of the solve.
  public var seconds: Double
  /// Statistics from the back end.
  public var statistics: [(String, JSON)]
  /// A message for the user.
  public var message: String?
  /// The incumbent's improvements (seconds, objective, finder), ending at the reported objective
  /// (`Incumbents`); empty when no back end reported a point.
  public var trace: [TracePoint] = []

  /// Checks a back end's result: forward pass, constraint violation, objective discrepancy.
  /// A point that violates the constraints by more than the tolerance, or whose objective differs
  /// from the claimed one by more than `1e-6 (1 + |f|)`, makes the status `check_failed`.
  public init(problem: Problem, result: SolveResult, seconds: Double) {
    status = result.status
    method = result.method
    point = result.point
    bound = result.bound
    self.seconds = seconds
    statistics = result.statistics
    message = result.message
    guard let x = result.point else {
      // No point: a stopped solve says that it found none (never silent about it).
      if message == nil, status == .timeLimit || status == .interrupted {
        message =
          "\(method.rawValue) found no point before it \(status == .timeLimit ? "reached the time limit" : "was interrupted")"
      }
      return
    }
    let check = PointCheck(problem: problem, point: x)
    let (y, f, violation) = (check.outputs, check.objective, check.maxViolation)
    outputs = y
    objective = f
    maxViolation = violation
    var ok = check.feasible && f.isFinite
    if let c = result.claimedObjective {
      let diff = abs(c - f)
      objectiveDiscrepancy = diff
      if !(diff <= 1e-6 * (1 + abs(f))) { ok = false }
    }
    if let b = result.bound, f.isFinite, b.isFinite {
      gap = relativeGap(b, f)
    }
    if !ok {
      status = .checkFailed
      message =
        (message.map { $0 + "; " } ?? "")
        + "the point failed the final check (violation \(finiteText(violation)), objective discrepancy \(finiteText(objectiveDiscrepancy ?? 0)))"
    }
  }

  /// The report as JSON (schema in man/reluc.1, JSON OUTPUT).
  public func json(problem: Problem) -> JSON {
    func vec(_ v: [Double]?) -> JSON { v.map { .array($0.map { .number($0) }) } ?? .null }
    func num(_ v: Double?) -> JSON { v.map { .number($0) } ?? .null }
    var fields: [(String, JSON)] = [
      ("status", .string(status.rawValue)),
      ("method", .string(method.rawValue)),
      ("sense", .string(problem.objective.sense.rawValue)),
      ("objective", num(objective)),
      ("bound", num(bound)),
      ("gap", num(gap)),
      (problem.network.inputName, vec(point)),
    ]
    for g in problem.resultGroups {
      fields.append((g.name, outputs.map { vec(Array($0[g.range])) } ?? .null))
    }
    let hidden = problem.outputGroups.filter { !$0.isResult }
    if !hidden.isEmpty, let outputs {
      fields.append(
        ("hidden", .object(hidden.map { ($0.name, .number(outputs[$0.range.lowerBound])) })))
    }
    fields += [
      (
        "check",
        .object([
          ("max_violation", num(maxViolation)),
          ("objective_discrepancy", num(objectiveDiscrepancy)),
        ])
      ),
      ("seconds", .number((seconds * 1000).rounded() / 1000)),
      ("statistics", .object(statistics)),
      (
        "trace",
        .array(
          trace.map {
            .array([
              .number(($0.seconds * 1000).rounded() / 1000), .number($0.objective),
              .string($0.method),
            ])
          })
      ),
      ("message", message.map { .string($0) } ?? .null),
    ]
    return .object(fields)
  }

  /// The report as text for a terminal.
  public func text(problem: Problem) -> String {
    var out = "status: \(status.rawValue)\nmethod: \(method.rawValue)\n"
    if let objective { out += "objective: \(finiteText(objective))\n" }
    if let bound { out += "bound: \(formatNumber(bound))\n" }
    if let gap { out += "gap: \(formatNumber(gap))\n" }
    if let point {
      for (j, v) in point.enumerated() {
        out += "\(problem.network.inputName)[\(j)] = \(formatNumber(v))\n"
      }
    }
    if let outputs {
      for (name, values) in problem.resultOutputs(outputs) {
        for (i, v) in values.enumerated() { out += "\(name)[\(i)] = \(finiteText(v))\n" }
      }
    }
    if let maxViolation {
      out += "check: max violation \(finiteText(maxViolation))"
      if let d = objectiveDiscrepancy { out += ", objective discrepancy \(finiteText(d))" }
      out += "\n"
    }
    out += "time: \(formatNumber((seconds * 1000).rounded() / 1000)) s\n"
    for (k, v) in statistics { out += "\(k): \(v.rendered(indent: nil))\n" }
    if let message { out += "message: \(message)\n" }
    return out
  }
}

/// A number for the text report: `formatNumber`, or words for infinities and NaN (never `nan`).
func finiteText(_ v: Double) -> String {
  if v.isFinite { return formatNumber(v) }
  if v.isNaN { return "not a number (the forward pass overflowed)" }
  return v > 0 ? "+infinity" : "-infinity"
}

/// The relative gap between a bound (or another value) and a point's value:
/// `|bound - value| / max(1e-10, |value|)`, as reports, the progress line and statistics give it.
public func relativeGap(_ bound: Double, _ value: Double) -> Double {
  abs(bound - value) / max(1e-10, abs(value))
}

/// One constraint row at a point, for `eval`.
public struct RowCheck: Sendable, Equatable {
  /// The constraint's name (`name[i]` for quantified ones).
  public var name: String
  /// The row's left side `a . x` (input rows) or `G x + H y` (output rows).
  public var lhs: Double
  /// Its right side.
  public var rhs: Double
  /// `max(0, lhs - rhs)`.
  public var violation: Double
}

extension Problem {
  /// The output groups printed with a solution (hidden values are not).
  public var resultGroups: [OutputGroup] { outputGroups.filter(\.isResult) }

  /// The outputs of each result group, named.
  public func resultOutputs(_ y: [Double]) -> [(String, [Double])] {
    resultGroups.map { ($0.name, Array(y[$0.range])) }
  }

  /// Every row (input rows, then output rows) at `x` with outputs `y`, in `<=` form.
  public func rowChecks(x: [Double], y: [Double]) -> [RowCheck] {
    var out: [RowCheck] = []
    for r in 0..<polytope.rowCount {
      var s = 0.0
      for (j, a) in polytope.row(r).enumerated() { s += a * x[j] }
      out.append(
        RowCheck(
          name: polytope.rowNames[r], lhs: s, rhs: polytope.rhs[r],
          violation: max(0, s - polytope.rhs[r])))
    }
    let oc = outputConstraints
    for r in 0..<oc.rowCount {
      let s = oc.lhs(r, x: x, y: y)
      out.append(
        RowCheck(name: oc.rowNames[r], lhs: s, rhs: oc.rhs[r], violation: max(0, s - oc.rhs[r])))
    }
    return out
  }
}
