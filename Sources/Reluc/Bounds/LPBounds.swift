import Dispatch
import RelucBase
import RelucHiGHS
import RelucIR
import Synchronization

/// Switches of the bound tightening (for measurements).
public enum OBBTSettings {
  /// Whether the bound LPs of a problem with output rows include them (with the relaxation of
  /// the whole network, which they need). Off: measured in bench/outputs_obbt.py, the bound LPs
  /// took twice as long (up to their share of the time) and the MILP was slower to optimality.
  nonisolated(unsafe) public static var useOutputRows = false
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
///   Each part's LP gets at most one round of cuts (the parts already tighten the bound; more
///   rounds per part multiply the LPs).
/// - With `objective`, the last hidden layer's convex-side neurons (see `BigMModel`) are skipped:
///   their formulation does not use their bounds.
/// - The neurons of a layer are shared among `workers` threads, each with its own relaxation.
/// - `start`: bounds to tighten (valid ones, e.g. symbolic); the interval bounds by default.
/// - Time: everything ends by `budget` seconds from the start (or the context's deadline, or an
///   interrupt): the relaxation's building, each LP (HiGHS's time limit and interrupt callback)
///   and the loops between LPs; the bounds found by then are used, the others stay as they were.
func lpTightenedBounds(
  _ problem: Problem, _ context: SolveContext, budget: Double, cutRounds: Int = 0, splits: Int = 0,
  objective: Objective? = nil, workers: Int = 1, start: PreactivationBounds? = nil
) throws(HighsError) -> PreactivationBounds {
  let net = problem.network
  var bounds = start ?? context.intervalBounds(problem)
  let stop = min(monotonicSeconds() + budget, context.deadline)
  let convexOnly = BigMModel.convexSideNeurons(
    net, objective: BigMModel.rowsNameOutputs(problem) ? nil : objective)
  let withRows = problem.hasOutputConstraints && OBBTSettings.useOutputRows
  // Layers 0...propagated hold their final bounds (layer 0's are the interval bounds).
  var propagated = 0
  for l in 1..<max(1, net.layers.count) {
    if context.shouldStop(by: stop) { break }
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
        // With output rows (`OBBTSettings.useOutputRows`), the relaxation of the whole network
        // and the rows: a relaxation of the constrained problem's feasible set.
        let model = try BigMModel(
          problem: problem, bounds: layerBounds, relaxed: true,
          layers: withRows ? nil : l)
        // An interrupt ends the LP being solved (a neuron's LP on a wide layer takes up to a
        // second; SIGINT waited for the LPs under way, 1.7-3.5 s on 1000-100-100-1); the
        // neurons left keep their interval bounds.
        try model.solver.stopping(at: stop)
        for i in stride(from: t, to: todo.count, by: threads).map({ todo[$0] }) {
          if context.shouldStop(by: stop) { break }
          let r = try model.boundPreactivation(
            l, i, network: net, bounds: layerBounds, cutRounds: cutRounds, splits: splits,
            stop: stop)
          found.withLock { $0.append((i, r.lower, r.upper)) }
        }
      } catch {
        if !error.isStop { failure.withLock { $0 = error } }
      }
    }
    if let e = failure.withLock({ $0 }) { throw e }
    for (i, lower, upper) in found.withLock({ $0 }) {
      if let v = lower { bounds.lower[l][i] = max(bounds.lower[l][i], v - 1e-6 * (1 + abs(v))) }
      if let v = upper { bounds.upper[l][i] = min(bounds.upper[l][i], v + 1e-6 * (1 + abs(v))) }
    }
    // Propagate the tightened layer to the next one by intervals (the next layer's LPs use it).
    if l + 1 < net.layers.count { propagate(net, &bounds, into: l + 1) }
    propagated = l + 1
  }
  // The rest of the network, by intervals, once (a loop over the remaining layers per layer would
  // make a deep network's bounds quadratic in its depth), while the budget lasts: a layer not
  // reached keeps its interval bounds, which are valid.
  var k = propagated + 1
  while k < net.layers.count {
    if k % 1024 == 0, context.shouldStop(by: stop) { break }
    propagate(net, &bounds, into: k)
    k += 1
  }
  return bounds
}

/// Tightens layer `k`'s bounds by interval arithmetic from layer `k - 1`'s.
private func propagate(_ net: Network, _ bounds: inout PreactivationBounds, into k: Int) {
  let src = net.layers[k - 1]
  let hl = bounds.lower[k - 1].map { src.activation == .relu ? max(0, $0) : $0 }
  let hu = bounds.upper[k - 1].map { src.activation == .relu ? max(0, $0) : $0 }
  let b = intervalBounds(Network(layers: [net.layers[k]]), lower: hl, upper: hu)
  for i in 0..<net.layers[k].outputSize {
    bounds.lower[k][i] = max(bounds.lower[k][i], b.lower[0][i])
    bounds.upper[k][i] = min(bounds.upper[k][i], b.upper[0][i])
  }
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
        if monotonicSeconds() >= stop || Interrupt.requested {
          solved = false
          break
        }
        for (k, b) in split.enumerated() {
          let v = Double((part >> k) & 1)
          try solver.setColumnBounds(b, lower: v, upper: v)
        }
        try solver.setTimeLimit(stop - monotonicSeconds())
        var status = try solver.run()
        // The last optimum: an LP with fewer cuts is a relaxation, so it stays a valid bound
        // when a re-solve after cuts is stopped.
        var v = status == .optimal ? solver.objectiveValue : 0
        var round = 0
        let rounds = split.isEmpty ? cutRounds : min(cutRounds, 1)
        while status == .optimal, round < rounds, monotonicSeconds() < stop {
          round += 1
          let added = try separateIdealCuts(
            at: solver.columnValues(), tolerance: BigMModel.cutTolerance)
          if added == 0 { break }
          try solver.setTimeLimit(stop - monotonicSeconds())
          let next = try solver.run()
          if next == .optimal { v = solver.objectiveValue }
          if next == .timeLimit || next == .interrupted { break }
          status = next
        }
        if status == .infeasible, !split.isEmpty { continue }
        guard status == .optimal else {
          solved = false
          break
        }
        best = best.map { maximize ? max($0, v) : min($0, v) } ?? v
      }
      for b in split { try solver.setColumnBounds(b, lower: 0, upper: 1) }
      guard solved, let best else { continue }
      if maximize {
        result.upper = best + layer.bias[i]
      } else {
        result.lower = best + layer.bias[i]
      }
    }
    return result
  }
}
