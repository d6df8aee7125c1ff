import RelucBase
import RelucIR

extension BaBSearch {
  /// Steps of the local ascent that polishes a new incumbent.
  static let ascentSteps = 40

  /// A short projected gradient ascent of `sign * objective` on the inputs' box from `x` (value
  /// `value`), the step halved whenever it does not improve; returns the best point met, checked
  /// by `value(at:)`. Not on a polytope with rows or with output rows (a step could leave the
  /// feasible set; the point is returned unchanged).
  func ascend(from x: [Double], value: Double) -> (point: [Double]?, value: Double) {
    guard !checked else { return (x, value) }
    let p = problem.polytope
    var best = x
    var bestValue = value
    var step = 0.05
    for _ in 0..<Self.ascentSteps {
      let g = gradient(at: best)
      var norm = 0.0
      for j in 0..<g.count {
        norm += (g[j] * (p.upper[j] - p.lower[j])) * (g[j] * (p.upper[j] - p.lower[j]))
      }
      guard norm > 0 else { break }
      norm = norm.squareRoot()
      // A step of `step` of the box in the scaled gradient's direction.
      var y = best
      for j in 0..<y.count {
        let w = p.upper[j] - p.lower[j]
        y[j] = min(p.upper[j], max(p.lower[j], y[j] + step * w * w * g[j] / norm))
      }
      let v = self.value(at: y)
      if v > bestValue {
        best = y
        bestValue = v
      } else {
        step *= 0.5
        if step < 1e-12 { break }
      }
    }
    return (best, bestValue)
  }

  /// The gradient of `sign * objective` at `x` (the active pattern's linear map).
  func gradient(at x: [Double]) -> [Double] {
    let pass = problem.network.forward(x)
    let layers = problem.network.layers
    var g = outputWeights
    if minimum {
      // The smallest output's gradient (a subgradient of the minimum).
      g = [Double](repeating: 0, count: pass.outputs.count)
      if let i = pass.outputs.indices.min(by: { pass.outputs[$0] < pass.outputs[$1] }) { g[i] = 1 }
    }
    for l in stride(from: layers.count - 1, through: 0, by: -1) {
      let layer = layers[l]
      if layer.activation == .relu {
        for i in 0..<g.count where pass.preactivations[l][i] <= 0 { g[i] = 0 }
      }
      var next = [Double](repeating: 0, count: layer.inputSize)
      for i in 0..<layer.outputSize where g[i] != 0 {
        let row = i * layer.inputSize
        for j in 0..<layer.inputSize { next[j] += g[i] * layer.weights[row + j] }
      }
      g = next
    }
    if !minimum { for j in 0..<g.count { g[j] += inputWeights[j] } }
    return g
  }
}
