import RelucBase
import RelucIR

/// The margin of a point for a disjunct with output rows `G x + H y <= h`:
/// `min_r (h_r - G_r x - H_r y)`, nonnegative exactly when every row holds. `+infinity` without
/// rows (the disjunct constrains the inputs only).
struct Margin {
  let problem: Problem

  /// The margin at `x` (a forward pass), the row that attains it (nil without rows), and the pass.
  func evaluate(_ x: [Double]) -> (value: Double, row: Int?, pass: ForwardPass) {
    let pass = problem.network.forward(x)
    let rows = problem.outputConstraints
    var best = Double.infinity
    var arg: Int? = nil
    for r in 0..<rows.rowCount {
      let v = rows.rhs[r] - rows.lhs(r, x: x, y: pass.outputs)
      if v.isNaN { return (-.infinity, r, pass) }
      if v < best {
        best = v
        arg = r
      }
    }
    return (best, arg, pass)
  }

  /// The gradient of row `r`'s margin `h_r - G_r x - H_r y(x)` at the pass's point: the
  /// reference backward pass through the layers (a ReLU passes the gradient where its
  /// pre-activation is positive).
  func gradient(row r: Int, pass: ForwardPass) -> [Double] {
    let net = problem.network
    let rows = problem.outputConstraints
    var g = rows.outputRow(r).map { -$0 }
    for l in stride(from: net.layers.count - 1, through: 0, by: -1) {
      let layer = net.layers[l]
      if layer.activation == .relu {
        let z = pass.preactivations[l]
        for i in 0..<layer.outputSize where z[i] <= 0 { g[i] = 0 }
      }
      var previous = [Double](repeating: 0, count: layer.inputSize)
      for i in 0..<layer.outputSize where g[i] != 0 {
        let row = i * layer.inputSize
        let gi = g[i]
        for j in 0..<layer.inputSize { previous[j] += layer.weights[row + j] * gi }
      }
      g = previous
    }
    let gx = rows.inputRow(r)
    for j in 0..<g.count { g[j] -= gx[gx.startIndex + j] }
    return g
  }
}

/// The witness search: projected sign-gradient ascent on the margin from many starts (the box
/// centre, then uniform random points), each `iterations` steps whose length decays from
/// `firstStep` of the box's width to zero. Stops at the first point whose margin is
/// nonnegative, at `maxStarts`, or at the deadline. Cheap: two passes per step.
struct MarginSearch {
  let problem: Problem
  var iterations = 60
  var firstStep = 0.2
  var maxStarts = 2000
  var seed: UInt64 = 1

  /// The best point found and its margin (-infinity without a point: the projection onto a
  /// polytope that is not a box failed).
  func run(until deadline: Double) -> (point: [Double]?, margin: Double) {
    let p = problem.polytope
    let n = p.dimension
    let domain: Domain? = p.isBox ? nil : try? Domain(p)
    if !p.isBox && domain == nil { return (nil, -.infinity) }
    func project(_ x: inout [Double]) -> Bool {
      if let domain {
        return x.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) }
      }
      for j in 0..<n { x[j] = min(max(x[j], p.lower[j]), p.upper[j]) }
      return true
    }
    let margin = Margin(problem: problem)
    var rng = Xoshiro256(seed: seed)
    var best: [Double]? = nil
    var bestValue = -Double.infinity
    let width = (0..<n).map { p.upper[$0] - p.lower[$0] }
    for start in 0..<maxStarts {
      if start > 0, Interrupt.requested || monotonicSeconds() >= deadline { break }
      var x = [Double](repeating: 0, count: n)
      for j in 0..<n {
        let u = start == 0 ? 0.5 : rng.unit()
        x[j] = p.lower[j] + u * width[j]
      }
      guard project(&x) else { continue }
      for t in 0...iterations {
        let (v, row, pass) = margin.evaluate(x)
        if v > bestValue {
          bestValue = v
          best = x
        }
        guard let row, v < 0, t < iterations else { break }
        let g = margin.gradient(row: row, pass: pass)
        if g.allSatisfy({ $0 == 0 }) { break }
        let step = firstStep * (1 - Double(t) / Double(iterations))
        for j in 0..<n where g[j] != 0 { x[j] += step * width[j] * (g[j] > 0 ? 1 : -1) }
        guard project(&x) else { break }
      }
      if bestValue >= 0 { break }
    }
    return (best, bestValue)
  }
}
