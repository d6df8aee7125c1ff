import RelucBase

/// Linear rows over the inputs and the network's outputs: `G x + H y <= h`, one row per
/// constraint side that names an output (or a hidden value, which lowering exposes as an output).
/// Constraints naming inputs only stay in the `Polytope`.
public struct OutputConstraints: Sendable, Equatable {
  /// Number of inputs (columns of G).
  public var inputSize: Int
  /// Number of outputs (columns of H).
  public var outputSize: Int
  /// G, row-major, `rowCount x inputSize`.
  public var inputMatrix: [Double]
  /// H, row-major, `rowCount x outputSize`.
  public var outputMatrix: [Double]
  /// h, one per row.
  public var rhs: [Double]
  /// A name per row (the constraint it came from), for reports.
  public var rowNames: [String]

  /// Creates the rows; matrices row-major.
  public init(
    inputSize: Int, outputSize: Int, inputMatrix: [Double] = [], outputMatrix: [Double] = [],
    rhs: [Double] = [], rowNames: [String] = []
  ) {
    precondition(inputMatrix.count == rhs.count * inputSize)
    precondition(outputMatrix.count == rhs.count * outputSize)
    self.inputSize = inputSize
    self.outputSize = outputSize
    self.inputMatrix = inputMatrix
    self.outputMatrix = outputMatrix
    self.rhs = rhs
    self.rowNames = rowNames.count == rhs.count ? rowNames : rhs.indices.map { "row\($0)" }
  }

  /// No rows.
  public static func none(inputSize: Int, outputSize: Int) -> OutputConstraints {
    OutputConstraints(inputSize: inputSize, outputSize: outputSize)
  }

  /// Number of rows.
  public var rowCount: Int { rhs.count }

  /// Whether there are no rows.
  public var isEmpty: Bool { rhs.isEmpty }

  /// Appends the row `g . x + h . y <= b`.
  public mutating func append(input g: [Double], output h: [Double], rhs b: Double, name: String) {
    precondition(g.count == inputSize && h.count == outputSize)
    inputMatrix += g
    outputMatrix += h
    rhs.append(b)
    rowNames.append(name)
  }

  /// Row `r` of G.
  public func inputRow(_ r: Int) -> ArraySlice<Double> {
    inputMatrix[(r * inputSize)..<((r + 1) * inputSize)]
  }

  /// Row `r` of H.
  public func outputRow(_ r: Int) -> ArraySlice<Double> {
    outputMatrix[(r * outputSize)..<((r + 1) * outputSize)]
  }

  /// `G_r x + H_r y` (the row's left-hand side).
  public func lhs(_ r: Int, x: [Double], y: [Double]) -> Double {
    var s = 0.0
    let gi = r * inputSize
    for j in 0..<inputSize where inputMatrix[gi + j] != 0 { s += inputMatrix[gi + j] * x[j] }
    let hi = r * outputSize
    for i in 0..<outputSize where outputMatrix[hi + i] != 0 { s += outputMatrix[hi + i] * y[i] }
    return s
  }

  /// The row's violation scaled by `max(1, |h_r|)` (0 when it holds; infinity for NaN). The
  /// scale keeps the feasibility test relative for rows with large right-hand sides.
  public func scaledViolation(_ r: Int, x: [Double], y: [Double]) -> Double {
    let v = lhs(r, x: x, y: y) - rhs[r]
    if v.isNaN { return .infinity }
    return max(0, v) / max(1, abs(rhs[r]))
  }

  /// The largest scaled violation of any row at `(x, y)` (0 when all hold).
  public func maxScaledViolation(x: [Double], y: [Double]) -> Double {
    var worst = 0.0
    for r in 0..<rowCount { worst = max(worst, scaledViolation(r, x: x, y: y)) }
    return worst
  }
}

/// A named block of the network's outputs, for reports: a network's output vector (`y`,
/// `cost.y`) or an exposed hidden value (`net.layer2`), with its positions among the outputs.
public struct OutputGroup: Sendable, Equatable {
  /// The name the model uses (printed as `name[i]`).
  public var name: String
  /// The positions among the combined outputs.
  public var range: Range<Int>
  /// Whether the block is shown as a solution's outputs (hidden values exposed only for
  /// constraints are not).
  public var isResult: Bool

  /// Creates a group.
  public init(name: String, range: Range<Int>, isResult: Bool = true) {
    self.name = name
    self.range = range
    self.isResult = isResult
  }
}
