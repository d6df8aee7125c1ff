import Dispatch
import RelucBase
import RelucIR
import RelucHiGHS
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// `cuts = all`: branch and bound of our own over the LP relaxation of the big-M model, which
/// separates the ideal-formulation cuts (Anderson et al. 2020) at every node. HiGHS 1.15's MIP
/// callbacks cannot add cuts, so here HiGHS solves the node LPs and the tree is ours.
///
/// - Root: the cut loop of `cuts = root` (until the bound improves by less than 1e-4, relative).
/// - Node: the LP with the node's binaries fixed, then up to `nodeRounds` rounds of violated cuts.
///   Every LP solution's inputs are evaluated by a forward pass (a feasible point: the incumbent
///   may improve at any node). A node whose bound is within the gap of the incumbent is closed;
///   so is one whose binaries are all integral (its LP is then exact).
/// - Branching: reliability branching among the free binaries whose ReLU the LP violates (see
///   `branching`); the child on the side of the LP's binary value first; depth first. Children
///   inherit the parent's LP bound, or their own when strong branching solved them.
/// - Cuts are globally valid (they use the root bounds only). A node's cuts are kept for its
///   subtree and dropped when the search leaves it (rows are appended in depth order, so a suffix
///   goes), which bounds the LP's size; after a jump to a shared node the LP may keep cuts of
///   another path, which is sound for the same reason.
/// - Warm starts: a node's LP starts from its parent's optimal basis (kept in the node), with
///   Devex pricing; the first child after its parent simply continues from the LP's state.
/// - Workers (`workers` threads) each own an LP and a stack of nodes; an idle worker takes the
///   shallowest node of a busy one. The optimum does not depend on the order; the bound is the
///   largest LP bound of a closed subtree or, after a stop, of an open node.
/// - Every node's fixings are a full vector (one byte per binary) and a basis (four bytes per
///   column and row, shared by siblings): memory is that times the open nodes, which depth first
///   keeps to about the depth per worker.
struct IdealCutTree {
  let problem: Problem
  let bounds: PreactivationBounds
  let context: SolveContext
  /// +1 when maximizing, -1 when minimizing: the search maximizes `sign * objective`.
  let sign: Double
  var workers: Int
  var rootRounds = 20
  var nodeRounds = 1
  /// Reliability branching: observations before a binary's pseudo-costs are trusted, and the
  /// most candidates strong-branched at one node.
  var reliable = 2
  var strongCandidates = 8
  var absoluteGap: Double
  var relativeGap: Double

  init(problem: Problem, bounds: PreactivationBounds, context: SolveContext, absoluteGap: Double) {
    self.problem = problem
    self.bounds = bounds
    self.context = context
    sign = problem.objective.sense == .maximize ? 1 : -1
    workers = max(1, problem.options.workers)
    self.absoluteGap = absoluteGap
    relativeGap = problem.options.mipGap
  }

  struct Node: Sendable {
    /// Per binary: -1 free, else its fixed value.
    var fix: [Int8]
    var depth: Int
    /// The parent's LP bound (of `sign * objective`).
    var bound: Double
    /// The parent's optimal basis (its rows: the root's, then the cuts of the path to the parent).
    var basis: HighsBasis? = nil
  }

  struct Outcome {
    /// Whether every node was closed (else the time limit or an interrupt stopped the search).
    var complete: Bool
    /// The formulation's binaries and neurons without one.
    var formulation: BigMModel.Counts
    /// The best point and its value (of the objective, not signed).
    var point: [Double]?
    var value: Double?
    /// A bound on the optimum (of the objective).
    var bound: Double?
    var nodes: Int
    var cuts: Int
    var rootCuts: Int
    var rootBounds: [Double]
    var maxDepth: Int
    /// Node LPs (cut rounds included) and strong-branching LPs.
    var lps: Int
    var strongLPs: Int
    var lpFailures: Int
  }

  struct State: Sendable {
    var queue: [Node] = []
    /// Workers started (the dispatcher may start one only when another ends) and idle ones.
    var active = 0
    var idle = 0
    var finished = false
    var stopped = false
    var incumbent = -Double.infinity
    var point: [Double]?
    /// The largest bound of a closed subtree, and (after a stop) of an open node.
    var closedBound = -Double.infinity
    var openBound = -Double.infinity
    var nodes = 0
    var cuts = 0
    var maxDepth = 0
    var lpFailures = 0
    var lps = 0
    var strongLPs = 0
    var error: HighsError?
    /// When the last log line was written (`verbose`).
    var lastLog = 0.0
  }

  final class Shared: Sendable {
    let state: Mutex<State>
    init(_ s: State) { state = Mutex(s) }
  }

  /// The gap within which a node's bound closes it.
  func tolerance(_ incumbent: Double) -> Double {
    max(absoluteGap, relativeGap * abs(incumbent))
  }

  /// Runs the search from an optional starting point.
  func solve(start: [Double]?) throws(HighsError) -> Outcome {
    var initial = State()
    if let x = start { offer(x, to: &initial) }
    // The root cut loop, once; its cuts are every worker's starting rows.
    let root = try makeModel()
    let loop = try root.cutLoop(rounds: rootRounds, until: context.deadline) { v in
      offer(input(v, root), to: &initial)
    }
    if loop.status == .infeasible {
      return Outcome(
        complete: true, formulation: root.counts, nodes: 1, cuts: 0, rootCuts: 0, rootBounds: [],
        maxDepth: 0, lps: 1, strongLPs: 0, lpFailures: 0)
    }
    let rootBatches = loop.batches
    // The model minimizes -sign * objective: its LP values negated are bounds of sign * objective.
    let history = loop.bounds.map { -$0 }
    let rootCuts = rootBatches.reduce(0) { $0 + $1.count }
    log(
      "root LP bound \(format(history.first)) -> \(format(history.last)) after \(rootCuts) ideal cuts"
        + " in \(max(0, history.count - 1)) rounds; incumbent \(format(initial.incumbent))")
    initial.queue = [
      Node(
        fix: [Int8](repeating: -1, count: root.unstable.count), depth: 0,
        bound: history.last ?? .infinity)
    ]
    let shared = Shared(initial)
    let batches = rootBatches
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      do throws(HighsError) {
        try work(shared, rootCuts: batches)
      } catch {
        shared.state.withLock {
          if $0.error == nil { $0.error = error }
          $0.stopped = true
        }
      }
    }
    let s = shared.state.withLock { $0 }
    if let e = s.error { throw e }
    log(
      "\(s.finished && !s.stopped ? "done" : "stopped"): \(s.nodes) nodes, \(s.lps) LPs + "
        + "\(s.strongLPs) strong branching, \(s.cuts) node cuts, incumbent \(format(s.incumbent))")
    var open = s.openBound
    for n in s.queue { open = max(open, n.bound) }
    let complete = s.finished && !s.stopped
    let signedBound = max(s.closedBound, s.incumbent, complete ? -.infinity : open)
    return Outcome(
      complete: complete, formulation: root.counts, point: s.point,
      value: s.point == nil ? nil : sign * s.incumbent,
      bound: signedBound.isFinite ? sign * signedBound : nil, nodes: s.nodes, cuts: s.cuts,
      rootCuts: rootCuts, rootBounds: history.map { sign * $0 }, maxDepth: s.maxDepth, lps: s.lps,
      strongLPs: s.strongLPs, lpFailures: s.lpFailures)
  }

  /// A line of the search's log on standard error (`-v`).
  func log(_ line: String) {
    guard context.verbose else { return }
    let t = ((monotonicSeconds() - context.start) * 100).rounded() / 100
    let text = "[\(t) s] tree: \(line)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
  }

  /// A signed value as the objective, for the log.
  func format(_ v: Double?) -> String {
    guard let v, v.isFinite else { return "none" }
    return formatNumber(sign * v)
  }

  func makeModel() throws(HighsError) -> BigMModel {
    let m = try BigMModel(problem: problem, bounds: bounds, relaxed: true, objective: problem.objective)
    // Minimize -sign * objective, so that the dual simplex stops at the incumbent's cutoff.
    try m.setObjective(problem, asMinimization: true)
    return m
  }

  /// The inputs of an LP solution, clamped into the variable bounds.
  func input(_ v: [Double], _ m: BigMModel) -> [Double] {
    m.inputColumns.enumerated().map { j, c in
      min(problem.polytope.upper[j], max(problem.polytope.lower[j], v[c]))
    }
  }

  /// Makes `x` the incumbent if it is feasible and better.
  func offer(_ x: [Double], to s: inout State) {
    guard problem.polytope.maxViolation(x) <= problem.options.feasibilityTolerance else { return }
    let v = sign * problem.evaluate(x).objective
    if v.isFinite, v > s.incumbent {
      s.incumbent = v
      s.point = x
    }
  }

  /// The next node: from the worker's own stack, else the shared queue (`jumped`), else waits
  /// until a node is shared or every worker is idle (the end).
  func next(_ stack: inout [Node], _ shared: Shared) -> (node: Node, jumped: Bool)? {
    if let n = stack.popLast() { return (n, false) }
    var waiting = false
    while true {
      let got: Node?? = shared.state.withLock { s in
        if s.stopped || s.finished { return .some(nil) }
        if let n = s.queue.popLast() {
          if waiting { s.idle -= 1 }
          return .some(n)
        }
        if !waiting { s.idle += 1 }
        if s.idle == s.active {
          s.finished = true
          return .some(nil)
        }
        return nil
      }
      if let got { return got.map { ($0, true) } }
      waiting = true
      usleep(500)
    }
  }

  /// One worker: its own LP (the root's cuts added), a depth-first stack.
  func work(_ shared: Shared, rootCuts: [RowBatch]) throws(HighsError) {
    let joined = shared.state.withLock { s in
      if s.finished || s.stopped { return false }
      s.active += 1
      return true
    }
    guard joined else { return }
    let model = try makeModel()
    let s = model.solver
    for b in rootCuts { try s.addRows(b) }
    let baseRows = s.rowCount
    var tags: [Int] = []  // the depth of each node cut (rows past baseRows)
    let binaries = model.unstable.map(\.binary)
    var current = [Int8](repeating: -1, count: binaries.count)
    var stack: [Node] = []
    // The depth of the children just pushed when the LP still holds their basis (the parent's).
    var heldDepth: Int?
    var pseudo = PseudoCosts(count: binaries.count)
    var failures = 0
    var lps = 0
    var strongLPs = 0
    defer {
      shared.state.withLock {
        $0.lpFailures += failures
        $0.lps += lps
        $0.strongLPs += strongLPs
      }
    }
    while let (node, jumped) = next(&stack, shared) {
      if context.shouldStop || shared.state.withLock({ $0.stopped }) {
        let open = stack.reduce(node.bound) { max($0, $1.bound) }
        shared.state.withLock {
          $0.stopped = true
          $0.openBound = max($0.openBound, open)
        }
        return
      }
      var incumbent = shared.state.withLock { $0.incumbent }
      if node.bound <= incumbent + tolerance(incumbent) {
        shared.state.withLock { $0.closedBound = max($0.closedBound, node.bound) }
        continue
      }
      for k in binaries.indices where current[k] != node.fix[k] {
        let f = node.fix[k]
        try s.setColumnBounds(binaries[k], lower: f == 1 ? 1 : 0, upper: f == 0 ? 0 : 1)
        current[k] = f
      }
      if let first = tags.firstIndex(where: { $0 >= node.depth }) {
        try s.deleteRows(from: baseRows + first, to: baseRows + tags.count - 1)
        tags.removeSubrange(first...)
      }
      // Start from the parent's optimal basis unless the LP holds it (a first child right after
      // its parent, no strong branching between): a node popped after its sibling's subtree
      // would start from the basis of that subtree's last leaf (~3x the iterations). After a
      // jump the rows differ (other cuts): the basis is left to HiGHS.
      if !jumped, node.depth != heldDepth, let b = node.basis {
        s.setBasis(b)
      }
      heldDepth = nil
      try s.setTimeLimit(context.remaining)
      try s.set("objective_bound", -(incumbent + tolerance(incumbent)))
      var status = try s.run()
      lps += 1
      var bound = node.bound
      var values: [Double] = []
      var added = 0
      var round = 0
      while status == .optimal {
        values = s.columnValues()
        bound = min(bound, -s.objectiveValue)
        incumbent = shared.state.withLock { st in
          offer(input(values, model), to: &st)
          return st.incumbent
        }
        try s.set("objective_bound", -(incumbent + tolerance(incumbent)))
        if bound <= incumbent + tolerance(incumbent) || round == nodeRounds { break }
        let cuts = model.idealCuts(at: values, tolerance: 1e-6)
        if cuts.count == 0 { break }
        try s.addRows(cuts)
        tags += Array(repeating: node.depth, count: cuts.count)
        added += cuts.count
        round += 1
        status = try s.run()
        lps += 1
        if status != .optimal && status != .infeasible && status != .objectiveBound {
          // Numerical trouble after the cuts: branch on the previous solution.
          status = .optimal
          break
        }
      }
      if status == .infeasible || status == .objectiveBound {
        // No point, or the dual simplex proved the LP bound below the cutoff (which is then a
        // bound of the subtree).
        let cutoff = incumbent + tolerance(incumbent)
        shared.state.withLock {
          $0.nodes += 1
          $0.cuts += added
          if status == .objectiveBound { $0.closedBound = max($0.closedBound, min(bound, cutoff)) }
        }
        continue
      }
      if status == .timeLimit || status == .interrupted || context.shouldStop {
        // The node stays open.
        let open = stack.reduce(node.bound) { max($0, $1.bound) }
        shared.state.withLock {
          $0.stopped = true
          $0.openBound = max($0.openBound, open)
        }
        return
      }
      var choice: Branching
      var basis: HighsBasis?
      let strongBefore = strongLPs
      if status == .optimal, !values.isEmpty {
        if bound > incumbent + tolerance(incumbent) {
          basis = s.basis()  // before strong branching moves it
          choice = try branching(model, node, values, bound, incumbent, &pseudo, &strongLPs)
        } else {
          choice = .close
        }
      } else {
        // The LP failed (numerically): branch on a free binary, with the parent's bound.
        failures += 1
        guard let k = node.fix.firstIndex(of: -1) else {
          throw HighsError(call: "run (node LP with every binary fixed)", status: -1)
        }
        choice = .split(k, upFirst: true, down: bound, up: bound)
      }
      let depth = node.depth + 1
      let stackSize = stack.count
      shared.state.withLock { st in
        st.nodes += 1
        st.cuts += added
        st.maxDepth = max(st.maxDepth, node.depth)
        if context.verbose, monotonicSeconds() - st.lastLog >= 1 {
          st.lastLog = monotonicSeconds()
          log(
            "\(st.nodes) nodes, depth \(node.depth), node bound \(format(bound)), incumbent \(format(st.incumbent)), "
              + "\(stackSize + st.queue.count) open here and shared")
        }
        if case .close = choice { st.closedBound = max(st.closedBound, bound) }
      }
      switch choice {
      case .close:
        continue
      case .split(let k, let upFirst, let downBound, let upBound):
        let fix = node.fix
        var up = Node(fix: fix, depth: depth, bound: upBound, basis: basis)
        up.fix[k] = 1
        var down = Node(fix: fix, depth: depth, bound: downBound, basis: basis)
        down.fix[k] = 0
        stack.append(upFirst ? down : up)
        stack.append(upFirst ? up : down)
        if strongLPs == strongBefore { heldDepth = depth }
      }
      if stack.count >= 2 {
        shared.state.withLock { st in
          if st.idle > 0, st.queue.isEmpty { st.queue.append(stack.removeFirst()) }
        }
      }
    }
  }

  enum Branching {
    /// No branching needed: the node is closed with its LP bound.
    case close
    /// Branch on binary `k`; the children's bounds (strong branching tightens them).
    case split(Int, upFirst: Bool, down: Double, up: Double)
  }

  /// Per binary and direction: the mean bound decrease per unit of change of the binary.
  struct PseudoCosts {
    var sum: [[Double]]
    var count: [[Int]]
    init(count n: Int) {
      sum = Array(repeating: [0, 0], count: n)
      count = Array(repeating: [0, 0], count: n)
    }
    mutating func record(_ k: Int, up: Bool, decrease: Double, change: Double) {
      let d = up ? 1 : 0
      sum[k][d] += max(0, decrease) / max(change, 1e-6)
      count[k][d] += 1
    }
    func estimate(_ k: Int, up: Bool) -> Double? {
      let d = up ? 1 : 0
      return count[k][d] == 0 ? nil : sum[k][d] / Double(count[k][d])
    }
  }

  /// Reliability branching among the free binaries whose ReLU the LP violates: a candidate whose
  /// pseudo-costs have fewer than `reliable` observations is strong-branched (both children's
  /// LPs solved, at most `strongCandidates` per node, most violated first); the score is the
  /// product of the two bound decreases. A child found infeasible or below the incumbent by
  /// strong branching makes its binary the choice at once (one child survives).
  func branching(
    _ model: BigMModel, _ node: Node, _ values: [Double], _ bound: Double, _ incumbent: Double,
    _ pseudo: inout PseudoCosts, _ lps: inout Int
  ) throws(HighsError) -> Branching {
    var candidates: [(k: Int, violation: Double)] = []
    for (k, n) in model.unstable.enumerated() where node.fix[k] < 0 {
      let d = values[n.binary]
      guard d > 1e-9, d < 1 - 1e-9 else { continue }
      var z = n.bias
      for t in n.terms { z += t.weight * values[t.column] }
      let violation = values[n.activation] - max(0, z)
      if violation > 1e-9 { candidates.append((k, violation)) }
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
      let reliable = min(pseudo.count[k][0], pseudo.count[k][1]) >= reliable
      var children = (bound, bound)
      var solved = false
      if !reliable && strong < strongCandidates {
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
            pseudo.record(k, up: up, decrease: b.isFinite ? bound - b : bound - cutoff, change: up ? 1 - d : d)
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
      let score = max(bound - children.0, 1e-6) * max(bound - children.1, 1e-6)
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
