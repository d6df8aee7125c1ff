import RelucBase
import RelucIR
import Synchronization

/// One improvement of a solve's incumbent: when (seconds since the solve started), the objective
/// (in the problem's sense) and who found it (a method's name, or a trivial point's origin).
public struct TracePoint: Sendable, Equatable {
  public var seconds: Double
  public var objective: Double
  public var method: String

  public init(seconds: Double, objective: Double, method: String) {
    self.seconds = seconds
    self.objective = objective
    self.method = method
  }
}

/// The incumbent of a solve shared by every back end and thread of it: the best point offered so
/// far (`offer`), who found it, and the trace of improvements. `auto`'s members exchange points
/// through it (LP Walk starts a walk from PPGA's point, PPGA perturbs a walk's point); the trace
/// goes into the JSON report.
///
/// The trace keeps every strict improvement, except that an improvement by the same method as the
/// last two entries, within `coalescing * t + 1 ms` of the one before the last, replaces the last
/// (a gradient ascent improves at every step): every entry is at least that window after the entry
/// two before it, so a chain of improvements leaves an entry about every 2% of the time and the
/// trace stays a few hundred entries long over a minute, spaced logarithmically in time. It is
/// non-decreasing (in the problem's sense) and its last entry is the incumbent.
public final class Incumbents: Sendable {
  /// Relative time window within which an improvement by the same method replaces the last entry
  /// (measured from the entry before the last).
  static let coalescing = 0.02

  struct State {
    var point: [Double]? = nil
    /// `sign * objective` of `point` (to be maximized).
    var value = -Double.infinity
    var method = ""
    /// Counts improvements (a member checks whether the incumbent changed since it last looked).
    var version = 0
    var trace: [TracePoint] = []
  }

  let start: Double
  let sign: Double
  private let state = Mutex(State())

  /// An empty incumbent for a solve that started at `start` (monotonic seconds), of a problem
  /// whose objective has sign `sign` (+1 maximize, -1 minimize).
  public init(start: Double, sign: Double) {
    self.start = start
    self.sign = sign
  }

  /// Offers a point of signed value `value` (`sign * objective`, the caller's forward pass) found
  /// by `method`; keeps it when it improves the incumbent. Returns whether it did.
  @discardableResult
  public func offer(_ x: [Double], value: Double, method: String) -> Bool {
    guard value.isFinite else { return false }
    let t = monotonicSeconds() - start
    return state.withLock { s in
      guard value > s.value else { return false }
      s.value = value
      s.point = x
      s.method = method
      s.version += 1
      let entry = TracePoint(seconds: t, objective: sign * value, method: method)
      // The last entry is replaced when the entry before it is within the window of this one: a
      // chain of improvements keeps an entry about every window (before, an entry that moved
      // with the chain: a climb of seconds showed as one step at its end).
      if s.trace.count > 1, let last = s.trace.last, last.method == method,
        s.trace[s.trace.count - 2].method == method,
        t - s.trace[s.trace.count - 2].seconds < Self.coalescing * t + 1e-3
      {
        s.trace[s.trace.count - 1] = entry
      } else {
        s.trace.append(entry)
      }
      return true
    }
  }

  /// The incumbent: its point, signed value, finder and version (nil before the first point).
  public var best: (point: [Double], value: Double, method: String, version: Int)? {
    state.withLock { s in s.point.map { ($0, s.value, s.method, s.version) } }
  }

  /// The signed value of the incumbent (-infinity before the first point).
  public var value: Double { state.withLock { $0.value } }

  /// The trace of improvements.
  public var trace: [TracePoint] { state.withLock { $0.trace } }

  /// Makes the trace end at the reported objective: appends `(seconds, objective, method)` when
  /// the report's value is not the last entry's (a trivial point `auto` kept, a point no back end
  /// offered); nothing when the report is not better than the last entry.
  func close(objective: Double, seconds: Double, method: String) -> [TracePoint] {
    state.withLock { s in
      let v = sign * objective
      if let last = s.trace.last,
        abs(last.objective - objective) <= 1e-9 * (1 + abs(objective)) || sign * last.objective > v
      {
        return s.trace
      }
      s.trace.append(TracePoint(seconds: seconds, objective: objective, method: method))
      return s.trace
    }
  }
}

extension SolveContext {
  /// Reports a point found by `method` with signed value `value` (`sign * objective`, the
  /// caller's forward pass): offered to the shared incumbent (when the driver made one) and, when
  /// it improves on it, shown on the progress line. Without a shared incumbent (a back end called
  /// directly), only the progress line.
  public func improved(_ x: [Double], value: Double, sign: Double, by method: Method) {
    guard let incumbents else {
      progress?(sign * value, nil, nil)
      return
    }
    if incumbents.offer(x, value: value, method: method.rawValue) {
      progress?(sign * value, nil, nil)
    }
  }
}
