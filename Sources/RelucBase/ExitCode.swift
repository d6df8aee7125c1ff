/// Process exit codes, in the sysexits tradition. Documented in man/reluc.1 (EXIT STATUS).
public enum RelucExit: Int32, Sendable, Equatable {
  /// Success: solved (whatever the status: optimal, infeasible, time limit), valid, formatted.
  case ok = 0
  /// `fmt --check` found a file that is not canonically formatted.
  case notFormatted = 1
  /// A heuristic found no point satisfying the output constraints (status `no_feasible_point`);
  /// the problem may still be feasible.
  case noPoint = 3
  /// The command line is wrong.
  case usage = 64
  /// The model or the network is wrong (syntax, names, shapes, values, digest).
  case dataError = 65
  /// A file named on the command line or in the model does not exist or cannot be read.
  case noInput = 66
  /// The solver (HiGHS) is unavailable or failed.
  case unavailable = 69
  /// An internal error: a bug in reluc.
  case software = 70
  /// A file could not be written (disk full, permission, a closed pipe).
  case ioError = 74
  /// The run was interrupted (SIGINT); the best point so far was printed.
  case interrupted = 130

  /// The code a run that called for both `a` and then `b` exits with: a usage error wins, then
  /// a missing file, then the first failure.
  public static func worse(_ a: RelucExit, _ b: RelucExit) -> RelucExit {
    for preferred in [RelucExit.usage, .noInput] where a == preferred || b == preferred {
      return preferred
    }
    return a == .ok ? b : a
  }
}
