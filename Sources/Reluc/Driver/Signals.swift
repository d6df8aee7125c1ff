import Dispatch
import RelucBase
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The process-wide plumbing of a solve run from the command line: SIGINT requests a stop (the
/// best point so far is printed), a fatal signal ends the process with one line, and a progress
/// line on standard error.
public enum RunSignals {
  /// SIGINT sets `Interrupt.flag` (a second one kills at once). A parent may have started us
  /// with SIGINT blocked (Foundation's Process does): it is unblocked.
  public static func installInterruptHandler() {
    var mask = sigset_t()
    sigemptyset(&mask)
    sigaddset(&mask, SIGINT)
    sigprocmask(SIG_UNBLOCK, &mask, nil)
    signal(SIGINT) { _ in
      Interrupt.flag.store(true, ordering: .relaxed)
      signal(SIGINT, SIG_DFL)
    }
  }

  /// A fatal signal while solving (a fault in reluc or in HiGHS) ends the process at once with
  /// a one-line message and exit code 70. Without this, Swift's runtime prints a backtrace from
  /// the signal handler, and when the fault comes from inside HiGHS that handler can itself
  /// fault and deadlock, so the process hangs. `RELUC_BACKTRACE=1` keeps the runtime's handler.
  public static func installCrashGuard() {
    if getenv("RELUC_BACKTRACE") != nil { return }
    for sig in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT] {
      signal(sig) { _ in
        let message: StaticString =
          "reluc: internal error: fatal signal while solving (in reluc or HiGHS); please report it with the model\n"
        _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
        _exit(70)
      }
    }
  }

  /// The progress line of a run: see `ProgressLine`.
  public static func progressLine(method: String, start: Double, console: Console) -> ProgressLine {
    ProgressLine(method: method, start: start, console: console)
  }

  /// The text of the progress line, at most `width - 1` characters (the last column is left
  /// free so the terminal does not wrap).
  public static func progressText(
    method: String, tenths: UInt64, best: Double, bound: Double?, nodes: Int? = nil, width: Int
  ) -> String {
    var line =
      "\(method) \(tenths / 10).\(tenths % 10)s best \(best.isFinite ? significant(best) : "none")"
    if let bound {
      line += " bound \(significant(bound))"
      if best.isFinite {
        line += " gap \(significant(relativeGap(bound, best)))"
      }
    }
    if let nodes { line += " nodes \(nodes)" }
    let room = max(1, width - 1)
    return line.count > room ? String(line.prefix(room)) : line
  }

  /// A number with 8 significant digits (`%.8g`).
  public static func significant(_ x: Double) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    _ = withVaList([x]) { vsnprintf(&buffer, buffer.count, "%.8g", $0) }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The width of the terminal on standard error (80 when it is not a terminal or does not say).
  public static func terminalWidth() -> Int {
    var size = winsize()
    guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
  }

  /// Clears the progress line.
  public static func clearProgressLine(_ console: Console) { console.stderr("\r\u{1B}[K") }
}

/// One line on standard error: method, elapsed seconds (one decimal), best value (`none` before
/// the first point), bound, relative gap and nodes (when the back end gives them; 8 significant
/// digits), clipped to the terminal's width. `callback` (the solve context's `progress`) records
/// the latest values and redraws at most ten times a second; a timer redraws the last values
/// every `redrawInterval` seconds, so that the clock and the search's counts move during long
/// phases in which no back end reports. `stop` ends the redraws (before the line is cleared).
/// `@unchecked`: the one non-`Sendable` member, the Dispatch timer, is thread-safe (it is only
/// resumed in `init` and cancelled in `stop`).
public final class ProgressLine: @unchecked Sendable {
  /// Seconds between two redraws by the timer.
  public static let redrawInterval = 0.5

  private struct State {
    var best = Double.nan
    var bound: Double?
    var nodes: Int?
    /// Whether a back end reported yet (the timer draws `best none` before).
    var heard = false
    var tenths: UInt64 = 0
    var stopped = false
  }

  private let method: String
  private let start: Double
  private let console: Console
  private let state = Mutex(State())
  private let timer: DispatchSourceTimer

  init(method: String, start: Double, console: Console) {
    self.method = method
    self.start = start
    self.console = console
    timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
    timer.schedule(
      deadline: .now() + Self.redrawInterval, repeating: Self.redrawInterval,
      leeway: .milliseconds(50))
    timer.setEventHandler { [weak self] in self?.draw(force: true) }
    timer.resume()
  }

  /// The solve context's progress callback.
  public var callback: @Sendable (Double, Double?, Int?) -> Void {
    { [self] best, bound, nodes in
      // A report without a bound or nodes (a new incumbent) keeps the last ones shown.
      state.withLock {
        $0.best = best
        if let bound { $0.bound = bound }
        if let nodes { $0.nodes = nodes }
        $0.heard = true
      }
      draw(force: false)
    }
  }

  /// Ends the redraws; the line is not drawn again.
  public func stop() {
    state.withLock { $0.stopped = true }
    timer.cancel()
  }

  /// Draws the line, unless stopped; unless `force` (the timer), only after a report and at most
  /// once per tenth of a second.
  private func draw(force: Bool) {
    let tenths = UInt64(max(0, (monotonicSeconds() - start) * 10))
    let line: String? = state.withLock { s in
      guard !s.stopped, force || (s.heard && tenths > s.tenths) else { return nil }
      s.tenths = tenths
      return RunSignals.progressText(
        method: method, tenths: tenths, best: s.best, bound: s.bound, nodes: s.nodes,
        width: RunSignals.terminalWidth())
    }
    // Written under no lock: the timer and a back end may draw at once, each a whole line.
    if let line { console.stderr("\r" + line + "\u{1B}[K") }
  }
}
