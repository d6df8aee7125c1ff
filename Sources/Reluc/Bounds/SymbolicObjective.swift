import RelucBase
import RelucIR

/// A row `inputs . x + outputs . y <= rhs` (no `outputs`: a row over the inputs only).
struct LinearRow: Sendable {
  var inputs: [Double]
  var outputs: [Double]?
  var rhs: Double
}

extension SymbolicBounder {
  /// A linear upper bound over the box of `c . y + d . x + constant` (y the network's outputs),
  /// by back substitution through the box's relaxations, then `alphaSteps` projected gradient
  /// steps on the lower slopes of the unstable neurons (alpha-CROWN): each step's bound is valid
  /// whatever the slopes in [0, 1], and the smallest is kept.
  ///
  /// The gradient of the bound with respect to the slope of an unstable neuron whose row
  /// coefficient `A_j[i]` is negative is `A_j[i] zhat_j[i]`, where `zhat` is the relaxed network's
  /// pre-activation at the maximizing vertex (each neuron on the line its coefficient's sign
  /// picked): the bound is `max_x` of a function linear in each slope, so by the envelope
  /// argument its derivative is the one at the maximizer. One step is one back substitution
  /// and one forward pass of a single row.
  ///
  /// With `candidates`, the bound names the neurons to split on (`splitCandidates`).
  ///
  /// With `simplex`, `c` is a point of the simplex (nonnegative, sum 1) and the bound is of
  /// the smallest output, `min_i y_i <= sum_i c_i y_i`: each step also moves `c` by a
  /// projected subgradient step (Polyak's, towards `target`) on the simplex, the subgradient of
  /// the bound with respect to `c` being the relaxed network's outputs at the maximizer (the
  /// bound is the support function of the relaxation, convex in `c`).
  func upperBound(
    outputs c: [Double], inputs d: [Double], constant: Double, box: BoxBounds, alphaSteps: Int = 0,
    rows: [LinearRow] = [], target: Double = -.infinity, simplex: Bool = false,
    candidates: Bool = false
  ) -> LinearBound {
    let top = network.layers.count - 1
    let outputMagnitude = box.magnitudes[top + 1]
    var relaxations = box.relaxations
    var c = c
    var multipliers = [Double](repeating: 0, count: rows.count)
    // The split constraints' multipliers (beta-CROWN): a split `z >= 0` (active) or `z <= 0`
    // adds `beta z` or `-beta z` (beta >= 0) to the row, which is at least 0 on the region.
    var betas = [Double](repeating: 0, count: box.splits.count)
    var best: LinearBound? = nil
    var rate = 1.0
    var step = 0
    while true {
      // The Lagrangian row: objective - sum_r lambda_r (row_r - rhs_r), lambda >= 0.
      var a = c
      var dx = d
      var k = [constant]
      for (r, row) in rows.enumerated() where multipliers[r] > 0 {
        let m = multipliers[r]
        if let h = row.outputs { for i in 0..<a.count { a[i] -= m * h[i] } }
        for j in 0..<dx.count { dx[j] -= m * row.inputs[j] }
        k[0] += m * row.rhs
      }
      var magnitude = abs(k[0])
      for i in 0..<a.count { magnitude += abs(a[i]) * outputMagnitude[i] }
      for j in 0..<dx.count { magnitude += abs(dx[j]) * box.magnitudes[0][j] }
      var beta = [[(neuron: Int, value: Double)]](
        repeating: [], count: betas.contains { $0 > 0 } ? top + 1 : 0)
      if !beta.isEmpty {
        for (q, s) in box.splits.enumerated() where betas[q] > 0 {
          beta[s.layer].append((s.neuron, s.active ? betas[q] : -betas[q]))
          magnitude += betas[q] * box.magnitudes[s.layer + 1][s.neuron]
        }
      }
      let margin = marginFactor * (1 + magnitude)
      let kept = backSubstitute(
        &a, &k, rows: 1, top: top, relaxations: relaxations, keep: alphaSteps > 0 || candidates,
        beta: beta)
      for j in 0..<dx.count { a[j] += dx[j] }
      let vertex = (0..<a.count).map { a[$0] >= 0 ? box.upper[$0] : box.lower[$0] }
      var value = k[0]
      for j in 0..<a.count { value += a[j] * vertex[j] }
      value += margin
      if value.isNaN { value = .infinity }
      if best == nil || value < best!.value {
        best = LinearBound(
          coefficients: a, constant: k[0], value: value, margin: margin, vertex: vertex,
          slopes: relaxations.map { $0?.lowerSlope ?? [] },
          candidates: candidates ? splitCandidates(kept, relaxations, bounds: box.bounds) : [])
      } else {
        rate *= 0.5
      }
      step += 1
      guard step <= alphaSteps, value.isFinite, value > target else { break }
      let (gradient, outputs, preactivations) = slopeGradient(
        kept, vertex: vertex, relaxations: relaxations)
      if simplex, c.count > 1 {
        // The subgradient's component along the simplex, and Polyak's step towards the target
        // (or 10% below the bound without one).
        let mean = outputs.reduce(0, +) / Double(outputs.count)
        let g = outputs.map { $0 - mean }
        let norm = g.reduce(0) { $0 + $1 * $1 }
        let goal = target.isFinite ? target : value - 0.1 * (1 + abs(value))
        if norm > 0 {
          let eta = rate * max(0, value - goal) / norm
          c = projectOntoSimplex(zip(c, g).map { $0 - eta * $1 })
        }
      }
      var largest = 0.0
      for g in gradient { for v in g { largest = max(largest, abs(v)) } }
      if largest > 0 {
        for (l, g) in gradient.enumerated() where !g.isEmpty {
          guard var rx = relaxations[l] else { continue }
          for i in 0..<g.count where g[i] != 0 {
            rx.lowerSlope[i] = min(1, max(0, rx.lowerSlope[i] - rate * g[i] / largest))
          }
          relaxations[l] = rx
        }
      }
      if !rows.isEmpty || !betas.isEmpty {
        // Polyak's step towards the target (or 10% below the bound without one) along the
        // rows' and the splits' violations at the relaxed maximizer (a split's violation is
        // `-z` for `z >= 0`, `z` for `z <= 0`, `z` the relaxed network's pre-activation).
        let violations = rows.map { row -> Double in
          var v = -row.rhs
          for j in 0..<vertex.count { v += row.inputs[j] * vertex[j] }
          if let h = row.outputs { for i in 0..<h.count { v += h[i] * outputs[i] } }
          return v
        }
        let splitViolations = box.splits.map { s -> Double in
          let z = preactivations[s.layer][s.neuron]
          return s.active ? -z : z
        }
        let norm = (violations + splitViolations).reduce(0) { $0 + $1 * $1 }
        let goal = target.isFinite ? target : value - 0.1 * (1 + abs(value))
        if norm > 0 {
          let eta = rate * max(0, value - goal) / norm
          for r in 0..<rows.count { multipliers[r] = max(0, multipliers[r] + eta * violations[r]) }
          for q in 0..<betas.count { betas[q] = max(0, betas[q] + eta * splitViolations[q]) }
        }
      }
    }
    return best!
  }

  /// The bound's gradient with respect to each ReLU layer's lower slopes (see `upperBound`):
  /// a forward pass of the relaxed network from `vertex`; empty for linear layers. Also the
  /// relaxed network's outputs and pre-activations there.
  ///
  /// With `count` rows (`optimizedRows`), `kept` and `vertex` hold one row after another, each
  /// row's neurons take the line its own coefficient picked and its own lower slopes
  /// (`rowSlopes[l]`, count x width, or the relaxation's when empty), and every result is
  /// row-major, one row after another.
  func slopeGradient(
    _ kept: [[Double]], vertex: [Double], relaxations: [ReluRelaxation?], count: Int = 1,
    rowSlopes: [[Double]] = []
  ) -> (gradient: [[Double]], outputs: [Double], preactivations: [[Double]]) {
    var h = vertex
    var width = vertex.count / count
    var gradient = [[Double]](repeating: [], count: kept.count)
    var preactivations = [[Double]](repeating: [], count: kept.count)
    for l in 0..<kept.count {
      let layer = network.layers[l]
      let out = layer.outputSize
      var z = [Double](repeating: 0, count: count * out)
      layer.weights.withUnsafeBufferPointer { w in
        h.withUnsafeBufferPointer { h in
          z.withUnsafeMutableBufferPointer { z in
            for p in 0..<count {
              let x = h.baseAddress! + p * width
              for i in 0..<out {
                let row = w.baseAddress! + i * width
                var s = 0.0
                for j in 0..<width { s += row[j] * x[j] }
                z[p * out + i] = layer.bias[i] + s
              }
            }
          }
        }
      }
      preactivations[l] = z
      guard let rx = relaxations[l] else {
        h = z
        width = out
        continue
      }
      let own = l < rowSlopes.count && !rowSlopes[l].isEmpty
      var g = [Double](repeating: 0, count: count * out)
      for p in 0..<count {
        for i in 0..<out {
          let q = p * out + i
          switch rx.state[i] {
          case 0: z[q] = 0
          case 1: break
          default:
            let coefficient = kept[l][q]
            if coefficient >= 0 {
              z[q] = rx.upperSlope[i] * z[q] + rx.upperIntercept[i]
            } else {
              g[q] = coefficient * z[q]
              z[q] = (own ? rowSlopes[l][q] : rx.lowerSlope[i]) * z[q]
            }
          }
        }
      }
      gradient[l] = g
      h = z
      width = out
    }
    return (gradient, h, preactivations)
  }
}

extension SymbolicBounder {
  /// Unstable neurons to split on, best first: each scored by the largest gap between its
  /// relaxation's line and the ReLU over its bounds, times its coefficient in the bound's row
  /// (BaBSR's idea, Bunel et al. 2020: the neurons whose relaxation loosens the bound most).
  func splitCandidates(
    _ kept: [[Double]], _ relaxations: [ReluRelaxation?], bounds: PreactivationBounds
  ) -> [ReluSplit] {
    var scored: [(score: Double, layer: Int, neuron: Int)] = []
    for (l, row) in kept.enumerated() where !row.isEmpty {
      guard let rx = relaxations[l] else { continue }
      for i in 0..<row.count where rx.state[i] == 2 && row[i] != 0 {
        let (lo, hi) = (bounds.lower[l][i], bounds.upper[l][i])
        let v = row[i]
        let gap =
          v > 0
          ? rx.upperIntercept[i] : max((1 - rx.lowerSlope[i]) * hi, -rx.lowerSlope[i] * lo)
        let score = abs(v) * gap
        if score > 0, score.isFinite { scored.append((score, l, i)) }
      }
    }
    scored.sort { $0.score > $1.score }
    return scored.prefix(Self.splitCandidatesKept).map {
      ReluSplit(layer: $0.layer, neuron: $0.neuron, active: true)
    }
  }

  /// Split candidates kept per bound (`splitCandidates`).
  static let splitCandidatesKept = 2
}

/// The Euclidean projection of `v` onto the simplex `{w >= 0, sum w = 1}` (sort and threshold).
func projectOntoSimplex(_ v: [Double]) -> [Double] {
  let sorted = v.sorted(by: >)
  var sum = 0.0
  var theta = 0.0
  for (k, value) in sorted.enumerated() {
    sum += value
    let t = (sum - 1) / Double(k + 1)
    if value - t > 0 { theta = t }
  }
  return v.map { max(0, $0 - theta) }
}
