import RelucBase
import RelucHiGHS
import RelucIR

/// What the exact solve of a box found: a sound upper bound of the function `BaBSearch`
/// maximizes over the box's feasible points, and the best LP point (to be checked by the caller).
struct LeafOutcome {
  var bound: Double
  var point: [Double]?
  /// Region LPs solved.
  var lps: Int
}

/// The exact maximum over a box with few unstable ReLUs (option `bab_exact_relus`, up to
/// `2^k` LPs of `n + 1` columns for `k` unstable ReLUs): on every activation
/// pattern of the box's unstable ReLUs (the others are stable under the box's sound bounds) the
/// network is affine, so the box's maximum is the largest of one small LP per pattern (the
/// inputs, and with `BaBSearch.minimum` one more variable `t <= y_r` for every output), whose
/// rows are the pattern's sign conditions and the search's rows. Input splitting only
/// approaches a kink of the network; a box of a few ReLUs is closed at once.
///
/// Soundness in floating point. (1) The affine maps `h = M x + m` of each layer on a pattern are
/// computed with a forward error bound `E` valid at every point of the box whose true pattern is
/// this one: `e_z = |W| E + g (|W| (|M| |x| + |m|) + |b|)`, `g = (k + 2) 2^-52` for sums of `k`
/// terms; a ReLU fixed inactive has `E = 0`. (2) Each sign condition is relaxed by its `e_z`,
/// each row by its error and by `PointCheck`'s slack, so every feasible point of the box lies in
/// the computed region of its true pattern. (3) An LP's value is not trusted: for HiGHS's row
/// duals `y` (absolute values: any `y >= 0` gives a bound), `max c.x <= y.b + sum_j max(r_j l_j,
/// r_j u_j)` with `r = c - A^T y`, evaluated with a margin for its own rounding; a region HiGHS
/// calls infeasible counts only with a Farkas certificate from its dual ray (`y >= 0`, `min over
/// the box of (A^T y).x > y.b` with margin). Otherwise (another status, no certificate) the box
/// is not closed here and the search splits it as usual.
struct LeafSolver {
  /// Unit roundoff of a double.
  static let u = 0x1p-52

  let search: BaBSearch

  /// The exact bound over the box `lower...upper` whose sound pre-activation bounds are
  /// `bounds`; nil when some LP could not be certified (or `stop` said so).
  ///
  /// With `splits` (a ReLU-split region), `bounds` are the region's (each split neuron stable on
  /// its side) and each split adds its sign condition as a row, relaxed like the others.
  func solve(
    lower: [Double], upper: [Double], bounds: PreactivationBounds, splits: [ReluSplit] = [],
    lp: HighsSolver, stop: () -> Bool
  ) -> LeafOutcome? {
    let net = search.problem.network
    let n = net.inputSize
    guard bounds.lower.count == net.layers.count else { return nil }
    let xmax = zip(lower, upper).map { max(abs($0), abs($1)) }
    var outcome = LeafOutcome(bound: -.infinity, point: nil, lps: 0)
    var failed = false
    // The LP value of `outcome.point` (its pattern's point LP), and the best bound of a pattern.
    var pointLP = -Double.infinity
    // Unstable ReLUs in the layers after each layer.
    var unstableAfter = [Int](repeating: 0, count: net.layers.count)
    for l in stride(from: net.layers.count - 2, through: 0, by: -1) {
      let next = l + 1
      let count = net.layers[next].activation == .relu ? bounds.unstable(next).count : 0
      unstableAfter[l] = unstableAfter[next] + count
    }

    // Depth-first over the layers: the affine map of the current layer's outputs (row-major
    // `count x n`), its offset, its error bound, and the rows so far (row-major, with rhs).
    func descend(
      _ l: Int, _ M: [Double], _ m: [Double], _ E: [Double], _ rows: [Double], _ rhs: [Double]
    ) {
      if failed { return }
      let layer = net.layers[l]
      let k = layer.inputSize
      let out = layer.outputSize
      let g = Double(k + 2) * Self.u
      var Z = [Double](repeating: 0, count: out * n)
      var z = [Double](repeating: 0, count: out)
      var ez = [Double](repeating: 0, count: out)
      for i in 0..<out {
        var zi = layer.bias[i]
        var err = 0.0
        var mag = abs(layer.bias[i])
        for j in 0..<k {
          let w = layer.weights[i * k + j]
          guard w != 0 else { continue }
          zi += w * m[j]
          err += abs(w) * E[j]
          var rowMag = abs(m[j])
          for c in 0..<n {
            Z[i * n + c] += w * M[j * n + c]
            rowMag += abs(M[j * n + c]) * xmax[c]
          }
          mag += abs(w) * rowMag
        }
        z[i] = zi
        ez[i] = err + g * mag
      }
      let last = l == net.layers.count - 1
      guard layer.activation == .relu else {
        if last { leaf(Z, z, ez, rows, rhs) } else { descend(l + 1, Z, z, ez, rows, rhs) }
        return
      }
      // The splits' sign conditions on this layer.
      var rows = rows
      var rhs = rhs
      for s in splits where s.layer == l {
        let i = s.neuron
        for c in 0..<n { rows.append(s.active ? -Z[i * n + c] : Z[i * n + c]) }
        rhs.append((s.active ? z[i] : -z[i]) + ez[i])
      }
      let unstable = bounds.unstable(l)
      // With unstable ReLUs left in the layers after this one, a pattern whose region is
      // (certified) empty is dropped with its whole subtree.
      let prune = !last && unstable.count > 0 && unstableAfter[l] >= 2
      for pattern in 0..<(1 << unstable.count) {
        if failed || stop() {
          failed = true
          return
        }
        var M2 = Z
        var m2 = z
        var E2 = ez
        var rows2 = rows
        var rhs2 = rhs
        for i in 0..<out where bounds.upper[l][i] <= 0 {
          for c in 0..<n { M2[i * n + c] = 0 }
          m2[i] = 0
          E2[i] = 0
        }
        for (b, i) in unstable.enumerated() {
          if pattern & (1 << b) != 0 {
            // Active: z_i >= 0, i.e. -Z_i x <= z_i (+ its error).
            for c in 0..<n { rows2.append(-Z[i * n + c]) }
            rhs2.append(z[i] + ez[i])
          } else {
            for c in 0..<n {
              rows2.append(Z[i * n + c])
              M2[i * n + c] = 0
            }
            rhs2.append(-z[i] + ez[i])
            m2[i] = 0
            E2[i] = 0
          }
        }
        if prune {
          outcome.lps += 1
          let zero = [Double](repeating: 0, count: n)
          if case .some(.none) = certify(
            cost: zero, A: rows2, b: rhs2, lower: lower, upper: upper, lp: lp)
          {
            continue
          }
        }
        if last { leaf(M2, m2, E2, rows2, rhs2) } else { descend(l + 1, M2, m2, E2, rows2, rhs2) }
      }
    }

    // The LP of one pattern: outputs y = Y x + y0 (error ey) on the region `rows x <= rhs`.
    func leaf(_ Y: [Double], _ y0: [Double], _ ey: [Double], _ rows: [Double], _ rhs: [Double]) {
      let outs = y0.count
      var A = rows
      var b = rhs
      // The point LPs' right-hand sides (`pointMargin`): the pattern's rows as they are; the
      // search's rows exact (`bExact`) or relaxed by most of the slack (`bPoint`).
      var bPoint = rhs
      var bExact = rhs
      // The search's rows over inputs and outputs, relaxed by their error and slack; for the
      // point LP tightened by their error and relaxed by a part of the slack only.
      func addRows(_ pad: Int) {
        for row in search.rows {
          var a = row.g
          var r = row.rhs
          var error = 0.0
          var mag = abs(row.rhs)
          if let h = row.h {
            for o in 0..<outs where h[o] != 0 {
              for c in 0..<n { a[c] += h[o] * Y[o * n + c] }
              r -= h[o] * y0[o]
              error += abs(h[o]) * ey[o]
              var rowMag = abs(y0[o])
              for c in 0..<n { rowMag += abs(Y[o * n + c]) * xmax[c] }
              mag += abs(h[o]) * rowMag
            }
          }
          for c in 0..<n { mag += abs(row.g[c]) * xmax[c] }
          A += a + [Double](repeating: 0, count: pad)
          error += Double(outs + n + 2) * Self.u * mag
          b.append(r + row.slack + error)
          bPoint.append(
            r + row.slack - max(Self.pointMargin * row.slack, 10 * Self.pointTolerance) - error)
          bExact.append(r - error)
        }
      }
      var cost: [Double]
      var lo = lower
      var hi = upper
      var offset = 0.0
      var offsetError = 0.0
      if search.minimum {
        // max t s.t. t - y_r(x) <= e_r for every output r.
        var padded: [Double] = []
        padded.reserveCapacity((rows.count / max(n, 1) + outs) * (n + 1))
        for r in 0..<(rows.count / n) {
          padded += rows[(r * n)..<(r * n + n)]
          padded.append(0)
        }
        A = padded
        addRows(1)
        for o in 0..<outs {
          for c in 0..<n { A.append(-Y[o * n + c]) }
          A.append(1)
          b.append(y0[o] + ey[o])
          bPoint.append(y0[o] + ey[o])
          bExact.append(y0[o] + ey[o])
        }
        let L = net.layers.count - 1
        let top = (0..<outs).map { bounds.upper[L][$0] }.min() ?? 0
        let bottom = (0..<outs).map { bounds.lower[L][$0] }.min() ?? 0
        lo.append(bottom - 1)
        hi.append(top + 1)
        cost = [Double](repeating: 0, count: n) + [1]
      } else {
        addRows(0)
        cost = search.inputWeights
        offset = search.constant
        var mag = abs(search.constant)
        for c in 0..<n { mag += abs(search.inputWeights[c]) * xmax[c] }
        for o in 0..<outs where search.outputWeights[o] != 0 {
          let w = search.outputWeights[o]
          for c in 0..<n { cost[c] += w * Y[o * n + c] }
          offset += w * y0[o]
          offsetError += abs(w) * ey[o]
          var rowMag = abs(y0[o])
          for c in 0..<n { rowMag += abs(Y[o * n + c]) * xmax[c] }
          mag += abs(w) * rowMag
        }
        offsetError += Double(outs + n + 2) * Self.u * mag * 2
      }
      outcome.lps += 1
      guard let value = certify(cost: cost, A: A, b: b, lower: lo, upper: hi, lp: lp) else {
        failed = true
        return
      }
      guard let (bound, x) = value else { return }  // certified empty
      // (The two additions' rounding, at most 2u of the magnitudes.)
      let total =
        bound + offset + offsetError + 4 * Self.u * (abs(bound) + abs(offset) + offsetError)
      // (A NaN total, from an offset that overflowed, bounds nothing: `max` would drop it.)
      outcome.bound = total.isNaN ? .infinity : max(outcome.bound, total)
      guard let x, total > pointLP else { return }
      if search.rows.isEmpty {
        // No rows relaxed by the slack: the maximizer is the point (its value, near the bound).
        pointLP = total
        outcome.point = Array(x.prefix(n))
        return
      }
      // The relaxed LP's maximizer sits on its relaxed rows, where the final check may reject
      // it. The point comes from the LP with the exact rows when its value is within half the
      // search's gap of the bound, else from the LP with most of the slack, whose optimum is
      // close to the bound (the LP's value is concave in the relaxation: within a hundredth of
      // the relaxation's gain).
      let gap = max(BaBBackend.absoluteGap, search.problem.options.mipGap * abs(total)) / 2
      var found: (Double, [Double])? = nil
      for rhs in [bExact, bPoint] {
        outcome.lps += 1
        if let (v, p) = pointOptimum(cost: cost, A: A, b: rhs, lower: lo, upper: hi, lp: lp),
          v + offset > found?.0 ?? -.infinity
        {
          found = (v + offset, p)
        }
        if let (v, _) = found, v >= total - gap { break }
      }
      if let (v, p) = found, v > pointLP {
        pointLP = v
        outcome.point = Array(p.prefix(n))
      }
    }

    descend(
      0, identity(n), [Double](repeating: 0, count: n), [Double](repeating: 0, count: n), [], [])
    return failed ? nil : outcome
  }

  /// The point LP relaxes the search's rows by `PointCheck`'s slack less this share of it (or
  /// less ten times `pointTolerance`, when more), and tightens them by their rounding error:
  /// its maximizer, found by HiGHS within `pointTolerance`, then passes the final check, and
  /// its value is within a hundredth of the relaxed LP's gain over the exact rows. (Found by a
  /// differential test: the relaxed LP's maximizer, on its relaxed rows, failed the check, and
  /// `bab` reported `no_feasible_point` on a feasible problem whose output row is tight at the
  /// optimum, or `feasible` with a gap of 3e-6 where the MILP proves the optimum.)
  static let pointMargin = 0.01
  /// HiGHS's primal feasibility tolerance for the point LP (its smallest).
  static let pointTolerance = 1e-10

  /// HiGHS's maximizer of `cost.x` s.t. `A x <= b` and the box, and its LP value; nil when it
  /// has none (infeasible, or HiGHS failed). Not certified: the point is checked by its caller.
  private func pointOptimum(
    cost: [Double], A: [Double], b: [Double], lower: [Double], upper: [Double], lp: HighsSolver
  ) -> (Double, [Double])? {
    do throws(HighsError) {
      let tolerance = try lp.double("primal_feasibility_tolerance")
      try lp.set("primal_feasibility_tolerance", Self.pointTolerance)
      defer { try? lp.set("primal_feasibility_tolerance", tolerance) }
      try lp.passDenseLP(maximize: true, cost: cost, lower: lower, upper: upper, rows: A, rhs: b)
      guard try lp.run() == .optimal else { return nil }
    } catch {
      return nil
    }
    let x = lp.columnValues()
    guard x.count == cost.count, x.allSatisfy(\.isFinite) else { return nil }
    return (zip(cost, x).reduce(0) { $0 + $1.0 * $1.1 }, x)
  }

  private func identity(_ n: Int) -> [Double] {
    var M = [Double](repeating: 0, count: n * n)
    for i in 0..<n { M[i * n + i] = 1 }
    return M
  }

  /// A certified upper bound of `max cost.x` s.t. `A x <= b`, `lower <= x <= upper`, and HiGHS's
  /// maximizer: `.some(nil)` when the region is certified empty, nil when neither could be
  /// certified (or HiGHS failed).
  private func certify(
    cost: [Double], A: [Double], b: [Double], lower: [Double], upper: [Double], lp: HighsSolver
  ) -> (Double, [Double]?)?? {
    let n = cost.count
    let m = b.count
    if m == 0 {
      // The box alone: its best vertex.
      let x = (0..<n).map { cost[$0] >= 0 ? upper[$0] : lower[$0] }
      var value = 0.0
      var mag = 0.0
      for j in 0..<n {
        value += cost[j] * x[j]
        mag += abs(cost[j] * x[j])
      }
      return .some((value + Double(n + 2) * Self.u * mag, x))
    }
    let status: HighsModelStatus
    do throws(HighsError) {
      try lp.passDenseLP(maximize: true, cost: cost, lower: lower, upper: upper, rows: A, rhs: b)
      status = try lp.run()
    } catch {
      return nil
    }
    let g = Double(m + n + 4) * Self.u * 2
    switch status {
    case .optimal:
      let y = lp.rowDuals().map(abs)
      var bound = 0.0
      var mag = 0.0
      var r = cost
      for i in 0..<m where y[i] != 0 {
        bound += y[i] * b[i]
        mag += y[i] * abs(b[i])
        for j in 0..<n { r[j] -= y[i] * A[i * n + j] }
      }
      for j in 0..<n {
        bound += max(r[j] * lower[j], r[j] * upper[j])
        var colMag = abs(cost[j])
        for i in 0..<m where y[i] != 0 { colMag += y[i] * abs(A[i * n + j]) }
        mag += colMag * max(abs(lower[j]), abs(upper[j]))
      }
      guard bound.isFinite else { return nil }
      return .some((bound + g * mag, lp.columnValues()))
    case .infeasible:
      guard let ray = lp.dualRay() else { return nil }
      for y in [ray.map { max($0, 0) }, ray.map { max(-$0, 0) }, ray.map(abs)] {
        var yb = 0.0
        var mag = 0.0
        var s = [Double](repeating: 0, count: n)
        for i in 0..<m where y[i] != 0 {
          yb += y[i] * b[i]
          mag += y[i] * abs(b[i])
          for j in 0..<n { s[j] += y[i] * A[i * n + j] }
        }
        var lowest = 0.0
        for j in 0..<n {
          lowest += min(s[j] * lower[j], s[j] * upper[j])
          var colMag = 0.0
          for i in 0..<m where y[i] != 0 { colMag += y[i] * abs(A[i * n + j]) }
          mag += colMag * max(abs(lower[j]), abs(upper[j]))
        }
        if lowest - g * mag > yb { return .some(nil) }
      }
      return nil
    default:
      return nil
    }
  }
}
