import RelucBase
import RelucHiGHS
import RelucIR

/// The last step of the heuristics run as the solve's method (`region_polish`): Gradient Walk,
/// PPGA, PPGA_LR, LP Walk and `auto`'s race of PPGA and LP Walk. Their best point's linear region
/// is optimized exactly. A gradient ascent stops at a step tolerance, in single-precision lanes at
/// that precision's rounding, and on a wide input in a region whose optimum is still some way
/// off; the region's optimum is at least as good (the point is in it) and no direction raises the
/// objective without leaving the region. LP Walk's own points are their regions' optima already
/// (no gain, at the cost of one LP).
///
/// The LP is the one of the output rows' repair (`RegionLPSolver`: the region's rows as affine
/// maps of the inputs, n columns, generated as its optimum needs them): from anytime PPGA's point
/// at 5 s it solved in 0.24 s on the grid's 1000-500-500-500-1 and 0.29 s on
/// 1000-500-500-500-500-1 (with every row at once, about a second and 1.5-2.5 s), where LP Walk's
/// lifted LP (`PatternLP`, warm-started from region to region) needed 18 s for its first. Its
/// point, clamped into the inputs' box, is kept only when a forward pass in double
/// says it is better and it passes the final check.
///
/// Time: the method stops early by the LP's expected time (`reserve`), and the LP gets that time
/// (plus whatever the starts left, when they end before the limit); an LP that does not solve
/// in it changes nothing.
///
/// A gain within `roundingGain` (relative) is no gain: re-solving the region of an LP Walk
/// point finds the same vertex, by a forward pass up to 3e-16 higher, which was reported as an
/// improvement (and a trace entry) on the grid.
enum RegionPolish {
  /// Relative gains at most this are rounding: the point is kept.
  static let roundingGain = 1e-12

  /// What the polish did, for the statistic `region_polish`.
  enum Outcome: Equatable {
    case improved(Double)
    case noGain
    case notSolved
    case failed(String)

    var text: String {
      switch self {
      case .improved(let gain): "improved by \(formatNumber(gain)) (relative)"
      case .noGain: "no gain (the point is its region's optimum, up to rounding)"
      case .notSolved: "the region LP did not solve in the time left"
      case .failed(let why): "HiGHS: \(why)"
      }
    }
  }

  /// `search` (a heuristic: a gradient method, LP Walk, `auto`'s race) under `context` stopped
  /// early by `reserve`, its best point then polished.
  static func solve(
    _ problem: Problem, _ context: SolveContext, _ search: (SolveContext) -> SolveResult
  ) -> SolveResult {
    guard problem.options.regionPolish else { return search(context) }
    var early = context
    early.deadline = context.deadline - reserve(problem, context)
    var r = search(early)
    guard let x = r.point, let claimed = r.claimedObjective, claimed.isFinite,
      !Interrupt.requested, context.cancellation?.cancelled != true
    else { return r }
    let started = monotonicSeconds()
    let outcome = polish(&r, x, claimed, problem, context)
    r.statistics.append(("region_polish", .string(outcome.text)))
    r.statistics.append(("region_polish_seconds", .number(monotonicSeconds() - started)))
    return r
  }

  /// The seconds the polish is expected to need: `Budget.regionPolishSeconds`, and
  /// `Budget.regionPolishSecondsPerEntry` per entry of the region LP's matrix (rows: ReLU neurons
  /// and output rows; columns: inputs); at most `Budget.regionPolish` of the time limit.
  static func reserve(_ problem: Problem, _ context: SolveContext) -> Double {
    let net = problem.network
    let rows = net.reluCount + problem.outputConstraints.rowCount
    let expected =
      Budget.regionPolishSeconds + Budget.regionPolishSecondsPerEntry * Double(rows)
      * Double(net.inputSize)
    return min(expected, Budget.regionPolish * (context.deadline - context.start))
  }

  /// Replaces `r`'s point (`x`, objective `claimed`) by its region's optimum when that is better.
  static func polish(
    _ r: inout SolveResult, _ x: [Double], _ claimed: Double, _ problem: Problem,
    _ context: SolveContext
  ) -> Outcome {
    let sign = problem.objective.sign
    do throws(HighsError) {
      let lp = try RegionLPSolver(
        problem: problem, stop: context.deadline, cancellation: context.cancellation)
      guard let (xs, objective) = try lp.repair(x, timeLimit: max(0.001, context.remaining))
      else { return .notSolved }
      let value = sign * objective
      guard value > sign * claimed, relativeGap(objective, claimed) > roundingGain else {
        return .noGain
      }
      r.point = xs
      r.claimedObjective = objective
      context.improved(xs, value: value, sign: sign, by: r.method)
      return .improved(relativeGap(objective, claimed))
    } catch  where error.isStop {
      return .notSolved
    } catch {
      return .failed("\(error)")
    }
  }
}
