import RelucBase
import RelucIR
import Synchronization

/// What evaluating one box found: its node (nil when pruned as infeasible) and the best
/// feasible point checked in it.
struct BoxOutcome {
  var node: BaBNode?
  var infeasible: Bool
  var point: [Double]?
  /// `sign * objective` at `point` (-infinity without one).
  var value: Double
  var seconds: Double
  /// Whether the box came from a ReLU split (not an input split).
  var fromReLUSplit = false
  /// Whether it was bounded again with refined bounds (`BaBSearch.refineEvery`; kept only when
  /// tighter).
  var refined = false
}

/// The per-solve constants of the branch and bound: the objective as a function to maximize,
/// the rows, the bounder.
struct BaBSearch: Sendable {
  let problem: Problem
  let bounder: SymbolicBounder
  /// `sign * c` (outputs), `sign * d` (inputs), `sign * constant`.
  let outputWeights: [Double]
  let inputWeights: [Double]
  let constant: Double
  /// The polytope's rows and the output rows.
  let rows: [BaBRow]
  /// Alpha-CROWN steps on each box's objective bound.
  let alphaSteps: Int
  /// Whether the function maximized is the network's smallest output instead of the problem's
  /// objective (`reluc verify`'s margin over a disjunct's rows; `BaBBackend.maximizeMinimum`).
  let minimum: Bool
  /// The cheap ranking's record (`branch`).
  let ranking = SplitRanking()
  /// The largest ratio of two inputs' scaled widths in a box (see `branch`).
  static let aspectRatio = 16.0
  /// ReLU split candidates tried per split of a box, beside the inputs (option
  /// `bab_relu_splits`; 0: input splits only).
  var reluCandidates: Int { problem.options.babReLUSplits }
  /// Unstable ReLUs above which a box tries input splits only. Measured with 2 candidates on
  /// ACAS Xu 1_1 (issue 17's box, 30 s): bound -0.0131 without ReLU splits; -0.0146 (twice)
  /// with this gate at 30, -0.0130 at 20, -0.0128 at 40, 0.0096 at 60, 0.019 without a gate (a
  /// ReLU split of a large box doubles every later input split).
  static let reluSplitUnstable = 30
  /// Per input, how far the functions the search bounds move per unit of it: the sum of the
  /// absolute first-layer weights on it, of its objective weight and of its coefficients in
  /// the rows. A box's widths are compared in these units (`branch`). On ACAS Xu the inputs'
  /// weights are alike, but property 2's box is 1 wide in two inputs and 0.05-0.08 in the
  /// other three: compared relative to the domain (before), a box 1/64 of the domain in input
  /// 1 and 1/4 in input 3 no longer had input 1 as a candidate, although in the network's terms
  /// input 1 was the wider, and only splitting it proved the box; 3_3 prop 2 stayed open for
  /// 900 s, and is unsat in 7.5 s with the scaled widths (4_2 prop 2: 36.7 -> 4.5 s).
  let inputScale: [Double]
  /// Whether candidates must pass `PointCheck` (rows present).
  var checked: Bool { !rows.isEmpty }

  init(_ problem: Problem, alphaSteps: Int, minimum: Bool = false) {
    self.problem = problem
    self.minimum = minimum
    bounder = SymbolicBounder(problem.network)
    let o = problem.objective
    outputWeights = o.outputWeights.map { o.sign * $0 }
    inputWeights = o.inputWeights.map { o.sign * $0 }
    constant = o.sign * o.constant
    self.alphaSteps = alphaSteps
    // PointCheck accepts an input row violated by at most tol * scale, an output row by
    // tol * max(1, |h|): a box is infeasible only when every point violates some row by more.
    let tol = problem.options.feasibilityTolerance
    let p = problem.polytope
    let scale = max(1, p.upper.map(abs).max() ?? 1)
    var rows: [BaBRow] = []
    for r in 0..<p.rowCount {
      rows.append(BaBRow(g: Array(p.row(r)), h: nil, rhs: p.rhs[r], slack: tol * scale))
    }
    let q = problem.outputConstraints
    for r in 0..<q.rowCount {
      rows.append(
        BaBRow(
          g: Array(q.inputRow(r)), h: Array(q.outputRow(r)), rhs: q.rhs[r],
          slack: tol * max(1, abs(q.rhs[r]))))
    }
    self.rows = rows
    var weights = problem.objective.inputWeights.map(abs)
    if let first = problem.network.layers.first, let w = bounder.absoluteWeights.first {
      for i in 0..<first.outputSize {
        for j in 0..<first.inputSize { weights[j] += w[i * first.inputSize + j] }
      }
    }
    for row in rows {
      for j in 0..<min(row.g.count, weights.count) { weights[j] += abs(row.g[j]) }
    }
    inputScale = weights
  }

  /// `sign * objective` at `x` (a point of the box), or -infinity when it is not feasible.
  func value(at x: [Double]) -> Double {
    if minimum {
      if checked, !PointCheck(problem: problem, point: x).feasible { return -.infinity }
      let v = problem.network.evaluate(x).min() ?? -.infinity
      return v.isFinite ? v : -.infinity
    }
    if checked {
      let c = PointCheck(problem: problem, point: x)
      return c.feasible && c.objective.isFinite ? problem.objective.sign * c.objective : -.infinity
    }
    let f = problem.evaluate(x).objective
    return f.isFinite ? problem.objective.sign * f : -.infinity
  }

  /// A box with its pre-activation bounds and the rows it does not satisfy everywhere; nil
  /// `box` when some row holds at no point of it (infeasible).
  struct Prepared {
    var lower: [Double]
    var upper: [Double]
    var box: BoxBounds?
    var active: [LinearRow]
    var seconds: Double
    /// The box's relaxations with CROWN's own lower slopes, when `box` starts from inherited
    /// ones (nil otherwise).
    var crown: [ReluRelaxation?]? = nil
  }

  /// The box's pre-activation bounds (`SymbolicBounder.bounds`: a back substitution per
  /// unstable neuron) and row tests.
  func prepare(
    lower: [Double], upper: [Double], prior: PreactivationBounds?, slopes: [[Double]] = [],
    splits: [ReluSplit] = [], refine: Int = 0, refineUntil: Double = .infinity,
    until: Double = .infinity
  ) -> Prepared {
    let t0 = monotonicSeconds()
    let box = bounder.bounds(
      lower: lower, upper: upper, prior: prior, splits: splits, refine: refine,
      refineUntil: refineUntil, until: until)
    return prepared(box, slopes: slopes, since: t0)
  }

  /// A sub-region's cheap pre-activation bounds from its parent's linear functions
  /// (`SymbolicBounder.bounds(lower:upper:within:splits:)`) and row tests.
  func prepare(
    lower: [Double], upper: [Double], within parent: BoxBounds, slopes: [[Double]],
    splits: [ReluSplit]
  ) -> Prepared {
    let t0 = monotonicSeconds()
    let box = bounder.bounds(lower: lower, upper: upper, within: parent, splits: splits)
    return prepared(box, slopes: slopes, since: t0)
  }

  /// The row tests of a bounded box: a row whose lower bound over the box exceeds its
  /// right-hand side by more than PointCheck's slack holds at no point of the box.
  private func prepared(_ bounds: BoxBounds, slopes: [[Double]], since t0: Double) -> Prepared {
    var box = bounds
    let (lower, upper) = (box.lower, box.upper)
    if box.empty {
      return Prepared(
        lower: lower, upper: upper, box: nil, active: [], seconds: monotonicSeconds() - t0)
    }
    // The objective's relaxation starts from the slopes alpha-CROWN chose for the box this one
    // was split from (any slope in [0, 1] is valid; the pre-activation bounds above keep
    // CROWN's). Measured on ACAS Xu (release, 116 s limit): 1_1 prop 5 unsat in 2.1 s (a
    // timeout from CROWN's slopes), 1_8 prop 2 6.7 s (6.5), 3_9 prop 1 30.4 s (30.7); the same
    // slopes in the pre-activation bounds too cost 3_9 prop 1 54 s and 1_8 prop 2 11 s.
    let crown = slopes.isEmpty ? nil : box.relaxations
    for k in 0..<min(slopes.count, box.relaxations.count) {
      guard var rx = box.relaxations[k], slopes[k].count == rx.state.count else { continue }
      for i in 0..<rx.state.count where rx.state[i] == 2 { rx.lowerSlope[i] = slopes[k][i] }
      box.relaxations[k] = rx
    }
    var active: [LinearRow] = []
    let zero = [Double](repeating: 0, count: outputWeights.count)
    for row in rows {
      if row.h == nil {
        // A row over the inputs: its extremes over the box, exactly up to rounding (the slack,
        // at least 1e-7 of the input scale by default, is far above it).
        var lowest = 0.0
        var highest = 0.0
        for j in 0..<lower.count {
          let g = row.g[j]
          lowest += g >= 0 ? g * lower[j] : g * upper[j]
          highest += g >= 0 ? g * upper[j] : g * lower[j]
        }
        if lowest > row.rhs + row.slack {
          return Prepared(
            lower: lower, upper: upper, box: nil, active: [], seconds: monotonicSeconds() - t0)
        }
        if highest > row.rhs { active.append(LinearRow(inputs: row.g, outputs: nil, rhs: row.rhs)) }
        continue
      }
      let lowest = -bounder.upperBound(
        outputs: (row.h ?? zero).map { -$0 }, inputs: row.g.map { -$0 }, constant: 0, box: box,
        alphaSteps: alphaSteps, target: -(row.rhs + row.slack)
      ).value
      if lowest > row.rhs + row.slack {
        return Prepared(
          lower: lower, upper: upper, box: nil, active: [], seconds: monotonicSeconds() - t0)
      }
      // A row the whole box satisfies needs no multiplier.
      let highest = bounder.upperBound(
        outputs: row.h ?? zero, inputs: row.g, constant: 0, box: box
      ).value
      if highest > row.rhs { active.append(LinearRow(inputs: row.g, outputs: row.h, rhs: row.rhs)) }
    }
    return Prepared(
      lower: lower, upper: upper, box: box, active: active, seconds: monotonicSeconds() - t0,
      crown: crown)
  }

  /// The objective's bound over a prepared feasible box (`alphaSteps` alpha-CROWN steps, which
  /// stop once the bound is at most `target`).
  /// With `minimum`, the bound of the smallest output: each output's own bound (CROWN's
  /// slopes), then from the output with the smallest, alpha-CROWN steps that also move the
  /// outputs' weights on the simplex (`SymbolicBounder.upperBound`'s `simplex`).
  func objectiveBound(_ p: Prepared, alphaSteps: Int, target: Double) -> LinearBound? {
    guard let box = p.box else { return nil }
    if minimum {
      let m = problem.network.outputSize
      let zero = [Double](repeating: 0, count: problem.network.inputSize)
      var best: LinearBound? = nil
      var first = 0
      for i in 0..<m {
        var e = [Double](repeating: 0, count: m)
        e[i] = 1
        var b = bounder.upperBound(outputs: e, inputs: zero, constant: 0, box: box)
        if let crown = p.crown {
          // The inherited slopes were chosen for another output's bound (or a mixture's), and
          // CROWN's own can be far tighter for this one (3_3 prop 2: 8.7 -> 7.7 s).
          var fresh = box
          fresh.relaxations = crown
          let c = bounder.upperBound(outputs: e, inputs: zero, constant: 0, box: fresh)
          if c.value < b.value { b = c }
        }
        if best == nil || b.value < best!.value {
          best = b
          first = i
        }
      }
      guard alphaSteps > 0, let cheap = best, cheap.value > target else { return best }
      var e = [Double](repeating: 0, count: m)
      e[first] = 1
      let b = bounder.upperBound(
        outputs: e, inputs: zero, constant: 0, box: box, alphaSteps: alphaSteps,
        rows: p.active, target: target, simplex: true, candidates: reluCandidates > 0)
      return b.value < cheap.value ? b : cheap
    }
    return bounder.upperBound(
      outputs: outputWeights, inputs: inputWeights, constant: constant, box: box,
      alphaSteps: alphaSteps, rows: p.active, target: target, candidates: reluCandidates > 0)
  }

  /// The node of a bounded box, with the candidates checked in it: the relaxation's maximizing
  /// vertex and the centre.
  func finish(
    _ p: Prepared, _ bound: LinearBound?, depth: Int, keepPrior: Bool, keepBox: Bool = false,
    seconds: Double
  ) -> BoxOutcome {
    guard let bound, let box = p.box else {
      return BoxOutcome(
        node: nil, infeasible: true, point: nil, value: -.infinity, seconds: seconds)
    }
    let centre = zip(p.lower, p.upper).map { ($0 + $1) / 2 }
    var bestPoint: [Double]? = nil
    var bestValue = -Double.infinity
    for x in [bound.vertex, centre] {
      let v = value(at: x)
      if v > bestValue {
        bestValue = v
        bestPoint = x
      }
    }
    let node = BaBNode(
      lower: p.lower, upper: p.upper, bound: max(bound.value, bestValue), depth: depth,
      prior: keepPrior ? box.bounds : nil, box: keepPrior && keepBox ? box : nil,
      slopes: keepPrior ? bound.slopes : [],
      unstable: box.bounds.stableCounts(problem.network).unstable, splits: box.splits,
      candidates: bound.candidates)
    return BoxOutcome(
      node: node, infeasible: false, point: bestPoint, value: bestValue, seconds: seconds)
  }

  /// The root box, bounded (layers begun after `until` keep their interval bounds, see
  /// `SymbolicBounder.bounds`).
  func root(until: Double = .infinity) -> BoxOutcome {
    let t0 = monotonicSeconds()
    let p = prepare(
      lower: problem.polytope.lower, upper: problem.polytope.upper, prior: nil, until: until)
    let b = objectiveBound(p, alphaSteps: alphaSteps, target: -.infinity)
    return finish(p, b, depth: 0, keepPrior: true, keepBox: true, seconds: monotonicSeconds() - t0)
  }

  /// Splits the node in two along the input whose halves have the smallest sum of bounds, each
  /// counted from the target up (a half at or below the target is pruned; the smallest larger
  /// bound breaks ties). Every input whose width (scaled by `inputScale`) is at least
  /// `1 / aspectRatio` of the widest's is a candidate: the larger bound alone keeps halving the
  /// input that moves the best half's bound a little, never the one that cuts off the other
  /// half, and a one-step look-ahead alone can keep halving a few inputs while the
  /// relaxation's looseness comes from another (the aspect ratio forces it in). The candidates'
  /// halves are first ranked cheaply, from the node's linear functions and slopes
  /// (`SymbolicBounder.bounds(lower:upper:within:splits:)`, no back substitution per neuron),
  /// and only the best `rankedInputs` are bounded with CROWN's slopes to choose (`2 n` such
  /// boundings when there are at most that many), or only the first when the ranking has
  /// earned trust (`SplitRanking`). The two halves chosen are then bounded with alpha-CROWN
  /// (refined every `refineEvery` levels). Nil when `stop` says so before the halves are chosen
  /// (the node is then open).
  func branch(
    _ node: BaBNode, target: Double, keepPrior: Bool, keepBox: Bool, stop: () -> Bool
  ) -> [BoxOutcome]? {
    let t0 = monotonicSeconds()
    var best: (key: SplitKey, halves: [(Prepared, LinearBound?)])? = nil
    let scaled = (0..<node.lower.count).map { j in
      (node.upper[j] - node.lower[j]) * inputScale[j]
    }
    let widest = scaled.max() ?? 0
    var onReLU = false
    @discardableResult
    func consider(_ halves: [(Prepared, LinearBound?)], relu: Bool) -> Bool {
      let key = SplitKey(halves.map { $0.1?.value ?? -.infinity }, target: target)
      guard best == nil || key < best!.key else { return false }
      best = (key, halves)
      onReLU = relu
      return true
    }
    // The best of the halves' maximizing vertices, every half tried (chosen or not): a
    // candidate point each, at the cost of a forward pass.
    var seen: (point: [Double]?, value: Double) = (nil, -.infinity)
    /// A sub-region bounded with CROWN's slopes, cheaply from `parent`'s functions if given.
    func half(_ lo: [Double], _ hi: [Double], _ splits: [ReluSplit], within parent: BoxBounds?)
      -> (Prepared, LinearBound?)
    {
      let p =
        parent.map {
          prepare(lower: lo, upper: hi, within: $0, slopes: node.slopes, splits: splits)
        }
        ?? prepare(lower: lo, upper: hi, prior: node.prior, slopes: node.slopes, splits: splits)
      let b = objectiveBound(p, alphaSteps: 0, target: target)
      if let x = b?.vertex {
        let v = value(at: x)
        if v > seen.value { seen = (x, v) }
      }
      return (p, b)
    }
    func halves(_ j: Int, within parent: BoxBounds? = nil) -> [(Prepared, LinearBound?)] {
      let mid = interpolate(node.lower[j], node.upper[j], 0.5)
      var (belowUpper, aboveLower) = (node.upper, node.lower)
      belowUpper[j] = mid
      aboveLower[j] = mid
      return [
        half(node.lower, belowUpper, node.splits, within: parent),
        half(aboveLower, node.upper, node.splits, within: parent),
      ]
    }
    var trusted = false
    var ranked = false
    var inputs = (0..<node.lower.count).filter { j in
      let mid = interpolate(node.lower[j], node.upper[j], 0.5)
      return scaled[j] >= widest / Self.aspectRatio && mid > node.lower[j] && mid < node.upper[j]
    }
    if inputs.count > Self.rankedInputs {
      if stop() { return nil }
      let parent =
        node.box
        ?? bounder.bounds(
          lower: node.lower, upper: node.upper, prior: node.prior, splits: node.splits)
      if !parent.empty {
        let keys = inputs.map { j in
          SplitKey(halves(j, within: parent).map { $0.1?.value ?? -.infinity }, target: target)
        }
        ranked = true
        trusted = ranking.trusted()
        inputs = inputs.indices.sorted { keys[$0] < keys[$1] }
          .prefix(trusted ? 1 : Self.rankedInputs).map { inputs[$0] }
      }
    }
    var chosen = -1
    for j in inputs {
      if stop() { return nil }
      if consider(halves(j), relu: false) { chosen = j }
    }
    if ranked, !trusted, inputs.count > 1 { ranking.record(agreed: chosen == inputs[0]) }
    let relus = node.unstable <= Self.reluSplitUnstable ? reluCandidates : 0
    for candidate in node.candidates.prefix(relus) {
      if stop() { return nil }
      let regions = [true, false].map { active in
        var split = candidate
        split.active = active
        return half(node.lower, node.upper, node.splits + [split], within: nil)
      }
      consider(regions, relu: true)
    }
    guard let best else { return [] }
    let seconds = (monotonicSeconds() - t0) / 2
    let refining = (node.depth + 1) % Self.refineEvery == 0
    var children = best.halves.map { prepared, cheap in
      var p = prepared
      var b = cheap
      if alphaSteps > 0, let c = cheap, c.value > target {
        b = objectiveBound(p, alphaSteps: alphaSteps, target: target)
        if let v = b?.value, v > c.value { b = c }
      }
      var refined = false
      if refining, let v = b?.value, v > target, let box = p.box {
        // (The refined bounds lie within the CROWN bounds, their prior.)
        let q = prepare(
          lower: p.lower, upper: p.upper, prior: box.bounds, slopes: node.slopes,
          splits: box.splits, refine: Self.refineSteps)
        let r = objectiveBound(q, alphaSteps: alphaSteps, target: target)
        refined = true
        if (r?.value ?? -.infinity) <= v {
          p = q
          b = r
        }
      }
      var outcome = finish(
        p, b, depth: node.depth + 1, keepPrior: keepPrior, keepBox: keepBox, seconds: seconds)
      outcome.fromReLUSplit = onReLU
      outcome.refined = refined
      return outcome
    }
    // (A point of the node's box; the outcome's node bound does not depend on it.)
    if let k = children.indices.first, seen.value > children[k].value {
      (children[k].point, children[k].value) = seen
    }
    return children
  }

  /// Inputs bounded with CROWN to choose a split, the best of the cheap ranking (`branch`).
  /// Measured on ACAS Xu `verify` (release, 2 workers; seconds with 1 / 2 / 3 / all 5 inputs
  /// bounded with CROWN): 4_7 prop 1 47 / 37 / 24 / 27, 1_1 prop 2 60 / 42 / 22 / 22, 4_9
  /// prop 1 12 / 16 / 19 / 21, 2_9 prop 1 5.9 / 9.5 / 13 / 15, 3_9 prop 1 35 / 27 / 27 / 29,
  /// 4_8 prop 1 9.3 / 8.6 / 9.4 / 10, 4_2 prop 2 (3 and 5) 82 / 80; the cheap bounds rank
  /// the inputs too roughly to choose by them alone.
  static let rankedInputs = 3
  /// Children at depths that are multiples of this have their pre-activation bounds refined
  /// by alpha-CROWN on every unstable neuron (`SymbolicBounder.bounds`'s `refine`), after
  /// their CROWN bound stayed above the target; their descendants inherit the tighter bounds
  /// (as priors, intersected with their own), so the cost (about `2 refineSteps + 1` back
  /// substitutions per layer) is paid once for six levels. Measured on ACAS Xu `verify`
  /// (release, 116 s limit; seconds without refinement / refining every 4 / 6 / 8 levels):
  /// 4_2 prop 2 74.5 / timeout / 36.8 / 50.9, 4_7 prop 1 20.1 / 6.3 / 8.8 / 13.1, 4_9 prop 1
  /// 15.8 / 13.9 / 14.8 / 19.6; every 6: 1_1 prop 2 19.7 -> 1.5, 3_9 prop 1 5.4 (22.4 in the
  /// last run of all 186 without it); issue 17's box (`reluc` on 1_1, maximize y0, 30 s): bound
  /// minus objective 0.0036 -> 0.000015. Every
  /// level or every 2-3 levels paid on 1_1 prop 2 and 3_9 prop 1 but cost 4_2 prop 2 its proof
  /// (refinement helps much less where the priors are already refined); a gate on the
  /// measured success rate of refinement did not help either.
  static let refineEvery = 6
  /// Alpha-CROWN steps per refined neuron (2: 4_7 prop 1 7.7 s, 5: 5.1 s, every 3 levels).
  static let refineSteps = 5
}

/// How often the cheap ranking's first input was the one the CROWN bounds chose, shared by
/// the workers: once it agrees often enough, most splits bound only the first input. Measured
/// on ACAS Xu `verify`: it agreed on 96-99.6% of the ranked splits (4_7, 4_9, 2_9, 3_9 prop 1,
/// 1_1 prop 2); trusting it at 90% took 4_7 prop 1 from 25.1 to 21.8 s, 1_1 prop 2 26.5 to
/// 19.5, 2_9 prop 1 14.6 to 13.7, 4_9 prop 1 22.9 to 18.4, 3_9 prop 1 27.5 to 23.6, 4_8 prop 1
/// 9.5 to 8.6 (and 20.0, 19.1, 10.7, 15.5, 21.6, 8.2 s with the nodes' functions kept,
/// `BaBNode.box`). Ranking alone, with no comparison, had doubled 1_1 prop 2 (see
/// `BaBSearch.rankedInputs`): the comparisons keep it honest.
final class SplitRanking: Sendable {
  private let counts = Mutex((agreed: 0, compared: 0, branches: 0))
  /// The agreement above which the ranking is trusted, after `trustAfter` comparisons.
  static let trustRate = 0.9
  static let trustAfter = 64

  /// Whether this split may bound only the ranking's first input (one split in four still
  /// compares, so the rate follows the search).
  func trusted() -> Bool {
    counts.withLock { c in
      c.branches += 1
      return c.compared >= Self.trustAfter
        && Double(c.agreed) >= Self.trustRate * Double(c.compared) && c.branches % 4 != 0
    }
  }

  func record(agreed: Bool) {
    counts.withLock { c in
      c.compared += 1
      if agreed { c.agreed += 1 }
    }
  }

  /// Ranked splits, and how many compared the ranking with CROWN's choice and agreed.
  var tally: (agreed: Int, compared: Int, branches: Int) { counts.withLock { $0 } }
}

/// How good a split is (`BaBSearch.branch`): the sum of its halves' bounds counted from the
/// target up, then the larger bound; smaller is better.
struct SplitKey: Comparable {
  var sum: Double
  var score: Double

  init(_ values: [Double], target: Double) {
    sum = values.map { max($0, target) }.reduce(0, +)
    score = values.max() ?? -.infinity
  }

  static func < (a: SplitKey, b: SplitKey) -> Bool {
    a.sum < b.sum || (a.sum == b.sum && a.score < b.score)
  }
}
