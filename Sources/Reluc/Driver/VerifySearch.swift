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

  /// The gradient of `sum_r w_r (h_r - G_r x - H_r y(x))` at the pass's point: the reference
  /// backward pass through the layers (a ReLU passes the gradient where its pre-activation is
  /// positive).
  func gradient(weights w: [Double], pass: ForwardPass) -> [Double] {
    let net = problem.network
    let rows = problem.outputConstraints
    let m = rows.outputSize
    var g = [Double](repeating: 0, count: m)
    for r in 0..<rows.rowCount where w[r] != 0 {
      for i in 0..<m { g[i] -= w[r] * rows.outputMatrix[r * m + i] }
    }
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
    let n = rows.inputSize
    for r in 0..<rows.rowCount where w[r] != 0 {
      for j in 0..<n { g[j] -= w[r] * rows.inputMatrix[r * n + j] }
    }
    return g
  }

  /// Row weights for the ascent direction: the worst row alone (`min`), or every violated row
  /// (`sum`: the gradient of `sum_r min(0, margin_r)`).
  func weights(_ x: [Double], _ y: [Double], worst: Int, sum: Bool) -> [Double] {
    let rows = problem.outputConstraints
    var w = [Double](repeating: 0, count: rows.rowCount)
    if !sum {
      w[worst] = 1
      return w
    }
    for r in 0..<rows.rowCount where rows.rhs[r] - rows.lhs(r, x: x, y: y) < 0 { w[r] = 1 }
    return w
  }
}
/// The witness search: projected sign-gradient ascent from many starts (the box centre, then
/// uniform random points), on the margin (even starts) or on the sum of the violated rows'
/// margins (odd starts), each `iterations` steps whose length decays from
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
    let now = monotonicSeconds()
    let half = now + (deadline - now) / 2
    let (x, v) = ascent(until: half)
    if v >= 0 || Interrupt.requested { return (x, v) }
    let (y, w) = localRandomSearch(until: deadline)
    return w > v ? (y, w) : (x, v)
  }

  /// A (1+1) evolution strategy on the margin: a random point, then uniform samples in a box of
  /// a quarter of the domain's width around the best point so far, the box halved after 30
  /// samples without progress; restarted at a new random point when it is narrower than 1e-6
  /// of the domain. Finds witnesses that the ascent misses when the margin's local maxima lie on
  /// the boundary (ACAS Xu 1_2, property 2). Boxes only (nil point otherwise).
  func localRandomSearch(until deadline: Double) -> (point: [Double]?, margin: Double) {
    let p = problem.polytope
    guard p.isBox else { return (nil, -.infinity) }
    let n = p.dimension
    let margin = Margin(problem: problem)
    var rng = Xoshiro256(seed: seed &+ 7)
    let width = (0..<n).map { p.upper[$0] - p.lower[$0] }
    var best: [Double]? = nil
    var bestValue = -Double.infinity
    while !Interrupt.requested, monotonicSeconds() < deadline {
      var centre = (0..<n).map { p.lower[$0] + rng.unit() * width[$0] }
      var value = margin.evaluate(centre).value
      var radius = 0.25
      var failures = 0
      var k = 0
      while radius > 1e-6 {
        k += 1
        if k & 63 == 0, Interrupt.requested || monotonicSeconds() >= deadline { break }
        var x = centre
        for j in 0..<n {
          x[j] = p.clamp(x[j] + (2 * rng.unit() - 1) * radius * width[j], j)
        }
        let v = margin.evaluate(x).value
        if v > value {
          value = v
          centre = x
          failures = 0
          if v >= 0 { break }
        } else {
          failures += 1
          if failures >= 30 {
            radius /= 2
            failures = 0
          }
        }
      }
      if value > bestValue {
        bestValue = value
        best = centre
      }
      if bestValue >= 0 { break }
    }
    return (best, bestValue)
  }

  /// The projected sign-gradient ascent from many starts.
  func ascent(until deadline: Double) -> (point: [Double]?, margin: Double) {
    let p = problem.polytope
    let n = p.dimension
    let domain: Domain? = p.isBox ? nil : try? Domain(p)
    if !p.isBox && domain == nil { return (nil, -.infinity) }
    func project(_ x: inout [Double]) -> Bool {
      if let domain {
        return x.withUnsafeMutableBufferPointer { domain.project($0.baseAddress!) }
      }
      x = p.clamped(x)
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
        let w = margin.weights(x, pass.outputs, worst: row, sum: start % 2 == 1)
        let g = margin.gradient(weights: w, pass: pass)
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
