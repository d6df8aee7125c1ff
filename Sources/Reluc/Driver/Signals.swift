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

  /// A progress callback that redraws one line on standard error at most ten times a second:
  /// method, elapsed seconds (one decimal), best value (`none` before the first point), bound,
  /// relative gap and nodes (when the back end gives them; 8 significant digits), clipped to the
  /// terminal's width. Back ends call it on a new incumbent and, during a search, about twice a
  /// second (`SolveContext.progressInterval`).
  public static func progressLine(method: String, start: Double, console: Console) -> (
    @Sendable (Double, Double?, Int?) -> Void
  ) {
    let last = LastDraw()
    return { best, bound, nodes in
      let now = monotonicSeconds()
      let tenths = UInt64(max(0, (now - start) * 10))
      guard tenths > last.tenths.load(ordering: .relaxed) else { return }
      last.tenths.store(tenths, ordering: .relaxed)
      let line = progressText(
        method: method, tenths: tenths, best: best, bound: bound, nodes: nodes, width: terminalWidth())
      console.stderr("\r" + line + "\u{1B}[K")
    }
  }

  /// The text of the progress line, at most `width - 1` characters (the last column is left
  /// free so the terminal does not wrap).
  public static func progressText(
    method: String, tenths: UInt64, best: Double, bound: Double?, nodes: Int? = nil, width: Int
  ) -> String {
    var line = "\(method) \(tenths / 10).\(tenths % 10)s best \(best.isFinite ? significant(best) : "none")"
    if let bound {
      line += " bound \(significant(bound))"
      if best.isFinite {
        line += " gap \(significant(abs(bound - best) / max(1e-12, abs(best))))"
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

/// When the progress line was last drawn, in tenths of a second since the start.
private final class LastDraw: Sendable {
  let tenths = Atomic<UInt64>(0)
}
