import RelucBase
import RelucHiGHS
import RelucIR

/// The big-M MILP of a ReLU network over a polytope (Fischetti and Jo 2018; Anderson et al. 2020,
/// eq. (2)), built in HiGHS. For a ReLU neuron with pre-activation `z = w.h + b` in `[L, U]`:
/// - `U <= 0`: the neuron is 0 (no column);
/// - `L >= 0`: a continuous column `a = z` (no binary);
/// - otherwise `a >= 0`, `a >= z`, `a <= z - L (1 - delta)`, `a <= U delta`, delta binary.
/// Linear layers get a column `a = z`. The objective is on the output columns and the inputs.
/// With `relaxed` the binaries are continuous in [0, 1] (the LP relaxation).
/// With `stop`, building ends with `HighsError.stopped` once that time (monotonic seconds) has
/// passed or an interrupt is requested (checked every `stopCheckNeurons` neurons): on a network of
/// millions of neurons building alone can outlast the time limit.
///
/// With `objective` (the whole network built, linear output layer after a ReLU layer), an unstable
/// neuron of the last hidden layer whose effective objective coefficient `g_j = sum_k c_k W[k][j]`
/// works against it (`g_j <= 0` when maximizing, `>= 0` when minimizing) keeps only its convex
/// side, `a >= 0` and `a >= z`, with no binary: `a_j` appears in no other row, so any solution
/// can lower `a_j` to `max(0, z_j)` without losing objective; the optimum and the dual bound are
/// those of the full MILP.
struct BigMModel {
  let solver: HighsSolver
  /// Column of each input.
  var inputColumns: [Int] = []
  /// Per layer, per neuron: the column holding its activation, or nil when it is constant 0.
  var activationColumns: [[Int?]] = []
  /// Per layer, per neuron: the binary's column, if any.
  var binaryColumns: [[Int?]] = []
  var binaries = 0
  /// Unstable neurons of the last hidden layer kept without a binary (convex side only).
  var convexSide = 0
  var stableActive = 0
  var stableInactive = 0
  /// Every unstable ReLU, for the cut separation: its columns, bias and the bounded terms of its
  /// pre-activation (previous activation column, weight, and that activation's bounds).
  var unstable: [UnstableNeuron] = []

  /// How the neurons were formulated (for the statistics).
  struct Counts {
    var binaries: Int
    var convexSide: Int
    var stableActive: Int
    var stableInactive: Int
  }

  var counts: Counts {
    Counts(
      binaries: binaries, convexSide: convexSide, stableActive: stableActive,
      stableInactive: stableInactive)
  }

  struct UnstableNeuron {
    var activation: Int
    var binary: Int
    var bias: Double
    var terms: [(column: Int, weight: Double, lower: Double, upper: Double)]
  }

  /// How many neurons are added between two checks of `stop` while building.
  static let stopCheckNeurons = 512

  init(
    problem: Problem, bounds: PreactivationBounds, relaxed: Bool = false, layers: Int? = nil,
    objective: Objective? = nil, stop: Double? = nil
  ) throws(HighsError) {
    solver = HighsSolver()
    if relaxed {
      // Devex pricing: the relaxations are re-solved after small changes and basis restores,
      // after each of which HiGHS would recompute its dual steepest-edge weights (a BTRAN per
      // row); Devex keeps its weights.
      try solver.set("simplex_dual_edge_weight_strategy", 1)
    }
    let net = problem.network
    let poly = problem.polytope
    inputColumns = try solver.addPolytope(poly)
    var previous = Layer(columns: inputColumns.map { $0 }, lower: poly.lower, upper: poly.upper)
    let layerCount = layers ?? net.layers.count
    // The convex-side rule needs the last hidden layer to reach the objective only: rows on the
    // outputs would see the activations it lowers.
    let convexOnly = Self.convexSideNeurons(
      net,
      objective: layerCount == net.layers.count && !Self.rowsNameOutputs(problem)
        ? objective : nil)
    activationColumns.reserveCapacity(layerCount)
    binaryColumns.reserveCapacity(layerCount)
    var added = 0
    for l in 0..<layerCount {
      let layer = net.layers[l]
      var cols: [Int?] = []
      var bins: [Int?] = []
      cols.reserveCapacity(layer.outputSize)
      bins.reserveCapacity(layer.outputSize)
      for i in 0..<layer.outputSize {
        added += 1
        if let stop, added % Self.stopCheckNeurons == 0,
          Interrupt.requested || monotonicSeconds() >= stop
        {
          throw HighsError.stopped
        }
        let (a, delta) = try addNeuron(
          layer, i, after: previous, lower: bounds.lower[l][i], upper: bounds.upper[l][i],
          free: l == net.layers.count - 1, convexOnly: l == net.layers.count - 2 && convexOnly[i],
          relaxed: relaxed)
        cols.append(a)
        bins.append(delta)
      }
      activationColumns.append(cols)
      binaryColumns.append(bins)
      let relu = layer.activation == .relu
      previous = Layer(
        columns: cols, lower: bounds.lower[l].map { relu ? max(0, $0) : $0 },
        upper: bounds.upper[l].map { relu ? max(0, $0) : $0 })
    }
    if layerCount == net.layers.count { try addOutputRows(problem) }
  }

  /// The first of the output rows (`addOutputRows`), or nil when there are none.
  var outputRowStart: Int? = nil

  /// Whether some output row has a nonzero coefficient on an output.
  static func rowsNameOutputs(_ problem: Problem) -> Bool {
    problem.outputConstraints.outputMatrix.contains { $0 != 0 }
  }

  /// The rows `G x + H y <= h` over the input and output columns, exactly (an output without a
  /// column is constant 0).
  mutating func addOutputRows(_ problem: Problem) throws(HighsError) {
    let oc = problem.outputConstraints
    guard !oc.isEmpty else { return }
    outputRowStart = solver.rowCount
    var rows = RowBatch()
    let outputs = activationColumns.last!
    for r in 0..<oc.rowCount {
      rows.beginRow(lower: -solver.infinity, upper: oc.rhs[r])
      for (j, g) in oc.inputRow(r).enumerated() where g != 0 { rows.add(inputColumns[j], g) }
      for (i, h) in oc.outputRow(r).enumerated() where h != 0 {
        if let c = outputs[i] { rows.add(c, h) }
      }
    }
    try solver.addRows(rows)
  }

  /// A layer's activation columns (nil: constant 0) and their bounds, as the next layer sees them.
  struct Layer {
    var columns: [Int?]
    var lower: [Double]
    var upper: [Double]
  }

  /// Adds neuron `i` of `layer` (pre-activation in `[L, U]`) on top of the `previous` layer's
  /// columns; returns its activation column (nil when it is constant 0) and binary (if any).
  /// `free`: the output layer, whose columns are left unbounded (bounding the objective's column
  /// by its LP bound makes the relaxation degenerate at that bound). `convexOnly`: the neuron
  /// keeps its convex side only (see the type's comment).
  mutating func addNeuron(
    _ layer: DenseLayer, _ i: Int, after previous: Layer, lower L: Double, upper U: Double,
    free: Bool, convexOnly: Bool, relaxed: Bool
  ) throws(HighsError) -> (activation: Int?, binary: Int?) {
    let inf = solver.infinity
    // z - b = sum w_j a_j over the non-constant previous neurons.
    var idx: [Int32] = []
    var val: [Double] = []
    var terms: [(column: Int, weight: Double, lower: Double, upper: Double)] = []
    for j in 0..<layer.inputSize {
      let w = layer.weights[i * layer.inputSize + j]
      if w != 0, let c = previous.columns[j] {
        idx.append(Int32(c))
        val.append(w)
        terms.append((c, w, previous.lower[j], previous.upper[j]))
      }
    }
    let b = layer.bias[i]
    if layer.activation == .linear || L >= 0 {
      if layer.activation == .relu { stableActive += 1 }
      let a = try solver.addColumn(lower: free ? -inf : L, upper: free ? inf : U)
      // a - w.h = b
      try solver.addRow(
        lower: b, upper: b, indices: idx + [Int32(a)], values: val.map { -$0 } + [1])
      return (a, nil)
    }
    if U <= 0 {
      stableInactive += 1
      return (nil, nil)
    }
    let a = try solver.addColumn(lower: 0, upper: U)
    let negW = val.map { -$0 }
    // a - w.h >= b
    try solver.addRow(lower: b, upper: inf, indices: idx + [Int32(a)], values: negW + [1])
    if convexOnly {
      convexSide += 1
      return (a, nil)
    }
    let delta = try solver.addColumn(lower: 0, upper: 1, integer: !relaxed)
    binaries += 1
    // a - w.h - L delta <= b - L
    try solver.addRow(
      lower: -inf, upper: b - L, indices: idx + [Int32(a), Int32(delta)], values: negW + [1, -L])
    // a - U delta <= 0
    try solver.addRow(lower: -inf, upper: 0, indices: [Int32(a), Int32(delta)], values: [1, -U])
    unstable.append(UnstableNeuron(activation: a, binary: delta, bias: b, terms: terms))
    return (a, delta)
  }

  /// Per neuron of the last hidden layer: whether its objective coefficient lets it keep only its
  /// convex side (see the type's comment). All false when the rule does not apply.
  static func convexSideNeurons(_ net: Network, objective: Objective?) -> [Bool] {
    let n = net.layers.count
    guard let objective, n >= 2, net.outputNormalization == nil,
      net.layers[n - 1].activation == .linear,
      net.layers[n - 2].activation == .relu
    else { return n >= 2 ? Array(repeating: false, count: net.layers[n - 2].outputSize) : [] }
    let out = net.layers[n - 1]
    let sign = objective.sign
    return (0..<out.inputSize).map { j in
      var g = 0.0
      for k in 0..<out.outputSize {
        g += objective.outputWeights[k] * out.weights[k * out.inputSize + j]
      }
      return sign * g <= 0
    }
  }

  /// Sets the problem's objective (requires all layers).
  /// With `asMinimization`, a maximization is set as the minimization of the negated objective
  /// (HiGHS's `objective_bound` only stops the dual simplex of a minimization).
  func setObjective(_ problem: Problem, asMinimization: Bool = false) throws(HighsError) {
    let negate = asMinimization && problem.objective.sense == .maximize
    let f: Double = negate ? -1 : 1
    var costs = [Double](repeating: 0, count: solver.columnCount)
    for (j, c) in inputColumns.enumerated() { costs[c] += f * problem.objective.inputWeights[j] }
    for (i, col) in activationColumns.last!.enumerated() {
      if let col { costs[col] += f * problem.objective.outputWeights[i] }
    }
    try solver.setCosts(costs)
    try solver.setOffset(f * problem.objective.constant)
    try solver.setMaximize(problem.objective.sense == .maximize && !negate)
  }

  /// A full column vector (activations and binaries) for an input point, by a forward pass;
  /// used to give HiGHS a starting solution.
  func completion(of x: [Double], network: Network) -> [Double] {
    var v = [Double](repeating: 0, count: solver.columnCount)
    for (j, c) in inputColumns.enumerated() { v[c] = x[j] }
    let pass = network.forward(x)
    for l in activationColumns.indices {
      for i in activationColumns[l].indices {
        if let c = activationColumns[l][i] { v[c] = pass.activations[l][i] }
        if let d = binaryColumns[l][i] { v[d] = pass.preactivations[l][i] > 0 ? 1 : 0 }
      }
    }
    return v
  }
}

extension BigMModel {
  /// Names the columns and rows after the model (for `reluc export`): inputs `x_0`, ...,
  /// activations `LAYER_a_i`, binaries `LAYER_d_i`, the polytope's rows by their constraints;
  /// the other rows and columns `r_k` and `c_k`. Names keep only letters, digits and `_`.
  func nameForExport(_ problem: Problem) throws(HighsError) {
    func clean(_ s: String) -> String {
      let kept = s.unicodeScalars.map {
        ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
          ? Character($0) : "_"
      }
      let name = String(kept)
      return name.isEmpty || name.first!.isNumber ? "_" + name : name
    }
    var columnNames = (0..<solver.columnCount).map { "c_\($0)" }
    var rowNames = (0..<solver.rowCount).map { "r_\($0)" }
    let input = clean(problem.network.inputName)
    for (j, c) in inputColumns.enumerated() { columnNames[c] = "\(input)_\(j)" }
    for (l, layer) in problem.network.layers.enumerated() where l < activationColumns.count {
      let name = clean(layer.name.isEmpty ? "L\(l + 1)" : layer.name)
      for (i, c) in activationColumns[l].enumerated() {
        if let c { columnNames[c] = "\(name)_a_\(i)" }
        if let d = binaryColumns[l][i] { columnNames[d] = "\(name)_d_\(i)" }
      }
    }
    for (r, name) in problem.polytope.rowNames.enumerated() where r < rowNames.count {
      rowNames[r] = clean(name) + "_\(r)"
    }
    if let start = outputRowStart {
      for (r, name) in problem.outputConstraints.rowNames.enumerated()
      where start + r < rowNames.count {
        rowNames[start + r] = clean(name) + "_out_\(r)"
      }
    }
    for (j, name) in columnNames.enumerated() { try solver.setColumnName(j, name) }
    for (r, name) in rowNames.enumerated() { try solver.setRowName(r, name) }
  }
}
