internal import CHiGHS

#if canImport(Glibc)
  import Glibc
#endif

/// Rows gathered for one `HighsSolver.addRows` call, in compressed-row form: `beginRow`, then
/// the row's coefficients with `add`.
public struct RowBatch: Sendable {
  fileprivate var lower: [Double] = []
  fileprivate var upper: [Double] = []
  fileprivate var starts: [Int32] = []
  fileprivate var indices: [Int32] = []
  fileprivate var values: [Double] = []

  /// An empty batch.
  public init() {}

  /// The number of rows.
  public var count: Int { lower.count }

  /// Starts the row `lower <= a.x <= upper`.
  public mutating func beginRow(lower: Double, upper: Double) {
    starts.append(Int32(indices.count))
    self.lower.append(lower)
    self.upper.append(upper)
  }

  /// Adds the coefficient `value` of `column` to the current row.
  public mutating func add(_ column: Int, _ value: Double) {
    indices.append(Int32(column))
    values.append(value)
  }
}

/// An error from HiGHS: the call that failed and its status.
public struct HighsError: Error, Sendable, CustomStringConvertible {
  /// What was being done.
  public var call: String
  /// HiGHS's status code.
  public var status: Int32
  /// The stage of reluc that failed, in words after "HiGHS could not" (e.g. "solve the bound
  /// LPs"); set by `highsStage`, the innermost stage kept.
  public var stage: String?
  /// Why, when reluc can tell (a coefficient beyond what HiGHS accepts).
  public var reason: String?
  /// A description for the user: the stage, then the call, then the reason.
  public var description: String {
    if isStop { return "stopped at the time limit or by an interrupt" }
    return (stage.map { "HiGHS could not \($0): " } ?? "")
      + "HiGHS call \(call) failed (status \(status))" + (reason.map { ": " + $0 } ?? "")
  }

  /// Not a HiGHS failure: a model was being built when the deadline passed or an interrupt came
  /// (thrown by reluc's model builders, so that the caller reports its best point so far).
  public static let stopped = HighsError(call: "stopped", status: -1_000)
  /// Whether this is `HighsError.stopped`.
  public var isStop: Bool { call == "stopped" && status == -1_000 }

  /// An error of `call` with HiGHS's status `status`.
  public init(call: String, status: Int32) {
    self.call = call
    self.status = status
  }
}

/// Runs `body`, naming `stage` in a HiGHS error it throws (unless an inner stage was named).
public func highsStage<T>(_ stage: String, _ body: () throws(HighsError) -> T) throws(HighsError)
  -> T
{
  do { return try body() } catch {
    var e = error
    if e.stage == nil { e.stage = stage }
    throw e
  }
}

/// HiGHS's model status after a run.
public enum HighsModelStatus: Sendable, Equatable {
  case optimal, infeasible, unbounded, unboundedOrInfeasible, timeLimit, interrupted
  case iterationLimit, solutionLimit
  case other(Int32)
  /// The dual simplex stopped because its objective passed the `objective_bound` option (on a
  /// minimization): the LP optimum is above that bound.
  case objectiveBound

  init(_ s: Int32) {
    switch s {
    case kHighsModelStatusOptimal: self = .optimal
    case kHighsModelStatusInfeasible: self = .infeasible
    case kHighsModelStatusUnbounded: self = .unbounded
    case kHighsModelStatusUnboundedOrInfeasible: self = .unboundedOrInfeasible
    case kHighsModelStatusTimeLimit: self = .timeLimit
    case kHighsModelStatusInterrupt: self = .interrupted
    case kHighsModelStatusIterationLimit: self = .iterationLimit
    case kHighsModelStatusSolutionLimit: self = .solutionLimit
    case kHighsModelStatusObjectiveBound: self = .objectiveBound
    default: self = .other(s)
    }
  }
}

/// One HiGHS instance, freed with the object. Every C call goes through `check`, which turns an
/// error status into a thrown `HighsError` (a warning status is accepted).
public final class HighsSolver {
  fileprivate let handle: UnsafeMutableRawPointer
  /// Called from HiGHS's interrupt callbacks; returning true stops the solve.
  public var shouldInterrupt: (@Sendable () -> Bool)?
  /// Called when HiGHS finds an improving MIP solution (objective value).
  public var onImprovingSolution: ((Double) -> Void)?
  /// Called from the MIP's interrupt callback (many times a second during a MIP solve) with the
  /// incumbent's value (nil when none), the dual bound and the nodes so far.
  public var onMipProgress: ((_ incumbent: Double?, _ bound: Double, _ nodes: Int64) -> Void)?

  /// Creates an instance with HiGHS's console output off.
  public init() {
    handle = Highs_create()
    _ = Highs_setBoolOptionValue(handle, "output_flag", 0)
    let me = Unmanaged.passUnretained(self).toOpaque()
    _ = Highs_setCallback(handle, highsCallback, me)
  }

  deinit { Highs_destroy(handle) }

  /// The HiGHS version string.
  public static var version: String {
    "\(Highs_versionMajor()).\(Highs_versionMinor()).\(Highs_versionPatch())"
  }

  /// HiGHS's infinity.
  public var infinity: Double { Highs_getInfinity(handle) }

  @discardableResult
  private func check(_ status: Int32, _ call: String) throws(HighsError) -> Int32 {
    if status == kHighsStatusError { throw HighsError(call: call, status: status) }
    return status
  }

  /// Turns HiGHS's log on or off (to stdout).
  /// HiGHS's log goes to standard error through the logging callback (its console log would go to
  /// standard output, mixed with reluc's results).
  public func setLogging(_ on: Bool) throws(HighsError) {
    try check(Highs_setBoolOptionValue(handle, "output_flag", on ? 1 : 0), "output_flag")
    try check(Highs_setBoolOptionValue(handle, "log_to_console", 0), "log_to_console")
    if on { try check(Highs_startCallback(handle, kHighsCallbackLogging), "startCallback") }
  }

  /// Sets a double option.
  public func set(_ name: String, _ v: Double) throws(HighsError) {
    try check(Highs_setDoubleOptionValue(handle, name, v), name)
  }
  /// A double option's value.
  public func double(_ name: String) throws(HighsError) -> Double {
    var v = 0.0
    try check(Highs_getDoubleOptionValue(handle, name, &v), name)
    return v
  }
  /// Sets an integer option.
  public func set(_ name: String, _ v: Int) throws(HighsError) {
    try check(Highs_setIntOptionValue(handle, name, Int32(clamping: v)), name)
  }
  /// Sets a boolean option.
  public func set(_ name: String, _ v: Bool) throws(HighsError) {
    try check(Highs_setBoolOptionValue(handle, name, v ? 1 : 0), name)
  }
  /// Sets a string option.
  public func set(_ name: String, _ v: String) throws(HighsError) {
    try check(Highs_setStringOptionValue(handle, name, v), name)
  }

  /// Number of columns.
  public var columnCount: Int { Int(Highs_getNumCol(handle)) }
  /// Number of rows.
  public var rowCount: Int { Int(Highs_getNumRow(handle)) }

  /// Adds one column with no row entries; returns its index.
  @discardableResult
  public func addColumn(lower: Double, upper: Double, cost: Double = 0, integer: Bool = false)
    throws(HighsError) -> Int
  {
    let j = columnCount
    try check(Highs_addCol(handle, cost, lower, upper, 0, nil, nil), "addCol")
    if integer {
      try check(Highs_changeColIntegrality(handle, Int32(j), kHighsVarTypeInteger), "integrality")
    }
    return j
  }

  /// Adds a row `lower <= sum value_k x_{index_k} <= upper`; returns its index.
  @discardableResult
  public func addRow(lower: Double, upper: Double, indices: [Int32], values: [Double])
    throws(HighsError) -> Int
  {
    let r = rowCount
    try checkRows(
      Highs_addRow(handle, lower, upper, Int32(indices.count), indices, values), "addRow",
      values)
    return r
  }

  /// Adds the rows of `batch` in one call.
  public func addRows(_ batch: RowBatch) throws(HighsError) {
    guard batch.count > 0 else { return }
    try checkRows(
      Highs_addRows(
        handle, Int32(batch.count), batch.lower, batch.upper, Int32(batch.indices.count),
        batch.starts, batch.indices, batch.values),
      "addRows", batch.values)
  }

  /// `check` for rows: HiGHS refuses a matrix coefficient of magnitude `large_matrix_value`
  /// (1e15) or more, which the error then names (its log is off).
  private func checkRows(_ status: Int32, _ call: String, _ values: [Double]) throws(HighsError) {
    guard status == kHighsStatusError else { return }
    var error = HighsError(call: call, status: status)
    var limit = 1e15
    _ = Highs_getDoubleOptionValue(handle, "large_matrix_value", &limit)
    if let worst = values.map(abs).max(), worst >= limit || !worst.isFinite {
      error.reason =
        "a coefficient of magnitude \(Self.shown(worst)) is beyond the largest HiGHS accepts "
        + "(\(Self.shown(limit))); rescale the constraints or the network's weights"
    }
    throw error
  }

  /// A magnitude for messages: a power of ten as `1e15`, otherwise Swift's shortest form.
  private static func shown(_ v: Double) -> String {
    let e = log10(v).rounded()
    return v.isFinite && v > 0 && v == pow(10, e) ? "1e\(Int(e))" : "\(v)"
  }

  /// Sets the objective sense.
  public func setMaximize(_ maximize: Bool) throws(HighsError) {
    try check(
      Highs_changeObjectiveSense(
        handle, maximize ? kHighsObjSenseMaximize : kHighsObjSenseMinimize),
      "changeObjectiveSense")
  }

  /// Sets the cost of a column.
  public func setCost(_ j: Int, _ c: Double) throws(HighsError) {
    try check(Highs_changeColCost(handle, Int32(j), c), "changeColCost")
  }

  /// Sets all costs at once (columns 0..<costs.count).
  public func setCosts(_ costs: [Double]) throws(HighsError) {
    guard !costs.isEmpty else { return }
    try check(
      Highs_changeColsCostByRange(handle, 0, Int32(costs.count - 1), costs), "changeColsCost")
  }

  /// Sets the objective's constant term.
  public func setOffset(_ c: Double) throws(HighsError) {
    try check(Highs_changeObjectiveOffset(handle, c), "changeObjectiveOffset")
  }

  /// Changes a column's bounds.
  public func setColumnBounds(_ j: Int, lower: Double, upper: Double) throws(HighsError) {
    try check(Highs_changeColBounds(handle, Int32(j), lower, upper), "changeColBounds")
  }

  /// Changes a row's bounds.
  public func setRowBounds(_ r: Int, lower: Double, upper: Double) throws(HighsError) {
    try check(Highs_changeRowBounds(handle, Int32(r), lower, upper), "changeRowBounds")
  }

  /// Makes a column integer or continuous.
  public func setInteger(_ j: Int, _ integer: Bool) throws(HighsError) {
    try check(
      Highs_changeColIntegrality(
        handle, Int32(j), integer ? kHighsVarTypeInteger : kHighsVarTypeContinuous),
      "changeColIntegrality")
  }

  /// Gives HiGHS a starting primal solution (all columns).
  public func setSolution(_ x: [Double]) throws(HighsError) {
    try check(Highs_setSolution(handle, x, nil, nil, nil), "setSolution")
  }

  /// Solves the model.
  public func run() throws(HighsError) -> HighsModelStatus {
    let s = Highs_run(handle)
    if s == kHighsStatusError {
      let m = Highs_getModelStatus(handle)
      // HiGHS reports an error status with a meaningful model status on some failures.
      if m == kHighsModelStatusInfeasible || m == kHighsModelStatusUnbounded
        || m == kHighsModelStatusUnboundedOrInfeasible
      {
        return HighsModelStatus(m)
      }
      throw HighsError(call: "run", status: s)
    }
    return HighsModelStatus(Highs_getModelStatus(handle))
  }

  /// Whether a primal solution is available (HiGHS's `primal_solution_status` is feasible).
  public var hasPrimalSolution: Bool {
    var v: Int32 = 0
    _ = Highs_getIntInfoValue(handle, "primal_solution_status", &v)
    return v == 2
  }

  /// The column values of the current solution.
  public func columnValues() -> [Double] {
    var x = [Double](repeating: 0, count: columnCount)
    var rows = [Double](repeating: 0, count: rowCount)
    _ = Highs_getSolution(handle, &x, nil, &rows, nil)
    return x
  }

  /// Replaces the model by the dense LP `max (or min) c.x` s.t. `A x <= b` (row-major `A`, one
  /// row per entry of `b`), `lower <= x <= upper`.
  public func passDenseLP(
    maximize: Bool, cost c: [Double], lower: [Double], upper: [Double], rows a: [Double],
    rhs b: [Double]
  ) throws(HighsError) {
    let n = c.count
    let m = b.count
    precondition(lower.count == n && upper.count == n && a.count == n * m)
    let starts = (0..<m).map { Int32($0 * n) }
    let index = (0..<(n * m)).map { Int32($0 % n) }
    let minusInfinity = [Double](repeating: -infinity, count: m)
    try checkRows(
      Highs_passLp(
        handle, Int32(n), Int32(m), Int32(n * m), kHighsMatrixFormatRowwise,
        maximize ? kHighsObjSenseMaximize : kHighsObjSenseMinimize, 0, c, lower, upper,
        minusInfinity, b, starts, index, a),
      "passLp", a)
  }

  /// The row duals of the current solution (HiGHS's signs).
  public func rowDuals() -> [Double] {
    var x = [Double](repeating: 0, count: columnCount)
    var y = [Double](repeating: 0, count: rowCount)
    _ = Highs_getSolution(handle, &x, nil, nil, &y)
    return y
  }

  /// A dual ray of the rows (a certificate of primal infeasibility, HiGHS's signs), nil when
  /// HiGHS has none.
  public func dualRay() -> [Double]? {
    var has: Int32 = 0
    var ray = [Double](repeating: 0, count: rowCount)
    guard Highs_getDualRay(handle, &has, &ray) != kHighsStatusError, has != 0 else { return nil }
    return ray
  }

  /// The objective of the current solution.
  public var objectiveValue: Double { Highs_getObjectiveValue(handle) }

  /// A double info value (e.g. `mip_dual_bound`, `mip_gap`).
  public func doubleInfo(_ name: String) -> Double? {
    var v = 0.0
    return Highs_getDoubleInfoValue(handle, name, &v) == kHighsStatusOk ? v : nil
  }

  /// An int64 info value (e.g. `mip_node_count`).
  public func int64Info(_ name: String) -> Int64? {
    var v: Int64 = 0
    return Highs_getInt64InfoValue(handle, name, &v) == kHighsStatusOk ? v : nil
  }

  /// An int info value (e.g. `simplex_iteration_count`).
  public func intInfo(_ name: String) -> Int? {
    var v: Int32 = 0
    return Highs_getIntInfoValue(handle, name, &v) == kHighsStatusOk ? Int(v) : nil
  }

  /// Writes the model; the format follows the extension (`.mps`, `.lp`).
  /// Reads a model from an MPS or LP file (replacing the current one).
  public func readModel(_ path: String) throws(HighsError) {
    try check(Highs_readModel(handle, path), "Highs_readModel")
  }

  /// Names column `j` (written to MPS and LP files).
  public func setColumnName(_ j: Int, _ name: String) throws(HighsError) {
    try check(Highs_passColName(handle, Int32(j), name), "Highs_passColName")
  }

  /// Names row `r` (written to MPS and LP files).
  public func setRowName(_ r: Int, _ name: String) throws(HighsError) {
    try check(Highs_passRowName(handle, Int32(r), name), "Highs_passRowName")
  }

  public func writeModel(_ path: String) throws(HighsError) {
    try check(Highs_writeModel(handle, path), "writeModel")
  }

  /// Enables the interrupt callbacks (simplex, IPM, MIP) and the improving-solution callback.
  public func enableCallbacks() throws(HighsError) {
    for c in [
      kHighsCallbackSimplexInterrupt, kHighsCallbackIpmInterrupt, kHighsCallbackMipInterrupt,
      kHighsCallbackMipImprovingSolution,
    ] {
      try check(Highs_startCallback(handle, c), "startCallback")
    }
  }

  /// Enables the interrupt callbacks only (simplex, IPM, MIP): `shouldInterrupt` is then asked
  /// during every run (about every simplex iteration), so a run ends soon after it says true.
  public func enableInterruptCallbacks() throws(HighsError) {
    for c in [
      kHighsCallbackSimplexInterrupt, kHighsCallbackIpmInterrupt, kHighsCallbackMipInterrupt,
    ] {
      try check(Highs_startCallback(handle, c), "startCallback")
    }
  }

  fileprivate func callback(
    _ type: Int32, _ message: UnsafePointer<CChar>?,
    _ out: UnsafePointer<HighsCallbackDataOut>?, _ input: UnsafeMutablePointer<HighsCallbackDataIn>?
  ) {
    if type == kHighsCallbackLogging {
      if let message { _ = write(2, message, strlen(message)) }
      return
    }
    if type == kHighsCallbackMipImprovingSolution, let out {
      onImprovingSolution?(out.pointee.objective_function_value)
      return
    }
    if type == kHighsCallbackMipInterrupt, let out, let onMipProgress {
      let d = out.pointee
      let incumbent =
        d.mip_primal_bound.isFinite && abs(d.mip_primal_bound) < 1e300 ? d.mip_primal_bound : nil
      onMipProgress(incumbent, d.mip_dual_bound, d.mip_node_count)
    }
    if let input, shouldInterrupt?() == true { input.pointee.user_interrupt = 1 }
  }
}

private func highsCallback(
  _ type: Int32, _ message: UnsafePointer<CChar>?, _ out: UnsafePointer<HighsCallbackDataOut>?,
  _ input: UnsafeMutablePointer<HighsCallbackDataIn>?, _ data: UnsafeMutableRawPointer?
) {
  guard let data else { return }
  Unmanaged<HighsSolver>.fromOpaque(data).takeUnretainedValue().callback(type, message, out, input)
}

extension HighsSolver {
  /// Sets the Hessian to the identity on the first `n` columns (objective `1/2 |x|^2 + c.x`).
  public func setIdentityHessian(_ n: Int) throws(HighsError) {
    let start = (0...n).map { Int32($0) }
    let index = (0..<n).map { Int32($0) }
    let value = [Double](repeating: 1, count: n)
    let s = Highs_passHessian(
      handle, Int32(n), Int32(n), kHighsHessianFormatTriangular, start, index, value)
    if s == kHighsStatusError { throw HighsError(call: "passHessian", status: s) }
  }
}

extension HighsSolver {
  /// Deletes rows `from...to` (inclusive); the columns and their basis statuses stay, so the next
  /// run starts from the previous basis where it is still valid.
  public func deleteRows(from: Int, to: Int) throws(HighsError) {
    guard to >= from else { return }
    let s = Highs_deleteRowsByRange(handle, Int32(from), Int32(to))
    if s == kHighsStatusError { throw HighsError(call: "deleteRowsByRange", status: s) }
  }
}

extension HighsSolver {
  /// Destroys HiGHS's process-wide thread pool, so that the next run sizes it from its `threads`
  /// option. Only safe while no other HiGHS instance is running.
  public static func resetThreadPool() { Highs_resetGlobalScheduler(1) }
}

extension HighsSolver {
  /// Cumulative wall-clock seconds spent in `run` by this instance.
  public var runSeconds: Double { Highs_getRunTime(handle) }

  /// Limits the next `run` to `seconds` (at least 10 ms). HiGHS's `time_limit` is compared with
  /// the instance's cumulative run time, not with the time of one run: an instance that solves
  /// many LPs would stop early, so the limit is set past the time already spent.
  public func setTimeLimit(_ seconds: Double) throws(HighsError) {
    try set("time_limit", runSeconds + max(0.01, seconds))
  }
}

/// A simplex basis: HiGHS's status of every column and row (lower, basic, upper, zero, nonbasic).
public struct HighsBasis: Sendable, Equatable {
  public var columns: [Int32]
  public var rows: [Int32]

  /// Nonbasic at the lower bound.
  public static let lower: Int32 = Int32(kHighsBasisStatusLower)
  /// Basic.
  public static let basic: Int32 = Int32(kHighsBasisStatusBasic)
  /// Nonbasic at the upper bound.
  public static let upper: Int32 = Int32(kHighsBasisStatusUpper)
}

extension HighsSolver {
  /// The current basis, if HiGHS has a valid one.
  public func basis() -> HighsBasis? {
    guard intInfo("basis_validity") == 1 else { return nil }
    var b = HighsBasis(
      columns: [Int32](repeating: 0, count: columnCount),
      rows: [Int32](repeating: 0, count: rowCount))
    guard Highs_getBasis(handle, &b.columns, &b.rows) == kHighsStatusOk else { return nil }
    return b
  }

  /// Makes `b` the starting basis of the next run; false (and the basis unchanged) when it does
  /// not fit the model's dimensions or HiGHS rejects it.
  @discardableResult
  public func setBasis(_ b: HighsBasis) -> Bool {
    guard b.columns.count == columnCount, b.rows.count == rowCount else { return false }
    return Highs_setBasis(handle, b.columns, b.rows) != kHighsStatusError
  }
}
