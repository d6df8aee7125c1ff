import RelucBase
import RelucHiGHS

/// The big-M MILP of a ReLU network over a polytope (Fischetti and Jo 2018; Anderson et al. 2020,
/// eq. (2)), built in HiGHS. For a ReLU neuron with pre-activation `z = w.h + b` in `[L, U]`:
/// - `U <= 0`: the neuron is 0 (no column);
/// - `L >= 0`: a continuous column `a = z` (no binary);
/// - otherwise `a >= 0`, `a >= z`, `a <= z - L (1 - delta)`, `a <= U delta`, delta binary.
/// Linear layers get a column `a = z`. The objective is on the output columns and the inputs.
/// With `relaxed` the binaries are continuous in [0, 1] (the LP relaxation).
struct BigMModel {
  let solver: HighsSolver
  /// Column of each input.
  var inputColumns: [Int] = []
  /// Per layer, per neuron: the column holding its activation, or nil when it is constant 0.
  var activationColumns: [[Int?]] = []
  /// Per layer, per neuron: the binary's column, if any.
  var binaryColumns: [[Int?]] = []
  var binaries = 0
  var stableActive = 0
  var stableInactive = 0

  init(
    problem: Problem, bounds: PreactivationBounds, relaxed: Bool = false, layers: Int? = nil
  ) throws(HighsError) {
    solver = HighsSolver()
    let net = problem.network
    let poly = problem.polytope
    let inf = solver.infinity
    let n = net.inputSize
    for j in 0..<n {
      inputColumns.append(try solver.addColumn(lower: poly.lower[j], upper: poly.upper[j]))
    }
    for r in 0..<poly.rowCount {
      var idx: [Int32] = []
      var val: [Double] = []
      for j in 0..<n where poly.matrix[r * n + j] != 0 {
        idx.append(Int32(inputColumns[j]))
        val.append(poly.matrix[r * n + j])
      }
      try solver.addRow(lower: -inf, upper: poly.rhs[r], indices: idx, values: val)
    }
    var previous: [Int?] = inputColumns.map { $0 }
    let layerCount = layers ?? net.layers.count
    for l in 0..<layerCount {
      let layer = net.layers[l]
      var cols: [Int?] = []
      var bins: [Int?] = []
      for i in 0..<layer.outputSize {
        let L = bounds.lower[l][i]
        let U = bounds.upper[l][i]
        // z - b = sum w_j a_j over the non-constant previous neurons.
        var idx: [Int32] = []
        var val: [Double] = []
        for j in 0..<layer.inputSize {
          let w = layer.weights[i * layer.inputSize + j]
          if w != 0, let c = previous[j] {
            idx.append(Int32(c))
            val.append(w)
          }
        }
        let b = layer.bias[i]
        if layer.activation == .linear || L >= 0 {
          if layer.activation == .relu { stableActive += 1 }
          let a = try solver.addColumn(lower: L, upper: U)
          // a - w.h = b
          try solver.addRow(lower: b, upper: b, indices: idx + [Int32(a)], values: val.map { -$0 } + [1])
          cols.append(a)
          bins.append(nil)
        } else if U <= 0 {
          stableInactive += 1
          cols.append(nil)
          bins.append(nil)
        } else {
          let a = try solver.addColumn(lower: 0, upper: U)
          let delta = try solver.addColumn(lower: 0, upper: 1, integer: !relaxed)
          binaries += 1
          let negW = val.map { -$0 }
          // a - w.h >= b
          try solver.addRow(lower: b, upper: inf, indices: idx + [Int32(a)], values: negW + [1])
          // a - w.h - L delta <= b - L
          try solver.addRow(
            lower: -inf, upper: b - L, indices: idx + [Int32(a), Int32(delta)], values: negW + [1, -L])
          // a - U delta <= 0
          try solver.addRow(lower: -inf, upper: 0, indices: [Int32(a), Int32(delta)], values: [1, -U])
          cols.append(a)
          bins.append(delta)
        }
      }
      activationColumns.append(cols)
      binaryColumns.append(bins)
      previous = cols
    }
  }

  /// Sets the problem's objective (requires all layers).
  func setObjective(_ problem: Problem) throws(HighsError) {
    var costs = [Double](repeating: 0, count: solver.columnCount)
    for (j, c) in inputColumns.enumerated() { costs[c] += problem.objective.inputWeights[j] }
    for (i, col) in activationColumns.last!.enumerated() {
      if let col { costs[col] += problem.objective.outputWeights[i] }
    }
    try solver.setCosts(costs)
    try solver.setOffset(problem.objective.constant)
    try solver.setMaximize(problem.objective.sense == .maximize)
  }

  /// A full column vector (activations and binaries) for an input point, by a forward pass;
  /// used to give HiGHS a starting solution.
  func completion(of x: [Double], network: Network) -> [Double] {
    var v = [Double](repeating: 0, count: solver.columnCount)
    for (j, c) in inputColumns.enumerated() { v[c] = x[j] }
    var h = x
    for (l, layer) in network.layers.enumerated() where l < activationColumns.count {
      var next = [Double](repeating: 0, count: layer.outputSize)
      for i in 0..<layer.outputSize {
        var z = layer.bias[i]
        for j in 0..<layer.inputSize { z += layer.weights[i * layer.inputSize + j] * h[j] }
        let a = layer.activation == .relu ? max(0, z) : z
        next[i] = a
        if let c = activationColumns[l][i] { v[c] = a }
        if let d = binaryColumns[l][i] { v[d] = z > 0 ? 1 : 0 }
      }
      h = next
    }
    return v
  }
}

/// LP-based bound tightening (OBBT): for each layer in turn, minimize and maximize every unstable
/// neuron's pre-activation over the LP relaxation of the layers before it, with the bounds found
/// so far. An LP optimum is exact only up to HiGHS's feasibility tolerance (1e-7 here), so each
/// bound is widened by `1e-6 (1 + |bound|)` before use; it is never looser than the interval bound.
func lpTightenedBounds(_ problem: Problem, _ context: SolveContext, budget: Double) throws(HighsError)
  -> PreactivationBounds
{
  let net = problem.network
  var bounds = intervalBounds(net, lower: problem.polytope.lower, upper: problem.polytope.upper)
  let stop = monotonicSeconds() + budget
  for l in 1..<max(1, net.layers.count) {
    if monotonicSeconds() > stop || context.shouldStop { break }
    // Relaxation of layers 0..<l, with an objective on one neuron of layer l at a time.
    let model = try BigMModel(problem: problem, bounds: bounds, relaxed: true, layers: l)
    let layer = net.layers[l]
    let prev = model.activationColumns[l - 1]
    for i in 0..<layer.outputSize where bounds.lower[l][i] < 0 && bounds.upper[l][i] > 0 {
      if monotonicSeconds() > stop || context.shouldStop { break }
      var costs = [Double](repeating: 0, count: model.solver.columnCount)
      for j in 0..<layer.inputSize {
        if let c = prev[j] { costs[c] = layer.weights[i * layer.inputSize + j] }
      }
      try model.solver.setCosts(costs)
      for maximize in [false, true] {
        try model.solver.setMaximize(maximize)
        guard try model.solver.run() == .optimal else { continue }
        let v = model.solver.objectiveValue + layer.bias[i]
        let margin = 1e-6 * (1 + abs(v))
        if maximize {
          bounds.upper[l][i] = min(bounds.upper[l][i], v + margin)
        } else {
          bounds.lower[l][i] = max(bounds.lower[l][i], v - margin)
        }
      }
    }
    // Propagate the tightened layer forward by intervals.
    for k in (l + 1)..<net.layers.count {
      let src = net.layers[k - 1]
      let hl = bounds.lower[k - 1].map { src.activation == .relu ? max(0, $0) : $0 }
      let hu = bounds.upper[k - 1].map { src.activation == .relu ? max(0, $0) : $0 }
      let sub = Network(layers: [net.layers[k]])
      let b = intervalBounds(sub, lower: hl, upper: hu)
      for i in 0..<net.layers[k].outputSize {
        bounds.lower[k][i] = max(bounds.lower[k][i], b.lower[0][i])
        bounds.upper[k][i] = min(bounds.upper[k][i], b.upper[0][i])
      }
    }
  }
  return bounds
}
