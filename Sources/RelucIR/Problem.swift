import RelucBase

/// Optimization sense.
public enum Sense: String, Sendable, Equatable {
  case maximize, minimize
}

/// The feasible set over the inputs: `{x : A x <= b, lower <= x <= upper}`.
public struct Polytope: Sendable, Equatable {
  /// Number of variables (the network's input size).
  public var dimension: Int
  /// A, row-major, `rowCount x dimension`.
  public var matrix: [Double]
  /// b, one per row.
  public var rhs: [Double]
  /// A name per row (the constraint it came from), for reports.
  public var rowNames: [String]
  /// Lower bound per variable (finite after lowering).
  public var lower: [Double]
  /// Upper bound per variable (finite after lowering).
  public var upper: [Double]

  /// Creates a polytope.
  public init(
    dimension: Int, matrix: [Double] = [], rhs: [Double] = [], rowNames: [String] = [],
    lower: [Double], upper: [Double]
  ) {
    self.dimension = dimension
    self.matrix = matrix
    self.rhs = rhs
    self.rowNames = rowNames
    self.lower = lower
    self.upper = upper
  }

  /// Number of rows of A.
  public var rowCount: Int { rhs.count }

  /// Whether the set is a box (no rows).
  public var isBox: Bool { rhs.isEmpty }

  /// Largest violation of any row or bound at `x` (0 when feasible).
  public func maxViolation(_ x: [Double]) -> Double {
    var worst = 0.0
    for j in 0..<dimension {
      worst = max(worst, lower[j] - x[j], x[j] - upper[j])
    }
    for r in 0..<rowCount {
      var s = 0.0
      for j in 0..<dimension { s += matrix[r * dimension + j] * x[j] }
      worst = max(worst, s - rhs[r])
    }
    return worst.isNaN ? .infinity : worst
  }

  /// `v` clamped into input `j`'s bounds.
  @inlinable public func clamp(_ v: Double, _ j: Int) -> Double {
    min(max(v, lower[j]), upper[j])
  }

  /// `x` clamped into the bounds (the box; the rows of A are not looked at).
  public func clamped(_ x: [Double]) -> [Double] {
    x.indices.map { clamp(x[$0], $0) }
  }

  /// Row `r` of A.
  public func row(_ r: Int) -> ArraySlice<Double> {
    matrix[(r * dimension)..<((r + 1) * dimension)]
  }
}

/// The objective `sense  c . y + d . x + constant`.
public struct Objective: Sendable, Equatable {
  /// Maximize or minimize.
  public var sense: Sense
  /// c: one coefficient per network output.
  public var outputWeights: [Double]
  /// d: one coefficient per network input.
  public var inputWeights: [Double]
  /// A constant term.
  public var constant: Double

  /// Creates an objective.
  public init(sense: Sense, outputWeights: [Double], inputWeights: [Double], constant: Double = 0) {
    self.sense = sense
    self.outputWeights = outputWeights
    self.inputWeights = inputWeights
    self.constant = constant
  }

  /// +1 when maximizing, -1 when minimizing: `sign * value` is always to be maximized. The one
  /// place the sense becomes a number.
  public var sign: Double { sense == .maximize ? 1 : -1 }

  /// The objective's value given inputs and outputs.
  public func value(x: [Double], y: [Double]) -> Double {
    var v = constant
    for i in 0..<y.count { v += outputWeights[i] * y[i] }
    for j in 0..<x.count { v += inputWeights[j] * x[j] }
    return v
  }
}

/// The lowered problem every back end reads.
///
/// Invariant (established by `Lowering`, relied on by every later stage): the network has at
/// least one layer and its normalizations are folded into its layers (`inputNormalization` and
/// `outputNormalization` are nil); the polytope's dimension is the network's input size and
/// every input has finite bounds with `lower <= upper`; the objective has one weight per output
/// and per input; `outputConstraints` has the network's input and output sizes; `outputGroups`
/// cover the outputs in order; every option is within its declared range. Back ends do not
/// re-check these.
///
/// Several networks and hidden values are compiled by lowering into the one `network`: its
/// outputs are every network's outputs followed by the exposed hidden values (`outputGroups`
/// names them), so back ends see one network and rows over its inputs and outputs.
public struct Problem: Sendable, Equatable {
  /// The network, normalizations folded.
  public var network: Network
  /// The feasible set of inputs.
  public var polytope: Polytope
  /// The objective.
  public var objective: Objective
  /// Algorithm options, after command-line overrides.
  public var options: SolveOptions
  /// Rows over inputs and outputs (constraints that name an output or a hidden value).
  public var outputConstraints: OutputConstraints
  /// Names of the blocks of outputs, in order.
  public var outputGroups: [OutputGroup]

  /// Creates a problem; without output constraints by default, with one output group named
  /// after the network's output.
  public init(
    network: Network, polytope: Polytope, objective: Objective, options: SolveOptions,
    outputConstraints: OutputConstraints? = nil, outputGroups: [OutputGroup]? = nil
  ) {
    self.network = network
    self.polytope = polytope
    self.objective = objective
    self.options = options
    self.outputConstraints =
      outputConstraints
      ?? .none(inputSize: network.inputSize, outputSize: network.outputSize)
    self.outputGroups =
      outputGroups ?? [OutputGroup(name: network.outputName, range: 0..<network.outputSize)]
  }

  /// Whether some constraint names an output or a hidden value: the feasible set is then not a
  /// polytope over the inputs.
  public var hasOutputConstraints: Bool { !outputConstraints.isEmpty }

  /// The objective at `x` by a reference forward pass, with the outputs.
  public func evaluate(_ x: [Double]) -> (outputs: [Double], objective: Double) {
    let y = network.evaluate(x)
    return (y, objective.value(x: x, y: y))
  }
}
