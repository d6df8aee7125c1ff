import RelucBase
import RelucHiGHS
import RelucIR

extension IdealCutTree {
  enum Branching {
    /// No branching needed: the node is closed with its LP bound.
    case close
    /// Branch on binary `k`; the children's bounds (strong branching tightens them).
    case split(Int, upFirst: Bool, down: Double, up: Double)

    /// Whether the node is closed.
    var closes: Bool {
      if case .close = self { return true }
      return false
    }
  }

  /// Per binary and direction: the mean bound decrease per unit of change of the binary.
  struct PseudoCosts {
    var sum: [[Double]]
    var count: [[Int]]
    init(count n: Int) {
      sum = Array(repeating: [0, 0], count: n)
      count = Array(repeating: [0, 0], count: n)
    }
    mutating func record(
      _ k: Int, up: Bool, decrease: Double, change: Double, minimumChange: Double
    ) {
      let d = up ? 1 : 0
      sum[k][d] += max(0, decrease) / max(change, minimumChange)
      count[k][d] += 1
    }
    func estimate(_ k: Int, up: Bool) -> Double? {
      let d = up ? 1 : 0
      return count[k][d] == 0 ? nil : sum[k][d] / Double(count[k][d])
    }
  }

  /// Reliability branching among the free binaries whose ReLU the LP violates: a candidate whose
  /// pseudo-costs have fewer than `tunables.reliable` observations is strong-branched (both
  /// children's LPs solved, at most `tunables.strongCandidates` per node, most violated first);
  /// the score is the product of the two bound decreases. A child found infeasible or below the
  /// incumbent by strong branching makes its binary the choice at once (one child survives).
  func branching(
    _ model: BigMModel, _ node: Node, _ values: [Double], _ bound: Double, _ incumbent: Double,
    _ pseudo: inout PseudoCosts, _ lps: inout Int
  ) throws(HighsError) -> Branching {
    var candidates: [(k: Int, violation: Double)] = []
    for (k, n) in model.unstable.enumerated() where node.fix[k] < 0 {
      let d = values[n.binary]
      guard d > tunables.integrality, d < 1 - tunables.integrality else { continue }
      var z = n.bias
      for t in n.terms { z += t.weight * values[t.column] }
      let violation = values[n.activation] - max(0, z)
      if violation > tunables.violation { candidates.append((k, violation)) }
    }
    guard !candidates.isEmpty else { return .close }
    candidates.sort { $0.violation > $1.violation }
    let s = model.solver
    let cutoff = incumbent + tolerance(incumbent)
    var best = candidates[0].k
    var bestScore = -1.0
    var bestBounds = (bound, bound)  // valid bounds only when strong-branched
    var strong = 0
    for (k, _) in candidates {
      let binary = model.unstable[k].binary
      let d = values[binary]
      let reliable = min(pseudo.count[k][0], pseudo.count[k][1]) >= tunables.reliable
      var children = (bound, bound)
      var solved = false
      if !reliable && strong < tunables.strongCandidates {
        solved = true
        strong += 1
        for up in [false, true] {
          try s.setColumnBounds(binary, lower: up ? 1 : 0, upper: up ? 1 : 0)
          let status = try s.run()
          lps += 1
          let b: Double =
            switch status {
            case .infeasible: -.infinity
            case .optimal: min(bound, -s.objectiveValue)
            case .objectiveBound: min(bound, cutoff)  // the LP's optimum is below the cutoff
            default: bound
            }
          if status == .optimal || status == .infeasible {
            pseudo.record(
              k, up: up, decrease: b.isFinite ? bound - b : bound - cutoff, change: up ? 1 - d : d,
              minimumChange: tunables.minimumChange)
          }
          if up { children.1 = b } else { children.0 = b }
        }
        try s.setColumnBounds(binary, lower: 0, upper: 1)
        if children.0 <= cutoff || children.1 <= cutoff {
          return .split(k, upFirst: children.1 > children.0, down: children.0, up: children.1)
        }
      } else {
        let down = pseudo.estimate(k, up: false).map { bound - $0 * d } ?? bound
        let up = pseudo.estimate(k, up: true).map { bound - $0 * (1 - d) } ?? bound
        children = (down, up)
      }
      let floor = tunables.minimumDecrease
      let score = max(bound - children.0, floor) * max(bound - children.1, floor)
      if score > bestScore {
        bestScore = score
        best = k
        bestBounds = solved ? children : (bound, bound)
      }
    }
    let upFirst = values[model.unstable[best].binary] >= 0.5
    return .split(best, upFirst: upFirst, down: bestBounds.0, up: bestBounds.1)
  }
}
