import RelucBase
import RelucIR

/// What a prover says about one disjunct.
public enum DisjunctAnswer: Sendable, Equatable {
  /// A point of the disjunct (the input; re-checked by the caller before it is printed).
  case sat([Double])
  /// Proven empty; the string says how.
  case unsat(String)
  /// Neither; the string says why.
  case unknown(String)
  /// The deadline passed; the string says where the prover stood.
  case timeout(String)
}

/// A prover: takes a disjunct's problem (inputs' polytope, output rows, zero objective) and a
/// context with its deadline; says `sat` with a point, `unsat` only from a proof, or neither.
/// `Verifier.provers` lists the ones tried, in order (new exact methods plug in there).
public typealias DisjunctProver = @Sendable (Problem, SolveContext) -> DisjunctAnswer

/// The built-in provers, independent of the MILP's own support for output rows: the margin
/// `min_r (h_r - G_r x - H_r y)` is appended to the network as a "spec network" (affine maps and
/// ReLUs computing it exactly), so that any bound on the network's single output bounds the
/// margin.
public enum SpecNetworkProver {
  /// The margin below which a bound from the MILP counts as a proof that no point of the
  /// disjunct exists. HiGHS solves the relaxations with a primal feasibility tolerance of
  /// 1e-7 and reports its dual bound after widening by the MIP gaps (`MILPBackend`); on networks
  /// whose weights are of order 1 (ACAS Xu) the error this leaves on the margin is orders of
  /// magnitude below 1e-5. It is an engineering margin, not a rigorous floating-point
  /// certificate: a disjunct whose true largest margin lies in (-1e-5, 0) is answered
  /// `unknown`, never `unsat`.
  public static let milpMargin = 1e-5

  /// Why a prover cannot run: the spec network carries the inputs a row names from their lower
  /// bounds (`marginRowsNetwork`).
  static let uncarried = "a row names an input with no finite lower bound"

  /// Unsat when the interval bound on the spec network's output, or on one row's margin, is
  /// negative. Interval bounds are sound under rounding (`intervalBounds` widens every bound), so
  /// no margin is needed.
  public static let interval: DisjunctProver = { problem, _ in
    guard let spec = specNetwork(problem) else {
      return .unknown(uncarried)
    }
    let (lower, upper) = (problem.polytope.lower, problem.polytope.upper)
    let b = intervalBounds(spec, lower: lower, upper: upper)
    let bound = b.upper[b.upper.count - 1][0]
    if bound < 0 { return .unsat("interval bound \(formatNumber(bound)) < 0") }
    // One row that cannot hold empties the conjunction: the rows' own margins can be tighter
    // than the minimum's bound. They are the last layer of `marginRowsNetwork`, not a layer of
    // the spec network, whose minimum folds them into its first ReLU layer (relu(a - L_a),
    // relu(a - b)): that layer's bound of a - b read as a row's margin said `unsat` on sets
    // that have points (found by bench/differential/verify_campaign.py).
    if !problem.outputConstraints.isEmpty, let rows = marginRowsNetwork(problem),
      let row = intervalBounds(rows, lower: lower, upper: upper).upper.last?.min(), row < 0
    {
      return .unsat("interval bound \(formatNumber(row)) < 0 on one row")
    }
    return .unknown("interval bound \(formatNumber(bound)) >= 0")
  }

  /// The relative MIP gap of the MILP prover. The search's best point (`context.userStarts`)
  /// is the MILP's first incumbent `f`; with a gap of 1/2 the tree closes a node whose bound is
  /// below `f + |f|/2`, which for a negative `f` is negative: the MILP stops once it has proven
  /// the largest margin below `f/2` (enough for `unsat`) instead of closing the gap to 1e-6. A
  /// bound is still a bound: the tree reports the largest bound of the nodes it closed, and
  /// HiGHS's bound is widened by the gap (`MILPBackend`), so a negative bound stays a proof.
  public static let milpGap = 0.5

  /// The exact MILP (`method = milp`, the default cuts, gap `milpGap`) maximizing the spec
  /// network's output, started from the search's best point: `sat` with its point when it
  /// found a nonnegative margin, `unsat` when its proven bound is below `-milpMargin` (or the
  /// polytope is empty), `timeout` or `unknown` otherwise. Its big-M bounds are interval bounds
  /// on networks whose inputs bab splits (bab has run); on more inputs, the spec network's
  /// symbolic bounds with every unstable neuron's refined by alpha-CROWN
  /// (`BaBSearch.refineSteps` steps, within `Budget.boundTightening` of the time left), which
  /// leave fewer unstable ReLUs and a tighter relaxation. Measured on VNN-COMP 2021's mnistfc
  /// 256x2 (30 instances, 20 s each): with interval bounds and no root bound (`rootBound`) 22
  /// decided; with CROWN's bounds 25; with the root bound too, 26 with CROWN's bounds or with
  /// the refined ones, which took prop_13 at eps 0.03 from 15.1 s to 4.9 s and prop_9 at 0.03
  /// from 6.9 s to 3.1 s.
  public static let milp: DisjunctProver = { problem, context in
    guard let spec = specNetwork(problem) else {
      return .unknown(uncarried)
    }
    let refined = problem.network.inputSize > BaBBackend.maxInputs
    let (p, c, start) = specProblem(problem, spec, context) { options in
      options.method = .milp
      options.warmStart = false
      options.mipGap = milpGap
      if refined { options.bounds = .symbolic }
    }
    let result: SolveResult
    if let empty = Solver.emptyPolytope(p) {
      result = empty
    } else {
      var backend = MILPBackend(warmStart: start)
      if refined {
        backend.givenBounds =
          SymbolicBounder(spec).bounds(
            lower: p.polytope.lower, upper: p.polytope.upper, refine: BaBSearch.refineSteps,
            refineUntil: monotonicSeconds() + Budget.boundTightening * c.remaining,
            until: c.deadline
          ).bounds
      }
      result = backend.solve(p, c)
    }
    let report = SolutionReport(
      problem: p, result: result, seconds: monotonicSeconds() - context.start)
    if report.status == .infeasible { return .unsat("the inputs' polytope is empty") }
    if let x = report.point, let v = report.objective, v >= 0 { return .sat(x) }
    if let bound = report.bound, bound < -milpMargin {
      return .unsat("milp bound \(formatNumber(bound)) < -\(formatNumber(milpMargin))")
    }
    let state =
      "milp bound \(numberOrNone(report.bound)), best margin \(numberOrNone(report.objective))"
    switch report.status {
    case .timeLimit, .interrupted: return .timeout(state)
    default: return .unknown("milp ended \(report.status.rawValue), \(state)")
    }
  }

  /// The input branch and bound (`bab`, symbolic bounds) maximizing the disjunct's margin on
  /// networks with at most `BaBBackend.maxInputs` inputs (on more, its root box only:
  /// `rootBound`): the network followed by one output
  /// per row (`marginRowsNetwork`), the smallest maximized (`BaBBackend.maximizeMinimum`),
  /// stopped as soon as a point reaches margin 0 (`sat`) and pruning every box whose bound is
  /// below 0: `unsat` when the bound of every box is negative. bab's bounds are sound in
  /// floating point (a proven rounding margin, `SymbolicBounds.swift`), so a negative bound is
  /// a proof without a further margin.
  public static let bab: DisjunctProver = { problem, context in
    guard let spec = marginRowsNetwork(problem) else {
      return .unknown(uncarried)
    }
    guard problem.network.inputSize <= BaBBackend.maxInputs else {
      return rootBound(problem, spec, context)
    }
    let (p, c, start) = specProblem(problem, spec, context) { $0.method = .bab }
    var backend = BaBBackend(warmStart: start)
    backend.pruneAt = 0
    backend.stopAt = 0
    backend.maximizeMinimum = true
    let result = backend.solve(p, c)
    func count(_ name: String) -> Int? {
      if case .int(let n)? = result.statistics.first(where: { $0.0 == name })?.1 { return n }
      return nil
    }
    let boxes = count("boxes").map { " (\($0) boxes)" } ?? ""
    if let x = result.point, let v = result.claimedObjective, v >= 0 { return .sat(x) }
    if let bound = result.bound, bound < 0, result.status != .timeLimit,
      result.status != .interrupted
    {
      return .unsat("bab bound \(formatNumber(bound)) < 0\(boxes)")
    }
    switch result.status {
    case .timeLimit, .interrupted:
      return .timeout(
        "bab bound \(numberOrNone(result.bound)), best margin "
          + "\(numberOrNone(result.claimedObjective)), \(count("boxes") ?? 0) boxes, "
          + "\(count("open_boxes") ?? 0) open")
    default:
      return .unknown(
        "bab ended \(result.status.rawValue), bound \(numberOrNone(result.bound))\(boxes)")
    }
  }

  /// Alpha-CROWN steps on the root box's margin after its neurons' bounds are refined
  /// (`rootBound`; not tuned: one bound per disjunct, so steps are cheap beside the refinement).
  static let rootAlphaSteps = 20

  /// bab's root box alone, for networks with more inputs than bab splits (an image's pixels):
  /// the margin's bound over the whole box, as bab bounds its boxes (CROWN, then alpha-CROWN on
  /// the smallest row's margin, `BaBSearch.root`); while it is not negative and time is left,
  /// again with every unstable neuron's bounds refined by alpha-CROWN
  /// (`SymbolicBounder.bounds`'s `refine`) and `rootAlphaSteps` steps on the margin. `unsat`
  /// when a bound is negative or some input row holds at no point of the box, `sat` when a
  /// bound's maximizing vertex (or the box's centre) has a margin of at least 0; `timeout`
  /// when the deadline cut the refinement short, `unknown` (final: the verifier does not ask
  /// again) otherwise. The bounds are sound in floating point (`SymbolicBounds.swift`), as
  /// bab's are.
  static func rootBound(_ problem: Problem, _ spec: Network, _ context: SolveContext)
    -> DisjunctAnswer
  {
    let (p, _, _) = specProblem(problem, spec, context) { $0.method = .bab }
    let search = BaBSearch(p, alphaSteps: BaBBackend.alphaSteps, minimum: true)
    let n = problem.network.inputSize
    func decided(_ o: BoxOutcome, _ how: String) -> DisjunctAnswer? {
      guard let node = o.node else { return .unsat("some row holds at no point of the box") }
      if let x = o.point, o.value >= 0 { return .sat(x) }
      if node.bound < 0 { return .unsat("\(how) \(formatNumber(node.bound)) < 0") }
      return nil
    }
    // (Past the deadline, the root's layers keep their interval bounds: a huge network cannot
    // hold the quick proofs' fraction of a second for long.)
    let root = search.root(until: context.deadline)
    if let answer = decided(root, "root bound") { return answer }
    // (`root.node` is not nil: `decided` answered otherwise.)
    guard let node = root.node, !context.shouldStop else {
      return .timeout("root bound \(numberOrNone(root.node?.bound)) >= 0, not refined")
    }
    let q = search.prepare(
      lower: node.lower, upper: node.upper, prior: node.prior, slopes: node.slopes,
      refine: BaBSearch.refineSteps, refineUntil: context.deadline)
    let b = search.objectiveBound(q, alphaSteps: rootAlphaSteps, target: 0)
    let refined = search.finish(q, b, depth: 0, keepPrior: false, seconds: 0)
    if let answer = decided(refined, "refined root bound") { return answer }
    let bound = formatNumber(min(node.bound, refined.node?.bound ?? .infinity))
    // The refinement skips the layers it reaches past the deadline: with more time, the
    // bound could be tighter.
    if context.shouldStop { return .timeout("root bound \(bound) >= 0, refined in part") }
    return .unknown("root bound \(bound) >= 0; \(n) inputs: bab bounds the root box only")
  }

  /// A bound or margin for a prover's note, "none" when there is none.
  static func numberOrNone(_ v: Double?) -> String { v.map(formatNumber) ?? "none" }

  /// The disjunct's problem with the spec network and its margin maximized (options adjusted
  /// by `adjust`, the time limit the context's), the context with its interval bounds, and the
  /// search's best point.
  static func specProblem(
    _ problem: Problem, _ spec: Network, _ context: SolveContext,
    adjust: (inout SolveOptions) -> Void
  ) -> (Problem, SolveContext, start: [Double]?) {
    var options = problem.options
    adjust(&options)
    options.timeLimit = max(0, context.remaining)
    // (With several outputs, the bab prover maximizes their minimum; the objective's weights
    // are then unused.)
    let p = Problem(
      network: spec, polytope: problem.polytope,
      objective: Objective(
        sense: .maximize,
        outputWeights: [1] + [Double](repeating: 0, count: spec.outputSize - 1),
        inputWeights: [Double](repeating: 0, count: problem.network.inputSize)),
      options: options)
    var c = context
    c.bounds = intervalBounds(of: p)
    return (p, c, context.userStarts.first { $0.count == problem.network.inputSize })
  }

  /// The problem's network followed by one output per row, the row's margin
  /// `a_r = h_r - G_r x - H_r y` (the map merged into the last layer when it is linear); without
  /// rows, one output, the constant 1 (every point qualifies). When a row names inputs, the
  /// network carries them (`carrying`): each layer before the margins gets one neuron per input,
  /// `q = x - lower + 1`, at least 1 on the inputs' box, so that its ReLU passes it exactly and is
  /// stable (no binary for the MILP); nil when an input has no finite lower bound.
  public static func marginRowsNetwork(_ problem: Problem) -> Network? {
    let rows = problem.outputConstraints
    let net = problem.network
    let m = net.outputSize
    let n = net.inputSize
    var layers = net.layers
    let last = layers[layers.count - 1]
    if rows.isEmpty {
      layers.append(
        DenseLayer(
          name: "margin", inputSize: m, outputSize: 1, weights: [Double](repeating: 0, count: m),
          bias: [1], activation: .linear))
      return Network(name: net.name, layers: layers)
    }
    let r = rows.rowCount
    let lower = problem.polytope.lower
    // The layers before the margins; the carried inputs are the last n columns of their output.
    let before = last.activation == .linear ? layers.count - 1 : layers.count
    let carried = rows.inputMatrix.contains { $0 != 0 } && before > 0 ? n : 0
    var b = rows.rhs
    if carried > 0 {
      guard lower.allSatisfy(\.isFinite) else { return nil }
      for l in 0..<before {
        layers[l] = carrying(layers[l], inputs: n, first: l == 0, lower: lower)
      }
      // G x = G q + G (lower - 1) with q carried: the constant goes to the bias.
      for k in 0..<r {
        for j in 0..<n { b[k] += rows.inputMatrix[k * n + j] * (1 - lower[j]) }
      }
    }
    if last.activation == .linear {
      // a = h - G x - H y, with y = W h' + b; h' ends with q (or is x, on a network without
      // hidden layers, where G x enters the weights directly).
      let k0 = last.inputSize
      let width = k0 + carried
      var w = [Double](repeating: 0, count: r * width)
      for k in 0..<r {
        for i in 0..<m {
          let hk = rows.outputMatrix[k * m + i]
          if hk == 0 { continue }
          b[k] -= hk * last.bias[i]
          for j in 0..<k0 { w[k * width + j] -= hk * last.weight(i, j) }
        }
        for j in 0..<n where rows.inputMatrix[k * n + j] != 0 {
          w[k * width + (carried > 0 ? k0 : 0) + j] -= rows.inputMatrix[k * n + j]
        }
      }
      layers[layers.count - 1] = DenseLayer(
        name: "margin-rows", inputSize: width, outputSize: r, weights: w, bias: b,
        activation: .linear)
    } else {
      let width = m + carried
      var w = [Double](repeating: 0, count: r * width)
      for k in 0..<r {
        for i in 0..<m { w[k * width + i] = -rows.outputMatrix[k * m + i] }
        for j in 0..<carried { w[k * width + m + j] = -rows.inputMatrix[k * n + j] }
      }
      layers.append(
        DenseLayer(
          name: "margin-rows", inputSize: width, outputSize: r, weights: w, bias: b,
          activation: .linear))
    }
    return Network(name: net.name, layers: layers)
  }

  /// `layer` with `inputs` more outputs, `q_j = x_j - lower_j + 1` (from x on the `first` layer,
  /// else from the previous layer's last `inputs` outputs, which carry q): positive on the
  /// inputs' box, so the layer's activation (ReLU or identity) passes it unchanged.
  static func carrying(_ layer: DenseLayer, inputs n: Int, first: Bool, lower: [Double])
    -> DenseLayer
  {
    let width = first ? layer.inputSize : layer.inputSize + n
    var w: [Double] = []
    w.reserveCapacity((layer.outputSize + n) * width)
    for i in 0..<layer.outputSize {
      w += layer.weights[(i * layer.inputSize)..<((i + 1) * layer.inputSize)]
      if !first { w += [Double](repeating: 0, count: n) }
    }
    for j in 0..<n {
      var row = [Double](repeating: 0, count: width)
      row[first ? j : layer.inputSize + j] = 1
      w += row
    }
    let bias = layer.bias + (0..<n).map { first ? 1 - lower[$0] : 0 }
    return DenseLayer(
      name: layer.name, inputSize: width, outputSize: layer.outputSize + n, weights: w,
      bias: bias, activation: layer.activation)
  }

  /// The problem's network followed by layers computing its margin (one output); nil when
  /// `marginRowsNetwork` is.
  ///
  /// The minimum of the rows' margins `a_r` (`marginRowsNetwork`) is a tree of pairwise minima,
  /// `min(a, b) = (relu(a - L_a) + L_a) - relu(a - b)`, where `L_a` is a lower bound of `a`
  /// over the inputs' box: interval bounds lowered by `1e-6 (1 + |L|)`, so `a - L_a` is
  /// provably positive and the ReLU passes `a` exactly (and is stable, costing the MILP no
  /// binary). An odd element passes as `relu(a - L_a) + L_a`.
  public static func specNetwork(_ problem: Problem) -> Network? {
    guard let rowsNetwork = marginRowsNetwork(problem) else { return nil }
    var layers = rowsNetwork.layers
    let net = problem.network
    var level = 0
    while layers[layers.count - 1].outputSize > 1 {
      let top = layers.removeLast()
      let partial = Network(layers: layers + [top])
      let b = intervalBounds(partial, lower: problem.polytope.lower, upper: problem.polytope.upper)
      let low = b.lower[b.lower.count - 1].map { $0 - 1e-6 * (1 + abs($0)) }
      let count = top.outputSize
      let k = top.inputSize
      func row(_ i: Int) -> ArraySlice<Double> { top.weights[(i * k)..<((i + 1) * k)] }
      var w: [Double] = []
      var bias: [Double] = []
      // The next linear layer: one output per pair (or odd element).
      var next: [Double] = []
      var nextBias: [Double] = []
      var hidden = 0
      var pairs: [(Int, Int?)] = []
      var i = 0
      while i < count {
        pairs.append((i, i + 1 < count ? i + 1 : nil))
        i += 2
      }
      let outputs = pairs.count
      var placements: [(Int, Int?)] = []
      for (a, bIndex) in pairs {
        // relu(a - L_a)
        w += row(a)
        bias.append(top.bias[a] - low[a])
        let passthrough = hidden
        hidden += 1
        var difference: Int? = nil
        if let bi = bIndex {
          // relu(a - b)
          w += zip(row(a), row(bi)).map { $0 - $1 }
          bias.append(top.bias[a] - top.bias[bi])
          difference = hidden
          hidden += 1
        }
        placements.append((passthrough, difference))
      }
      next = [Double](repeating: 0, count: outputs * hidden)
      for (o, (pass, diff)) in placements.enumerated() {
        next[o * hidden + pass] = 1
        if let diff { next[o * hidden + diff] = -1 }
        nextBias.append(low[pairs[o].0])
      }
      layers.append(
        DenseLayer(
          name: "margin-min\(level)", inputSize: k, outputSize: hidden, weights: w, bias: bias,
          activation: .relu))
      layers.append(
        DenseLayer(
          name: "margin-min\(level)-out", inputSize: hidden, outputSize: outputs, weights: next,
          bias: nextBias, activation: .linear))
      level += 1
    }
    return Network(name: net.name, layers: layers)
  }
}
