import Dispatch
import RelucBase
import RelucHiGHS
import RelucIR
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// `cuts = all`: branch and bound of our own over the LP relaxation of the big-M model, which
/// separates the ideal-formulation cuts (Anderson et al. 2020) at every node. HiGHS 1.15's MIP
/// callbacks cannot add cuts, so here HiGHS solves the node LPs and the tree is ours.
///
/// - Root: the cut loop of `cuts = root` (until the bound stalls; see `BigMModel.cutLoop`).
/// - Node: the LP with the node's binaries fixed, then up to `tunables.nodeRounds` rounds of cuts.
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
/// - Warm starts: a node's LP starts from its parent's optimal basis (kept in the node; the
///   root node's is the root cut loop's last basis, whose rows every worker's LP has), with
///   Devex pricing; the first child after its parent simply continues from the LP's state.
/// - Workers (`workers` threads) each own an LP and a stack of nodes; an idle worker takes the
///   shallowest node of a busy one. The optimum does not depend on the order; the bound is the
///   largest LP bound of a closed subtree or, after a stop, of an open node.
/// - Every node's fixings are a full vector (one byte per binary) and a basis (four bytes per
///   column and row, shared by siblings): memory is that times the open nodes, which depth first
///   keeps to about the depth per worker.
///
/// This file sets the search up and holds its shared state; `TreeWorker` processes the nodes,
/// `branching` (TreeBranching.swift) chooses the binary, `TreeTunables` holds the constants.
struct IdealCutTree {
  let problem: Problem
  let bounds: PreactivationBounds
  let context: SolveContext
  /// +1 when maximizing, -1 when minimizing: the search maximizes `sign * objective`.
  let sign: Double
  var workers: Int
  var tunables = TreeTunables()
  var absoluteGap: Double
  var relativeGap: Double

  init(problem: Problem, bounds: PreactivationBounds, context: SolveContext, absoluteGap: Double) {
    self.problem = problem
    self.bounds = bounds
    self.context = context
    sign = problem.objective.sign
    workers = max(1, problem.options.workers)
    self.absoluteGap = absoluteGap
    relativeGap = problem.options.mipGap
    tunables.strongCandidates = problem.options.strongBranching
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
    /// The root LP's bound after its cuts (of `sign * objective`), for the progress line.
    var rootBound = Double.infinity
    /// When the last log line was written (`verbose`).
    var lastLog = 0.0
  }

  final class Shared: Sendable {
    let state: Mutex<State>
    /// Spaces the periodic progress reports.
    let throttle = ProgressThrottle()
    init(_ s: State) { state = Mutex(s) }
  }

  /// The gap within which a node's bound closes it. Without an incumbent (-infinity: possible
  /// with output rows, where an LP point's forward pass may miss them) the absolute gap, so that
  /// `incumbent + tolerance` stays -infinity (infinity - infinity would be NaN, and every
  /// comparison with it false: nodes closed unexplored, a false `infeasible`).
  func tolerance(_ incumbent: Double) -> Double {
    guard incumbent.isFinite else { return absoluteGap }
    return max(absoluteGap, relativeGap * abs(incumbent))
  }

  /// Runs the search from an optional starting point.
  func solve(start: [Double]?) throws(HighsError) -> Outcome {
    var initial = State()
    if let x = start { offer(x, to: &initial) }
    // The root cut loop, once; its cuts are every worker's starting rows.
    let root: BigMModel
    do throws(HighsError) {
      root = try makeModel()
    } catch  where error.isStop {
      // The deadline passed while the root LP was built: the starting point is all there is.
      return Outcome(
        complete: false,
        formulation: BigMModel.Counts(
          binaries: 0, convexSide: 0, stableActive: 0, stableInactive: 0),
        point: initial.point, value: initial.point == nil ? nil : sign * initial.incumbent,
        nodes: 0, cuts: 0, rootCuts: 0, rootBounds: [], maxDepth: 0, lps: 0, strongLPs: 0,
        lpFailures: 0)
    }
    // The root LP is solved from scratch, where HiGHS's own choice of dual pricing is several
    // times faster than Devex (on mnist-net_256x2 2 s against 9.5 s); the workers then start
    // from its optimal basis.
    try root.solver.set("simplex_dual_edge_weight_strategy", -1)
    let loop = try root.cutLoop(rounds: tunables.rootRounds, until: context.deadline) { v in
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
        bound: history.last ?? .infinity, basis: root.solver.basis())
    ]
    initial.rootBound = history.last ?? .infinity
    // Stopped during the root: no worker (each would build its LP for nothing).
    if context.shouldStop { initial.stopped = true }
    let shared = Shared(initial)
    let batches = rootBatches
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
      do throws(HighsError) {
        try work(shared, rootCuts: batches)
      } catch {
        // `HighsError.stopped`: the deadline passed while the worker built its LP.
        shared.state.withLock {
          if $0.error == nil, !error.isStop { $0.error = error }
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
    let m = try BigMModel(
      problem: problem, bounds: bounds, relaxed: true, objective: problem.objective,
      stop: context.deadline)
    try m.solver.stopping(at: context.deadline)
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
    guard !problem.hasOutputConstraints || PointCheck(problem: problem, point: x).feasible else {
      return
    }
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
      usleep(tunables.idleWait)
    }
  }

}
