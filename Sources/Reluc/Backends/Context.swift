import RelucBase
import RelucHiGHS
import RelucIR
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The process-wide interrupt request (set by the SIGINT handler of the executable).
public enum Interrupt {
  /// The flag; lock-free, so it may be set from a signal handler.
  public static let flag = Atomic<Bool>(false)
  /// Whether an interrupt was requested.
  public static var requested: Bool { flag.load(ordering: .relaxed) }
}

/// What every back end is given besides the problem: the deadline, the progress line, the log
/// switch, the user's starting points and the interval bounds computed by the driver.
public struct SolveContext: @unchecked Sendable {
  /// When the solve started.
  public var start: Double
  /// When it must stop (monotonic seconds).
  public var deadline: Double
  /// Whether to print the solvers' logs.
  public var verbose: Bool
  /// Called with the best value so far (NaN when there is none yet), the bound and the nodes of
  /// a branch and bound (for the progress line). Back ends call it on a new incumbent and, during
  /// a long search, about every `SolveContext.progressInterval` seconds.
  public var progress: ((_ best: Double, _ bound: Double?, _ nodes: Int?) -> Void)?
  /// Seconds between two periodic progress reports of a search.
  public static let progressInterval = 0.5
  /// Starting points given by the user (`--start`), tried first by the gradient methods and LP
  /// Walk, projected onto the domain; points of the wrong dimension are ignored. A run input
  /// beside the problem, not an option.
  public var userStarts: [[Double]] = []
  /// The interval bounds of the pre-activations of the problem being solved, computed once by
  /// `Solver.solve`; back ends read them through `intervalBounds(_:)`.
  public var bounds: PreactivationBounds?
  /// The incumbent shared by the back ends and threads of this solve, with its trace (made by
  /// `Solver.solve`; nil for a back end called directly). Back ends report new points through
  /// `improved(_:value:sign:by:)`.
  public var incumbents: Incumbents?
  /// Whether the heuristics draw starts until the deadline (the option `starts` is 0, its
  /// default): see `SolveOptions.starts`.
  public func anytime(_ problem: Problem) -> Bool { problem.options.starts == 0 }

  /// A context whose deadline is `timeLimit` seconds from now.
  public init(timeLimit: Double, verbose: Bool = false) {
    start = monotonicSeconds()
    deadline = start + timeLimit
    self.verbose = verbose
  }

  /// The interval bounds of `problem` (the problem being solved): the ones `Solver.solve` put in
  /// the context, or, for a back end called without the driver, computed now.
  public func intervalBounds(_ problem: Problem) -> PreactivationBounds {
    bounds ?? Reluc.intervalBounds(of: problem)
  }

  /// Seconds left before the deadline.
  public var remaining: Double { max(0, deadline - monotonicSeconds()) }

  /// The moment `share` of the way from `start` to `deadline` (a phase's end).
  public func after(share: Double) -> Double { start + share * (deadline - start) }

  /// Set when another part of the solve made this one pointless (`auto`'s MILP proved its
  /// optimum while a heuristic ran beside it); nil: never.
  public var cancellation: Cancellation?

  /// Work of another part of the solve that a gradient run does on its own thread once its
  /// moment has come, between two of its rounds, and then goes on (`auto`'s race: LP Walk's
  /// trial, while PPGA's second worker waits with its lanes and its random stream); nil: none.
  public var interlude: Interlude?

  /// Whether the solve must stop now (deadline, interrupt or cancellation).
  public var shouldStop: Bool {
    Interrupt.requested || monotonicSeconds() >= deadline || cancellation?.cancelled == true
  }

  /// Whether the solve must stop now (`stop` or the deadline passed, or an interrupt).
  public func shouldStop(by stop: Double) -> Bool {
    Interrupt.requested || monotonicSeconds() >= min(stop, deadline)
  }

  /// The status for a solve that stopped early.
  public var stopStatus: SolveStatus { Interrupt.requested ? .interrupted : .timeLimit }
}

extension HighsSolver {
  /// Makes every run of this instance end soon after `stop` (monotonic seconds) passes or an
  /// interrupt is requested, through HiGHS's interrupt callbacks (HiGHS's own `time_limit` is
  /// checked less often, and not at all while it builds its first basis), or `cancellation` is
  /// cancelled.
  func stopping(at stop: Double, cancellation: Cancellation? = nil) throws(HighsError) {
    shouldInterrupt = {
      Interrupt.requested || monotonicSeconds() >= stop || cancellation?.cancelled == true
    }
    try enableInterruptCallbacks()
  }
}

/// A flag that ends a solve running beside another one (`SolveContext.cancellation`).
public final class Cancellation: Sendable {
  private let flag = Atomic<Bool>(false)
  public init() {}
  /// Ends the solves that watch this flag.
  public func cancel() { flag.store(true, ordering: .relaxed) }
  /// Whether `cancel` was called.
  public var cancelled: Bool { flag.load(ordering: .relaxed) }
}

/// Work a run does once on its thread at a set moment (`SolveContext.interlude`): whichever
/// thread first finds it due runs it; later calls do nothing.
public final class Interlude: @unchecked Sendable {
  /// When it is due (monotonic seconds).
  public let at: Double
  private let taken = Atomic<Bool>(false)
  private let body: () -> Void

  public init(at: Double, _ body: @escaping () -> Void) {
    self.at = at
    self.body = body
  }

  /// Whether it has not run yet and its moment has come.
  public var due: Bool { !taken.load(ordering: .relaxed) && monotonicSeconds() >= at }

  /// Runs the work now, unless it ran (or is running) already.
  public func run() {
    guard !taken.exchange(true, ordering: .acquiringAndReleasing) else { return }
    body()
  }
}

/// Spaces periodic progress reports `SolveContext.progressInterval` seconds apart (any thread).
final class ProgressThrottle: Sendable {
  /// When the last report was due, in milliseconds of the monotonic clock.
  private let last = Atomic<Int64>(0)

  /// Whether a report is due now (and, if so, counts it as made).
  func due() -> Bool {
    let now = Int64(monotonicSeconds() * 1000)
    let previous = last.load(ordering: .relaxed)
    guard now - previous >= Int64(SolveContext.progressInterval * 1000) else { return false }
    return last.compareExchange(expected: previous, desired: now, ordering: .relaxed).exchanged
  }
}

/// How the time limit is shared among the phases of a solve, in one place.
public enum Budget {
  /// LP bound tightening (`bounds = lp`) gets this share of the time left when it starts.
  public static let boundTightening = 0.25
  /// The root cut loop of `cuts = root` gets this share of the time left when it starts.
  public static let rootCuts = 0.2
  /// The PPGA warm start before the MILP (`warm_start`, and `auto` on small networks) gets this
  /// share of the whole time limit; the MILP gets the rest.
  public static let warmStart = 0.05
  /// The warm start runs at least this many starts (batched PPGA), whatever `starts` says.
  public static let warmStartStarts = 64
  /// The warm start is skipped (and `auto`'s race runs LP Walk alone) when the network's layers
  /// times this exceeds the time PPGA would get: one forward and backward pass of the batched
  /// kernel costs about this per layer (a network of 10^6 one-neuron layers takes seconds per
  /// pass, and PPGA checks its deadline between passes).
  public static let warmStartSecondsPerLayer = 1e-5
  /// Anytime LP Walk (`lp_walk` alone) is seeded by batched PPGA for this share of the time
  /// limit, at most `walkSeedSeconds`.
  public static let walkSeed = 0.05
  public static let walkSeedSeconds = 2.0
  /// `auto`'s race (anytime): LP Walk is judged at these shares of the time limit and keeps its
  /// core only while it is ahead (else a second PPGA worker takes it for the rest).
  public static let walkChecks = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
  /// An improvement of the incumbent counts as the walk's progress in the race only when it
  /// gains more than this times `1 + |objective|`: a walk started again from a point it had
  /// already walked (PPGA's incumbent, the exchange) can "improve" it by a rounding error.
  public static let walkGain = 1e-6
  /// The heuristics run as the solve's method (gradient methods, LP Walk, `auto`'s race) stop
  /// early by the expected time of the LP of their best point's linear region (`region_polish`),
  /// at most this share of the time limit; the LP gets that time.
  public static let regionPolish = 0.1
  /// The region LP's expected seconds per entry of its matrix (ReLU neurons and output rows
  /// times inputs), solved by row generation (`RegionLPSolver.regionOptimum`): measured 0.06-0.15
  /// microseconds on the grid's networks with 100 and 1000 inputs, from anytime PPGA's point at
  /// 5 s (its rows built and solved; 0.29 s on 1000-500-500-500-500-1, 2e6 entries). About twice
  /// that: a polish that does not solve in time gains nothing, while the time it leaves unused is
  /// a few percent of the search's.
  public static let regionPolishSecondsPerEntry = 3e-7
  /// The region LP's expected seconds besides its entries (its solver's set-up): anytime PPGA
  /// polished in 2-7 ms on networks with 10 inputs and 100-500 neurons, where the entries alone
  /// reserved 1-5 ms and the LP "did not solve in the time left".
  public static let regionPolishSeconds = 0.02
}

/// A back end: solves a problem within a context.
public protocol Backend {
  /// Solves; the result's point (if any) is checked by `SolutionReport` afterwards.
  func solve(_ problem: Problem, _ context: SolveContext) -> SolveResult
}

/// Results written by concurrent solves (the gradient workers, the `auto` race).
final class ResultBox: Sendable {
  private let slots = Mutex<[Int: SolveResult]>([:])

  func set(_ k: Int, _ r: SolveResult) { slots.withLock { $0[k] = r } }

  func get(_ k: Int) -> SolveResult {
    slots.withLock { $0[k] } ?? SolveResult(status: .error, method: .auto)
  }
}

extension SolveResult {
  /// The result of a walk (LP Walk, MILP Walk) that kept no point. A heuristic proves nothing:
  /// with output rows, none of the points it saw met them (`no_feasible_point`, saying how much
  /// was `searched`); otherwise it stopped (time limit, interrupt) or had nowhere to start.
  static func walkWithoutPoint(
    _ method: Method, _ problem: Problem, _ context: SolveContext,
    statistics: [(String, JSON)], searched: String
  ) -> SolveResult {
    if problem.hasOutputConstraints, !Interrupt.requested {
      return SolveResult(
        status: .noFeasiblePoint, method: method, statistics: statistics,
        message: "\(method.rawValue) found no point that satisfies the constraints on the "
          + "outputs in \(searched)")
    }
    return SolveResult(
      status: context.shouldStop ? context.stopStatus : .infeasible, method: method,
      statistics: statistics)
  }
}
