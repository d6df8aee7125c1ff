import Dispatch
import RelucBase
import RelucIR
import RelucHiGHS
import Synchronization

/// The big-M MILP of a ReLU network over a polytope (Fischetti and Jo 2018; Anderson et al. 2020,
/// eq. (2)), built in HiGHS. For a ReLU neuron with pre-activation `z = w.h + b` in `[L, U]`:
/// - `U <= 0`: the neuron is 0 (no column);
/// - `L >= 0`: a continuous column `a = z` (no binary);
/// - otherwise `a >= 0`, `a >= z`, `a <= z - L (1 - delta)`, `a <= U delta`, delta binary.
/// Linear layers get a column `a = z`. The objective is on the output columns and the inputs.
/// With `relaxed` the binaries are continuous in [0, 1] (the LP relaxation).
///
/// With `objective` (the whole network built, linear output layer after a ReLU layer), an unstable
/// neuron of the last hidden layer whose effective objective coefficient `g_j = sum_k c_k W[k][j]`
/// works against it (`g_j <= 0` when maximizing, `>= 0` when minimizing) keeps only its convex
/// side, `a >= 0` and `a >= z`, with no binary: `a_j` appears in no other row, so any solution
/// can lower `a_j` to `max(0, z_j)` without losing objective; the optimum and the dual bound are
/// those of the full MILP. On random networks about half of the last layer's binaries go.
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

  init(
    problem: Problem, bounds: PreactivationBounds, relaxed: Bool = false, layers: Int? = nil,
    objective: Objective? = nil
  ) throws(HighsError) {
    solver = HighsSolver()
    if relaxed {
      // Devex pricing: the relaxations are re-solved after small changes and basis restores,
      // after each of which HiGHS would recompute its dual steepest-edge weights (a BTRAN per
      // row). Measured on 10-50-50-1 seed 1: the tree's nodes/s doubled (with its basis
      // restores), the bound LPs took 3.1-3.4 s instead of 3.8 s.
      try solver.set("simplex_dual_edge_weight_strategy", 1)
    }
    let net = problem.network
    let poly = problem.polytope
    let inf = solver.infinity
    inputColumns = try solver.addPolytope(poly)
    var previous: [Int?] = inputColumns.map { $0 }
    var previousLower = poly.lower
    var previousUpper = poly.upper
    let layerCount = layers ?? net.layers.count
    let convexOnly = Self.convexSideNeurons(net, objective: layerCount == net.layers.count ? objective : nil)
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
        var terms: [(column: Int, weight: Double, lower: Double, upper: Double)] = []
        for j in 0..<layer.inputSize {
          let w = layer.weights[i * layer.inputSize + j]
          if w != 0, let c = previous[j] {
            idx.append(Int32(c))
            val.append(w)
            terms.append((c, w, previousLower[j], previousUpper[j]))
          }
        }
        let b = layer.bias[i]
        if layer.activation == .linear || L >= 0 {
          if layer.activation == .relu { stableActive += 1 }
          // The output layer's columns are free: bounding the objective's column by its LP bound
          // makes the relaxation degenerate at that bound (measured: 2x more time on 10-100-1).
          let last = l == net.layers.count - 1
          let a = try solver.addColumn(lower: last ? -inf : L, upper: last ? inf : U)
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
          let negW = val.map { -$0 }
          // a - w.h >= b
          try solver.addRow(lower: b, upper: inf, indices: idx + [Int32(a)], values: negW + [1])
          cols.append(a)
          if l == net.layers.count - 2, convexOnly[i] {
            convexSide += 1
            bins.append(nil)
            continue
          }
          let delta = try solver.addColumn(lower: 0, upper: 1, integer: !relaxed)
          binaries += 1
          // a - w.h - L delta <= b - L
          try solver.addRow(
            lower: -inf, upper: b - L, indices: idx + [Int32(a), Int32(delta)], values: negW + [1, -L])
          // a - U delta <= 0
          try solver.addRow(lower: -inf, upper: 0, indices: [Int32(a), Int32(delta)], values: [1, -U])
          bins.append(delta)
          unstable.append(UnstableNeuron(activation: a, binary: delta, bias: b, terms: terms))
        }
      }
      activationColumns.append(cols)
      binaryColumns.append(bins)
      previous = cols
      let relu = layer.activation == .relu
      previousLower = bounds.lower[l].map { relu ? max(0, $0) : $0 }
      previousUpper = bounds.upper[l].map { relu ? max(0, $0) : $0 }
    }
  }

  /// Per neuron of the last hidden layer: whether its objective coefficient lets it keep only its
  /// convex side (see the type's comment). All false when the rule does not apply.
  static func convexSideNeurons(_ net: Network, objective: Objective?) -> [Bool] {
    let n = net.layers.count
    guard let objective, n >= 2, net.outputNormalization == nil, net.layers[n - 1].activation == .linear,
      net.layers[n - 2].activation == .relu
    else { return n >= 2 ? Array(repeating: false, count: net.layers[n - 2].outputSize) : [] }
    let out = net.layers[n - 1]
    let sign: Double = objective.sense == .maximize ? 1 : -1
    return (0..<out.inputSize).map { j in
      var g = 0.0
      for k in 0..<out.outputSize { g += objective.outputWeights[k] * out.weights[k * out.inputSize + j] }
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
///
/// - `cutRounds > 0`: each bound LP is re-solved after separating the ideal-formulation cuts
///   violated at its solution (up to `cutRounds` times); the cuts stay in the relaxation for the
///   neurons after it, so it tightens as the layer is processed.
/// - `splits = k > 0`: each bound is the best over the 2^k LPs in which the k binaries of the
///   previous layer that weigh most on the neuron (|weight| times the triangle relaxation's
///   largest gap, `-L U / (U - L)`) are fixed to 0 or 1 -- a relaxation of each part of the
///   domain, tighter than the relaxation of the whole (an infeasible part contributes nothing).
///   Each part's LP gets at most one round of cuts (10-50-50-1 seed 1: bounds 6.1 s -> 3.6 s
///   with the same tree size).
/// - With `objective`, the last hidden layer's convex-side neurons (see `BigMModel`) are skipped:
///   their formulation does not use their bounds.
/// - The neurons of a layer are shared among `workers` threads, each with its own relaxation.
func lpTightenedBounds(
  _ problem: Problem, _ context: SolveContext, budget: Double, cutRounds: Int = 0, splits: Int = 0,
  objective: Objective? = nil, workers: Int = 1
) throws(HighsError) -> PreactivationBounds {
  let net = problem.network
  var bounds = intervalBounds(net, lower: problem.polytope.lower, upper: problem.polytope.upper)
  let stop = monotonicSeconds() + budget
  let convexOnly = BigMModel.convexSideNeurons(net, objective: objective)
  for l in 1..<max(1, net.layers.count) {
    if monotonicSeconds() > stop || context.shouldStop { break }
    let todo = (0..<net.layers[l].outputSize).filter { i in
      bounds.lower[l][i] < 0 && bounds.upper[l][i] > 0
        && !(l == net.layers.count - 2 && convexOnly[i])
    }
    let threads = max(1, min(workers, todo.count))
    let found = Mutex<[(Int, Double?, Double?)]>([])
    let failure = Mutex<HighsError?>(nil)
    let layerBounds = bounds
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      do throws(HighsError) {
        // Relaxation of layers 0..<l, with an objective on one neuron of layer l at a time.
        let model = try BigMModel(problem: problem, bounds: layerBounds, relaxed: true, layers: l)
        for i in stride(from: t, to: todo.count, by: threads).map({ todo[$0] }) {
          if monotonicSeconds() > stop || context.shouldStop { break }
          let r = try model.boundPreactivation(
            l, i, network: net, bounds: layerBounds, cutRounds: cutRounds, splits: splits, stop: stop)
          found.withLock { $0.append((i, r.lower, r.upper)) }
        }
      } catch {
        failure.withLock { $0 = error }
      }
    }
    if let e = failure.withLock({ $0 }) { throw e }
    for (i, lower, upper) in found.withLock({ $0 }) {
      if let v = lower { bounds.lower[l][i] = max(bounds.lower[l][i], v - 1e-6 * (1 + abs(v))) }
      if let v = upper { bounds.upper[l][i] = min(bounds.upper[l][i], v + 1e-6 * (1 + abs(v))) }
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

extension BigMModel {
  /// The smallest and largest pre-activation of neuron `i` of layer `l` over this relaxation of
  /// the layers before it (nil where an LP did not solve); see `lpTightenedBounds`.
  func boundPreactivation(
    _ l: Int, _ i: Int, network net: Network, bounds: PreactivationBounds, cutRounds: Int,
    splits: Int, stop: Double
  ) throws(HighsError) -> (lower: Double?, upper: Double?) {
    let layer = net.layers[l]
    let prev = activationColumns[l - 1]
    var costs = [Double](repeating: 0, count: solver.columnCount)
    for j in 0..<layer.inputSize {
      if let c = prev[j] { costs[c] = layer.weights[i * layer.inputSize + j] }
    }
    try solver.setCosts(costs)
    let split: [Int] =
      splits == 0
      ? []
      : (0..<layer.inputSize).compactMap { j -> (Int, Double)? in
        guard let b = binaryColumns[l - 1][j] else { return nil }
        let L = bounds.lower[l - 1][j]
        let U = bounds.upper[l - 1][j]
        return (b, abs(layer.weights[i * layer.inputSize + j]) * (-L * U / (U - L)))
      }.sorted { $0.1 > $1.1 }.prefix(splits).map(\.0)
    var result: (lower: Double?, upper: Double?) = (nil, nil)
    for maximize in [false, true] {
      try solver.setMaximize(maximize)
      var best: Double? = nil
      var solved = true
      for part in 0..<(1 << split.count) {
        for (k, b) in split.enumerated() {
          let v = Double((part >> k) & 1)
          try solver.setColumnBounds(b, lower: v, upper: v)
        }
        var status = try solver.run()
        var round = 0
        let rounds = split.isEmpty ? cutRounds : min(cutRounds, 1)
        while status == .optimal, round < rounds, monotonicSeconds() < stop {
          round += 1
          let added = try separateIdealCuts(at: solver.columnValues(), tolerance: 1e-6)
          if added == 0 { break }
          status = try solver.run()
        }
        if status == .infeasible, !split.isEmpty { continue }
        guard status == .optimal else {
          solved = false
          break
        }
        let v = solver.objectiveValue
        best = best.map { maximize ? max($0, v) : min($0, v) } ?? v
      }
      for b in split { try solver.setColumnBounds(b, lower: 0, upper: 1) }
      guard solved, let best else { continue }
      if maximize { result.upper = best + layer.bias[i] } else { result.lower = best + layer.bias[i] }
    }
    return result
  }
}

extension BigMModel {
  /// Separates the most violated inequality of the ideal formulation of each unstable ReLU
  /// (Anderson, Huchette, Ma, Tjandraatmadja, Vielma 2020, Proposition 12 / eq. (10)) at the
  /// point `v` (all columns), and adds the violated ones as rows. For a neuron
  /// `a = max(0, w.h + b)` with `h` in `[L, U]`, writing `Lb_i` (`Ub_i`) for the bound of `h_i`
  /// that minimizes (maximizes) `w_i h_i`, every subset I of the terms gives
  ///   a <= sum_{i in I} w_i (h_i - Lb_i (1 - d)) + (b + sum_{i not in I} w_i Ub_i) d,
  /// and the most violated one takes i into I exactly when
  ///   w_i h_i < w_i (Lb_i (1 - d) + Ub_i d)   (linear time per neuron).
  /// Returns the number of cuts added.
  func separateIdealCuts(at v: [Double], tolerance: Double) throws(HighsError) -> Int {
    let cuts = idealCuts(at: v, tolerance: tolerance)
    try solver.addRows(cuts)
    return cuts.count
  }

  /// The violated ideal-formulation cuts at `v` (see `separateIdealCuts`), not yet added.
  func idealCuts(at v: [Double], tolerance: Double) -> RowBatch {
    var cuts = RowBatch()
    for n in unstable {
      let d = v[n.binary]
      var rhsValue = n.bias * d  // the right-hand side at v
      var deltaCoefficient = n.bias
      var constant = 0.0  // -sum_{I} w_i Lb_i
      var inI: [(Int, Double)] = []
      for t in n.terms {
        let lb = t.weight >= 0 ? t.lower : t.upper
        let ub = t.weight >= 0 ? t.upper : t.lower
        let h = v[t.column]
        if t.weight * h < t.weight * (lb * (1 - d) + ub * d) {
          inI.append((t.column, t.weight))
          rhsValue += t.weight * (h - lb * (1 - d))
          deltaCoefficient += t.weight * lb
          constant -= t.weight * lb
        } else {
          rhsValue += t.weight * ub * d
          deltaCoefficient += t.weight * ub
        }
      }
      guard v[n.activation] > rhsValue + tolerance * (1 + abs(rhsValue)) else { continue }
      // a - sum_I w_i h_i - deltaCoefficient d <= constant
      cuts.beginRow(lower: -solver.infinity, upper: constant)
      cuts.add(n.activation, 1)
      for (c, w) in inI { cuts.add(c, -w) }
      cuts.add(n.binary, -deltaCoefficient)
    }
    return cuts
  }

  /// The root cutting-plane loop of `cuts = root` on the MILP: the binaries are made continuous
  /// for `cutLoop` and integral again afterwards.
  func rootCuts(rounds: Int, budget: Double) throws(HighsError)
    -> (cuts: Int, rounds: Int, bounds: [Double])
  {
    let binaries = unstable.map(\.binary)
    for b in binaries { try solver.setInteger(b, false) }
    defer { for b in binaries { try? solver.setInteger(b, true) } }
    let r = try cutLoop(rounds: rounds, until: monotonicSeconds() + budget)
    return (r.batches.reduce(0) { $0 + $1.count }, r.rounds, r.bounds)
  }

  /// The cutting-plane loop on the LP relaxation: solve it, add the violated ideal-formulation
  /// cuts, and repeat while the bound improves by more than 1e-4 (relative), for at most `rounds`
  /// rounds, until `stop` (monotonic seconds) or an interrupt. `onSolution` sees every LP
  /// solution. Returns the cuts added (a batch per round), the rounds of separation, the LP
  /// objective after each solve and the last LP status.
  func cutLoop(rounds: Int, until stop: Double, onSolution: ([Double]) -> Void = { _ in })
    throws(HighsError) -> (batches: [RowBatch], rounds: Int, bounds: [Double], status: HighsModelStatus?)
  {
    var batches: [RowBatch] = []
    var history: [Double] = []
    var done = 0
    var status: HighsModelStatus?
    while done < rounds, monotonicSeconds() < stop, !Interrupt.requested {
      try solver.setTimeLimit(stop - monotonicSeconds())
      status = try solver.run()
      guard status == .optimal else { break }
      let bound = solver.objectiveValue
      let v = solver.columnValues()
      onSolution(v)
      if let last = history.last, abs(last - bound) <= 1e-4 * (1 + abs(bound)) {
        history.append(bound)
        break
      }
      history.append(bound)
      let cuts = idealCuts(at: v, tolerance: 1e-6)
      done += 1
      if cuts.count == 0 { break }
      try solver.addRows(cuts)
      batches.append(cuts)
    }
    return (batches, done, history, status)
  }
}
