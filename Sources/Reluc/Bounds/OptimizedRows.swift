import RelucIR

extension SymbolicBounder {
  /// Alpha-CROWN on intermediate neurons: the bounds of `rows` (row-major over layer `top`'s
  /// activations, `count` rows, with constants `c`) over the box, each row with its own lower
  /// slopes for the unstable neurons of layers `0...top`, moved by `steps` projected gradient
  /// steps from the relaxations' (`upperBound`'s step, one row at a time but all rows in one
  /// back substitution and one batched forward pass per step). Returns each row's smallest
  /// maximum over the box (no rounding margin: every slope in [0, 1] gives a valid relaxation,
  /// and the margin of `marginFactor` covers any of them); on return `a` and `c` are the rows
  /// substituted with the relaxations' own slopes (the first step, CROWN's rows).
  func optimizedRows(
    _ a: inout [Double], _ c: inout [Double], count: Int, top: Int,
    relaxations: [ReluRelaxation?], lower: [Double], upper: [Double], steps: Int
  ) -> [Double] {
    let (a0, c0) = (a, c)
    let n0 = lower.count
    var slopes: [[Double]] = (0...top).map { l in
      guard let rx = relaxations[l] else { return [] }
      var s = [Double](repeating: 0, count: count * rx.lowerSlope.count)
      for p in 0..<count {
        for i in 0..<rx.lowerSlope.count { s[p * rx.lowerSlope.count + i] = rx.lowerSlope[i] }
      }
      return s
    }
    var best = [Double](repeating: .infinity, count: count)
    var rate = [Double](repeating: 1, count: count)
    var first: (a: [Double], c: [Double])? = nil
    for step in 0...steps {
      var a = a0
      var c = c0
      let kept = backSubstitute(
        &a, &c, rows: count, top: top, relaxations: relaxations, keep: true, rowSlopes: slopes)
      if step == 0 { first = (a, c) }
      // Each row's maximizing vertex and value.
      var vertices = [Double](repeating: 0, count: count * n0)
      for p in 0..<count {
        var value = c[p]
        for j in 0..<n0 {
          let v = a[p * n0 + j]
          let x = v >= 0 ? upper[j] : lower[j]
          vertices[p * n0 + j] = x
          value += v * x
        }
        if value < best[p] { best[p] = value } else { rate[p] *= 0.5 }
      }
      if step == steps { break }
      // The gradient of each row's bound with respect to its slopes (`slopeGradient`).
      let gradient = slopeGradient(
        kept, vertex: vertices, relaxations: relaxations, count: count, rowSlopes: slopes
      ).gradient
      // Each row's step, normalized by its largest gradient entry.
      for p in 0..<count {
        var largest = 0.0
        for l in 0...top where !gradient[l].isEmpty {
          let out = network.layers[l].outputSize
          for i in 0..<out { largest = max(largest, abs(gradient[l][p * out + i])) }
        }
        guard largest > 0 else { continue }
        for l in 0...top where !gradient[l].isEmpty {
          let out = network.layers[l].outputSize
          for i in 0..<out where gradient[l][p * out + i] != 0 {
            let q = p * out + i
            slopes[l][q] = min(1, max(0, slopes[l][q] - rate[p] * gradient[l][q] / largest))
          }
        }
      }
    }
    if let first { (a, c) = first }
    return best
  }
}
