import RelucBase
import RelucHiGHS
import RelucIR

extension BigMModel {
  /// The relative violation above which an ideal cut is added.
  static let cutTolerance = 1e-6
  /// The cut loop stops when the LP bound moves by at most this, relative (`cutLoop`).
  static let cutLoopStall = 1e-4

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
  /// cuts, and repeat while the bound improves by more than `cutLoopStall` (relative), for at most
  /// `rounds` rounds, until `stop` (monotonic seconds) or an interrupt. `onSolution` sees every LP
  /// solution. Returns the cuts added (a batch per round), the rounds of separation, the LP
  /// objective after each solve and the last LP status.
  func cutLoop(rounds: Int, until stop: Double, onSolution: ([Double]) -> Void = { _ in })
    throws(HighsError) -> (
      batches: [RowBatch], rounds: Int, bounds: [Double], status: HighsModelStatus?
    )
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
      if let last = history.last, abs(last - bound) <= Self.cutLoopStall * (1 + abs(bound)) {
        history.append(bound)
        break
      }
      history.append(bound)
      let cuts = idealCuts(at: v, tolerance: Self.cutTolerance)
      done += 1
      if cuts.count == 0 { break }
      try solver.addRows(cuts)
      batches.append(cuts)
    }
    return (batches, done, history, status)
  }
}
