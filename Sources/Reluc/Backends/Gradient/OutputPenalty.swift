import RelucBase
import RelucHiGHS
import RelucIR

/// How the gradient methods honour constraints on the outputs (`G x + H y <= h`): the feasible
/// set is no longer convex, so they ascend an exact penalty function and restore feasibility by
/// the region LP at the end of each start.
///
/// - Merit: `F(x) - mu sum_r w_r max(0, G_r x + H_r y(x) - h_r)` with `F` the signed objective,
///   `w_r = (|c| + |d|) / (|G_r| + |H_r|)` (Euclidean norms: a row's penalty gradient is then
///   about as long as the objective's) and `mu` from `initialMultiplier`. On a linear region the
///   merit is piecewise linear; its gradient is the objective's with the violated rows' weights
///   subtracted from `c` and `d`, so the backward pass is the same one pass (with a weight vector
///   per lane in the batched kernel) and an iteration costs `rows x (n + m)` more.
/// - Points: only those that pass the final check (`PointCheck`, with the rows) are kept; the
///   kernel's violation of the last forward pass decides whether the reference check is made.
/// - Restoration and polish: at the end of each start the start's best merit point's activation
///   pattern is fixed and the region LP with every row (`RegionLPSolver.repair`) gives the best
///   feasible point of that region, or proves that it has none. When it has none, `mu` grows by
///   `multiplierGrowth` (up to `maximumMultiplier`) for the starts that follow.
/// - A run that kept no point ends with `no_feasible_point`.
final class OutputPenalty {
  let rows: OutputConstraints
  /// The Euclidean norm of `v`.
  static func norm(_ v: some Collection<Double>) -> Double {
    v.reduce(0) { $0 + $1 * $1 }.squareRoot()
  }

  /// Per row: `w_r` (see the type).
  let weights: [Double]
  /// The current multiplier.
  var multiplier: Double

  /// The first multiplier (`PenaltySettings.initialMultiplier`).
  static var initialMultiplier: Double { PenaltySettings.initialMultiplier }
  static let multiplierGrowth = 10.0
  static let maximumMultiplier = 1e6

  init(problem: Problem) {
    let rows = problem.outputConstraints
    self.rows = rows
    let objectiveNorm = max(
      1e-12,
      Self.norm(problem.objective.outputWeights) + Self.norm(problem.objective.inputWeights))
    weights = (0..<rows.rowCount).map { r in
      objectiveNorm / max(1e-12, Self.norm(rows.inputRow(r)) + Self.norm(rows.outputRow(r)))
    }
    multiplier = Self.initialMultiplier
  }

  /// The penalty at `(x, y)` (strides for the batched kernel's feature-major storage), the
  /// largest scaled violation, and into `active` the weight `mu w_r` of each violated row (0
  /// for the others).
  func evaluate(
    x: UnsafePointer<Double>, xStride: Int, y: UnsafePointer<Double>, yStride: Int,
    active: UnsafeMutablePointer<Double>, activeStride: Int
  ) -> (penalty: Double, violation: Double) {
    var penalty = 0.0
    var worst = 0.0
    let n = rows.inputSize
    let m = rows.outputSize
    for r in 0..<rows.rowCount {
      var s = -rows.rhs[r]
      let gi = r * n
      for j in 0..<n where rows.inputMatrix[gi + j] != 0 {
        s += rows.inputMatrix[gi + j] * x[j * xStride]
      }
      let hi = r * m
      for i in 0..<m where rows.outputMatrix[hi + i] != 0 {
        s += rows.outputMatrix[hi + i] * y[i * yStride]
      }
      if s > 0 || s.isNaN {
        let w = multiplier * weights[r]
        penalty += w * s
        active[r * activeStride] = w
        worst = max(worst, s.isNaN ? .infinity : s / max(1, abs(rows.rhs[r])))
      } else {
        active[r * activeStride] = 0
      }
    }
    return (penalty, worst)
  }

  /// Subtracts the violated rows' `mu w_r H_r` from the output weights `c` (into `g`, strided)
  /// given `active` (from `evaluate`).
  func adjustOutputWeights(
    _ g: UnsafeMutablePointer<Double>, stride: Int, active: UnsafePointer<Double>,
    activeStride: Int
  ) {
    subtractActiveRows(
      rows.outputMatrix, width: rows.outputSize, from: g, stride: stride, active: active,
      activeStride: activeStride)
  }

  /// Subtracts the violated rows' `mu w_r G_r` from an input gradient (strided).
  func adjustInputGradient(
    _ grad: UnsafeMutablePointer<Double>, stride: Int, active: UnsafePointer<Double>,
    activeStride: Int
  ) {
    subtractActiveRows(
      rows.inputMatrix, width: rows.inputSize, from: grad, stride: stride, active: active,
      activeStride: activeStride)
  }

  /// `v -= sum_r w_r M_r` over the rows with a nonzero weight `w_r = active[r * activeStride]`;
  /// `M` row-major with `width` columns, `v` strided.
  private func subtractActiveRows(
    _ matrix: [Double], width: Int, from v: UnsafeMutablePointer<Double>, stride: Int,
    active: UnsafePointer<Double>, activeStride: Int
  ) {
    for r in 0..<rows.rowCount {
      let w = active[r * activeStride]
      if w == 0 { continue }
      for k in 0..<width where matrix[r * width + k] != 0 {
        v[k * stride] -= w * matrix[r * width + k]
      }
    }
  }

  /// After a start whose restoration failed: a larger multiplier for the next starts.
  func grow() {
    multiplier = min(Self.maximumMultiplier, multiplier * Self.multiplierGrowth)
  }
}

/// The penalty's first multiplier, a switch for the measurement of the design
/// (bench/outputs_penalty.py: 0 is restoration alone, with no penalty).
public enum PenaltySettings {
  /// The multiplier `mu` of the first start (see `OutputPenalty`).
  nonisolated(unsafe) public static var initialMultiplier = 10.0
}

/// A kernel's penalty buffers: per lane, the violated rows' weights (`rows x lanes`,
/// feature-major), the penalty and the largest scaled violation of the last forward pass.
final class PenaltyLanes {
  let penalty: OutputPenalty
  let lanes: Int
  let active: UnsafeMutablePointer<Double>
  var values: [Double]
  var violations: [Double]

  init(_ penalty: OutputPenalty, lanes: Int) {
    self.penalty = penalty
    self.lanes = lanes
    let count = max(1, penalty.rows.rowCount * lanes)
    active = .allocate(capacity: count)
    active.initialize(repeating: 0, count: count)
    values = [Double](repeating: 0, count: lanes)
    violations = values
  }

  deinit { active.deallocate() }

  /// Evaluates lane `b` at inputs `x` and outputs `y` (both feature-major over `lanes`); returns
  /// its penalty.
  @discardableResult
  func evaluate(_ b: Int, x: UnsafePointer<Double>, y: UnsafePointer<Double>) -> Double {
    let r = penalty.evaluate(
      x: x + b, xStride: lanes, y: y + b, yStride: lanes, active: active + b, activeStride: lanes)
    values[b] = r.penalty
    violations[b] = r.violation
    return r.penalty
  }

  /// The output weights of lane `b` (`g`, feature-major) less its violated rows' `mu w_r H_r`.
  func adjustOutputWeights(_ g: UnsafeMutablePointer<Double>, _ b: Int) {
    penalty.adjustOutputWeights(g + b, stride: lanes, active: active + b, activeStride: lanes)
  }

  /// Lane `b`'s input gradient (feature-major) less its violated rows' `mu w_r G_r`.
  func adjustInputGradient(_ grad: UnsafeMutablePointer<Double>, _ b: Int) {
    penalty.adjustInputGradient(grad + b, stride: lanes, active: active + b, activeStride: lanes)
  }
}

/// A gradient run's state for the output rows: the penalty shared by its kernels, the region LP
/// of the restorations and their counts, the best merit point of the current start.
final class GradientRows {
  let penalty: OutputPenalty
  var repair: OutputRowRepair
  var startBest: [Double]? = nil
  var startBestMerit = -Double.infinity
  var restorations = 0
  var restored = 0
  var checks = 0
  var increases = 0

  init(problem: Problem) {
    penalty = OutputPenalty(problem: problem)
    repair = OutputRowRepair(problem: problem)
  }
}

extension GradientRun {
  /// `record` with output rows: `f` is the merit, `violation` the kernel's at `v`; the point is
  /// kept when the reference check passes and its objective improves the best.
  mutating func recordWithRows(_ rows: GradientRows, _ v: [Double], _ f: Double, violation: Double)
  {
    if f > rows.startBestMerit {
      rows.startBestMerit = f
      rows.startBest = v
    }
    // Feasible points have merit = objective up to the penalty of a violation within tolerance.
    guard violation <= problem.options.feasibilityTolerance, domain.admits(v) else { return }
    rows.checks += 1
    recordChecked(v)
  }

  /// Keeps `v` when it passes the final check (`PointCheck`) and improves the best.
  mutating func recordChecked(_ v: [Double]) {
    let check = PointCheck(problem: problem, point: v)
    let s = problem.objective.sign
    let f = s * check.objective
    guard check.feasible, f.isFinite, f > bestValue else { return }
    bestValue = f
    best = v
    context.progress?(check.objective, nil, nil)
  }

  /// The end of a start with output rows: the region LP of the start's best merit point (see
  /// `OutputPenalty`); a larger multiplier when that region has no feasible point.
  mutating func restoreStart(_ rows: GradientRows, from point: [Double]?) {
    defer {
      rows.startBest = nil
      rows.startBestMerit = -.infinity
    }
    guard let x = point ?? rows.startBest, !context.shouldStop else { return }
    rows.restorations += 1
    let r = try? rows.repair.repair(x, until: context.deadline)
    guard let r else {
      if rows.penalty.multiplier < OutputPenalty.maximumMultiplier { rows.increases += 1 }
      rows.penalty.grow()
      return
    }
    rows.restored += 1
    if domain.admits(r.point) { recordChecked(r.point) }
  }

  /// The statistics of the rows' handling.
  func rowStatistics(_ rows: GradientRows) -> [(String, JSON)] {
    [
      ("restorations", .int(rows.restorations)), ("restored", .int(rows.restored)),
      ("penalty_increases", .int(rows.increases)),
    ]
  }
}
