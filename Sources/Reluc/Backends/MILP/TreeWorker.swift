import RelucBase
import RelucHiGHS
import RelucIR

extension IdealCutTree {
  /// One worker: its own LP (the root's cuts added) and a depth-first stack of nodes.
  func work(_ shared: Shared, rootCuts: [RowBatch]) throws(HighsError) {
    let joined = shared.state.withLock { s in
      if s.finished || s.stopped { return false }
      s.active += 1
      return true
    }
    guard joined else { return }
    var worker = try TreeWorker(tree: self, shared: shared, rootCuts: rootCuts)
    defer { worker.report() }
    try worker.run()
  }
}

/// The LP of one node after its cut rounds.
struct NodeLP {
  var status: HighsModelStatus
  /// The node's bound (of `sign * objective`): its parent's, lowered by its own LP.
  var bound: Double
  /// The last optimal LP solution (all columns), empty if none.
  var values: [Double]
  /// Cuts added at this node.
  var added: Int
  /// The incumbent (signed) after the node's LP solutions were offered.
  var incumbent: Double
}

/// The state of one worker of `IdealCutTree`: its LP, the cuts it holds and its stack.
struct TreeWorker {
  let tree: IdealCutTree
  let shared: IdealCutTree.Shared
  let model: BigMModel
  let s: HighsSolver
  /// The rows of the root (its cuts included); node cuts come after them.
  let baseRows: Int
  /// The depth of each node cut (rows past `baseRows`).
  var tags: [Int] = []
  let binaries: [Int]
  /// The fixings the LP holds.
  var current: [Int8]
  var stack: [IdealCutTree.Node] = []
  /// The depth of the children just pushed when the LP still holds their basis (the parent's).
  var heldDepth: Int?
  var pseudo: IdealCutTree.PseudoCosts
  var failures = 0
  var lps = 0
  var strongLPs = 0
  /// Repairs LP solutions for the output rows before they are offered (`OutputRowRepair`).
  var repair: OutputRowRepair

  init(tree: IdealCutTree, shared: IdealCutTree.Shared, rootCuts: [RowBatch]) throws(HighsError) {
    self.tree = tree
    self.shared = shared
    model = try tree.makeModel()
    s = model.solver
    for b in rootCuts { try s.addRows(b) }
    baseRows = s.rowCount
    binaries = model.unstable.map(\.binary)
    current = [Int8](repeating: -1, count: binaries.count)
    pseudo = IdealCutTree.PseudoCosts(count: binaries.count)
    repair = OutputRowRepair(problem: tree.problem)
  }

  /// Adds this worker's LP counts to the shared state.
  func report() {
    shared.state.withLock {
      $0.lpFailures += failures
      $0.lps += lps
      $0.strongLPs += strongLPs
    }
  }

  /// Processes nodes until the search ends or stops.
  mutating func run() throws(HighsError) {
    while let (node, jumped) = tree.next(&stack, shared) {
      if tree.context.shouldStop || shared.state.withLock({ $0.stopped }) {
        leaveOpen(node)
        return
      }
      let incumbent = shared.state.withLock { $0.incumbent }
      if node.bound <= incumbent + tree.tolerance(incumbent) {
        shared.state.withLock { $0.closedBound = max($0.closedBound, node.bound) }
        continue
      }
      try restore(node, jumped: jumped)
      let lp = try solve(node, incumbent: incumbent)
      if lp.status == .infeasible || lp.status == .objectiveBound {
        // No point, or the dual simplex proved the LP bound below the cutoff (which is then a
        // bound of the subtree).
        let cutoff = lp.incumbent + tree.tolerance(lp.incumbent)
        shared.state.withLock {
          $0.nodes += 1
          $0.cuts += lp.added
          if lp.status == .objectiveBound {
            $0.closedBound = max($0.closedBound, min(lp.bound, cutoff))
          }
        }
        continue
      }
      if lp.status == .timeLimit || lp.status == .interrupted || tree.context.shouldStop {
        leaveOpen(node)
        return
      }
      try expand(node, lp)
    }
  }

  /// Stops the search with `node` and this worker's stack open.
  func leaveOpen(_ node: IdealCutTree.Node) {
    let open = stack.reduce(node.bound) { max($0, $1.bound) }
    shared.state.withLock {
      $0.stopped = true
      $0.openBound = max($0.openBound, open)
    }
  }

  /// Sets the LP to the node: its fixings, the cuts of its path (deeper ones dropped) and, unless
  /// the LP holds it already, its parent's basis.
  mutating func restore(_ node: IdealCutTree.Node, jumped: Bool) throws(HighsError) {
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
    // would otherwise start from the basis of that subtree's last leaf, far from its own. After
    // a jump the rows differ (other cuts): the basis is left to HiGHS.
    // The root node (depth 0, no node cuts) has exactly the rows of its basis, jumped or not.
    if !jumped || node.depth == 0, node.depth != heldDepth, let b = node.basis {
      s.setBasis(b)
    }
    heldDepth = nil
  }

  /// Solves the node's LP, then up to `nodeRounds` rounds of cuts; every LP solution's inputs are
  /// offered as incumbents.
  mutating func solve(_ node: IdealCutTree.Node, incumbent start: Double) throws(HighsError)
    -> NodeLP
  {
    var incumbent = start
    try s.setTimeLimit(tree.context.remaining)
    try s.set("objective_bound", -(incumbent + tree.tolerance(incumbent)))
    var status = try s.run()
    lps += 1
    var bound = node.bound
    var values: [Double] = []
    var added = 0
    var round = 0
    while status == .optimal {
      values = s.columnValues()
      bound = min(bound, -s.objectiveValue)
      var x = tree.input(values, model)
      if tree.problem.hasOutputConstraints {
        // With output rows the LP's inputs may miss them after the forward pass by HiGHS's
        // tolerance: repaired (worth it only when the node could improve the incumbent); while
        // there is no incumbent, whatever the violation (the region LP as a primal heuristic).
        let known = shared.state.withLock { $0.incumbent }
        if bound > known + tree.tolerance(known),
          let r = try repair.checked(
            x, until: tree.context.deadline, anyViolation: !known.isFinite)
        {
          x = r.point
        }
      }
      incumbent = shared.state.withLock { [tree, x] st in
        tree.offer(x, to: &st)
        return st.incumbent
      }
      try s.set("objective_bound", -(incumbent + tree.tolerance(incumbent)))
      if bound <= incumbent + tree.tolerance(incumbent) || round == tree.tunables.nodeRounds {
        break
      }
      let cuts = model.idealCuts(at: values, tolerance: tree.tunables.cutTolerance)
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
    return NodeLP(status: status, bound: bound, values: values, added: added, incumbent: incumbent)
  }

  /// Closes the node or pushes its two children (sharing one with an idle worker).
  mutating func expand(_ node: IdealCutTree.Node, _ lp: NodeLP) throws(HighsError) {
    let (bound, incumbent) = (lp.bound, lp.incumbent)
    var choice: IdealCutTree.Branching
    var basis: HighsBasis?
    let strongBefore = strongLPs
    if lp.status == .optimal, !lp.values.isEmpty {
      if bound > incumbent + tree.tolerance(incumbent) {
        basis = s.basis()  // before strong branching moves it
        choice = try tree.branching(model, node, lp.values, bound, incumbent, &pseudo, &strongLPs)
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
    record(node, lp, closed: choice.closes)
    guard case .split(let k, let upFirst, let downBound, let upBound) = choice else { return }
    let depth = node.depth + 1
    var up = IdealCutTree.Node(fix: node.fix, depth: depth, bound: upBound, basis: basis)
    up.fix[k] = 1
    var down = IdealCutTree.Node(fix: node.fix, depth: depth, bound: downBound, basis: basis)
    down.fix[k] = 0
    stack.append(upFirst ? down : up)
    stack.append(upFirst ? up : down)
    if strongLPs == strongBefore { heldDepth = depth }
    if stack.count >= 2 {
      shared.state.withLock { st in
        if st.idle > 0, st.queue.isEmpty { st.queue.append(stack.removeFirst()) }
      }
    }
  }

  /// Counts a node that was solved and branched on or closed, and writes the progress line.
  func record(_ node: IdealCutTree.Node, _ lp: NodeLP, closed: Bool) {
    let stackSize = stack.count
    let tree = self.tree
    shared.state.withLock { st in
      st.nodes += 1
      st.cuts += lp.added
      st.maxDepth = max(st.maxDepth, node.depth)
      if tree.context.verbose, monotonicSeconds() - st.lastLog >= tree.tunables.logInterval {
        st.lastLog = monotonicSeconds()
        tree.log(
          "\(st.nodes) nodes, depth \(node.depth), node bound \(tree.format(lp.bound)), "
            + "incumbent \(tree.format(st.incumbent)), \(stackSize + st.queue.count) open here and shared"
        )
      }
      if closed { st.closedBound = max(st.closedBound, lp.bound) }
      // The progress line: incumbent, the root's bound (valid throughout; the open nodes of
      // the other workers are not seen here) and the nodes.
      if let progress = tree.context.progress, shared.throttle.due() {
        let best = st.incumbent.isFinite ? tree.sign * st.incumbent : .nan
        progress(best, st.rootBound.isFinite ? tree.sign * st.rootBound : nil, st.nodes)
      }
    }
  }
}
