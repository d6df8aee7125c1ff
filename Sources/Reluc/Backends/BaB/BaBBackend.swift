import Dispatch
import RelucBase
import RelucHiGHS
import RelucIR
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Branch and bound over the input box (`method = bab`; ReluVal/Neurify style): each box is
/// bounded by symbolic bounds (CROWN, alpha-CROWN on the objective; `SymbolicBounds.swift`),
/// best first; a box is split in two along the input whose halves have the smallest sum of
/// bounds (`BaBSearch.branch`; measured on ACAS Xu 1_1: after 12 s, bound -0.0041 against
/// 0.029 for the smear |coefficient| x width, which splits 5 times as many boxes), or, with
/// `bab_relu_splits`, on one of the ReLUs that loosen its bound most (beta-CROWN's split: the
/// node keeps the region where the neuron is on one side of 0, `BaBNode.splits`); a box whose
/// bound cannot beat the incumbent by more than the tolerance is pruned, and so is a box where
/// some row holds at no point. Incumbents: PPGA's point (`warmStart`), the bound's maximizing
/// vertex of every half tried for a split and the centre of every box kept, accepted when
/// `PointCheck` accepts them, a new one polished by a local ascent (`BaBSearch.ascend`).
/// `workers` threads share the queue. `optimal` only when the bound is within
/// `max(absoluteGap, mip_gap |incumbent|)` of the incumbent; `infeasible` only when every box was
/// pruned as infeasible.
public struct BaBBackend: Backend {
  /// The absolute gap at which the search stops (the MILP's, `MILPBackend.absoluteGap`).
  static let absoluteGap = 1e-6
  /// Inputs above which `bab` does not split (the driver hands such problems to the MILP).
  /// Measured (bench/bounds.py, solve seconds): on 10 inputs the MILP wins every time (10-30-1:
  /// 0.17 s against 0.27 s; 10-30-30-1: 0.87 s against 4.6 s; 10-50-50-1: 60 s against no proof
  /// in 120 s), on 5 inputs `bab` does (see `autoInputs`); 8 is between the two.
  public static let maxInputs = 8
  /// `auto` runs `bab` on at most this many inputs (bench/bounds.py: on 2 to 5 inputs `bab`
  /// proved the optimum in 0.03-0.24 s where the MILP took 0.04-4.2 s, and on ACAS Xu (5 inputs)
  /// its bound after 30 s is within 0.01 of the optimum where the MILP's is 80 away after 120 s;
  /// on 10-30-1 the MILP is twice as fast).
  public static let autoInputs = 5
  /// Alpha-CROWN steps per box.
  static let alphaSteps = 8
  /// Nodes in the queue beyond which new nodes do not keep their pre-activation bounds.
  /// (A prior is two doubles per neuron: 20,000 of ACAS Xu's 305 neurons are about 100 MB.)
  static let priorLimit = 20_000
  /// Nodes in the queue beyond which new nodes do not keep their linear functions
  /// (`BaBNode.box`: some 40 KB each on ACAS Xu, 3,000 of them about 120 MB).
  static let boxLimit = 3_000

  /// A starting point (e.g. from a heuristic), kept as the first incumbent when feasible.
  public var warmStart: [Double]?
  /// A decision threshold (in the maximized sense) for callers that need only to know on which
  /// side of it the optimum lies (`reluc verify`): boxes whose bound is at most `pruneAt` are
  /// pruned as if an incumbent had that value, and the search stops as soon as an incumbent
  /// reaches `stopAt`. The reported bound stays a bound (pruned boxes count in it).
  public var pruneAt: Double? = nil
  /// See `pruneAt`.
  public var stopAt: Double? = nil
  /// Whether to maximize the network's smallest output instead of the problem's objective
  /// (`reluc verify`'s margin: one output per row of a disjunct). A box's bound is then the
  /// smallest of the outputs' bounds, improved by weighting the outputs on the simplex
  /// (`min_i y_i <= sum_i w_i y_i`, the weights optimized with the slopes): tighter than
  /// bounding a network of ReLUs that computes the minimum.
  public var maximizeMinimum = false

  /// Creates the back end.
  public init(warmStart: [Double]? = nil) { self.warmStart = warmStart }

  /// The shared state of the workers.
  private struct Shared {
    var heap = BaBHeap()
    var incumbent: [Double]? = nil
    var incumbentValue = -Double.infinity
    /// The largest bound of a box pruned by bound (such boxes count in the final bound).
    var prunedBound = -Double.infinity
    /// The largest bound of a box too small to split.
    var unresolvedBound = -Double.infinity
    /// The largest exact bound of a box closed by `LeafSolver`.
    var leafBound = -Double.infinity
    var leaves = 0
    var leafLPs = 0
    var leafFailures = 0
    var leafSeconds = 0.0
    /// Bounds of the boxes being split, per worker.
    var inFlight: [Double]
    var boxes = 0
    /// Boxes made by ReLU splits (the others by input splits).
    var reluSplitBoxes = 0
    /// Boxes bounded again with refined bounds (`BaBSearch.refineEvery`).
    var refinedBoxes = 0
    var maxDepth = 0
    var prunedByBound = 0
    var prunedInfeasible = 0
    var boundSeconds = 0.0
    var done = false

    var globalBound: Double { max(heap.top, inFlight.max() ?? -.infinity) }
  }

  public func solve(_ problem: Problem, _ context: SolveContext) -> SolveResult {
    let search = BaBSearch(problem, alphaSteps: Self.alphaSteps, minimum: maximizeMinimum)
    let gap = problem.options.mipGap
    /// The incumbent's value plus the gap: no box bounded at most this can matter. Near the
    /// largest double the sum overflows to infinity, which would prune every box, those with
    /// an infinite bound too: the value itself is taken then.
    @Sendable func withinGap(_ v: Double) -> Double {
      let t = v + max(Self.absoluteGap, gap * abs(v))
      return t.isFinite ? t : v
    }
    let (pruneAt, stopAt) = (self.pruneAt ?? -.infinity, self.stopAt ?? .infinity)
    /// A box whose bound is at most this cannot matter (the incumbent's value plus the
    /// tolerance, or the caller's threshold).
    @Sendable func threshold(_ inc: Double) -> Double {
      max(inc > -.infinity ? withinGap(inc) : -.infinity, pruneAt)
    }
    let workers = max(1, problem.options.workers)
    let net = problem.network

    // The root, and its statistics: interval against symbolic bounds.
    let interval = context.intervalBounds(problem)
    let root = search.root()
    // (The root keeps its bounds; a root proven infeasible has none to show.)
    var stats: [(String, JSON)] = rootStatistics(net, interval, root.node?.prior ?? interval)
    let shared = Mutex(Shared(inFlight: [Double](repeating: -.infinity, count: workers)))
    // The warm start and a local ascent from the best point so far.
    var first = (point: root.point, value: root.value)
    if let x = warmStart, x.count == net.inputSize {
      let v = search.value(at: x)
      if v > first.value { first = (x, v) }
    }
    if let x = first.point, first.value > -.infinity {
      first = search.ascend(from: x, value: first.value)
    }
    shared.withLock { s in
      s.boxes = 1
      s.boundSeconds = root.seconds
      if let x = first.point, first.value > -.infinity {
        s.incumbent = x
        s.incumbentValue = first.value
      }
      if let n = root.node { s.heap.push(n) } else { s.prunedInfeasible = 1 }
    }
    stats.append(("root_bound", .number(problem.objective.sign * (root.node?.bound ?? .nan))))
    if let v = shared.withLock({ $0.incumbent == nil ? nil : $0.incumbentValue }) {
      context.progress?(problem.objective.sign * v, nil, 1)
    }
    let throttle = ProgressThrottle()
    let sign = problem.objective.sign

    let leafSolver = LeafSolver(search: search)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      // The worker's LP for the boxes `LeafSolver` closes.
      let lp = HighsSolver()
      try? lp.set("presolve", "off")
      while true {
        if context.shouldStop { break }
        // Take the best box, unless the search is over.
        var taken: BaBNode? = nil
        var target = -Double.infinity
        var wait = false
        let finished = shared.withLock { s -> Bool in
          if s.done { return true }
          if s.incumbentValue >= stopAt {
            s.done = true
            return true
          }
          while let n = s.heap.pop() {
            let inc = s.incumbentValue
            if n.bound <= threshold(inc) {
              // Best first: every box left is as good as pruned.
              s.prunedBound = max(s.prunedBound, n.bound)
              s.prunedByBound += 1 + s.heap.count
              s.heap.removeAll()
              break
            }
            taken = n
            s.inFlight[w] = n.bound
            target = threshold(inc)
            return false
          }
          if s.inFlight.allSatisfy({ $0 == -.infinity }) {
            s.done = true
            return true
          }
          wait = true
          return false
        }
        if finished { break }
        if wait {
          usleep(100)
          continue
        }
        guard let node = taken else { continue }
        if node.unstable <= problem.options.babExactReLUs {
          let t0 = monotonicSeconds()
          let exact = Self.exactly(
            node, search, leafSolver, lp, context,
            incumbent: shared.withLock { $0.incumbentValue })
          shared.withLock { $0.leafSeconds += monotonicSeconds() - t0 }
          if let (leaf, point, value) = exact.closed {
            let improved = shared.withLock { s -> Bool in
              s.inFlight[w] = -.infinity
              s.leaves += 1
              s.leafLPs += leaf.lps
              s.leafBound = max(s.leafBound, leaf.bound)
              guard let x = point, value > s.incumbentValue else { return false }
              s.incumbent = x
              s.incumbentValue = value
              return true
            }
            if improved { context.progress?(sign * value, nil, nil) }
            continue
          }
          if exact.failed { shared.withLock { $0.leafFailures += 1 } }
          if context.shouldStop {
            shared.withLock { s in
              s.inFlight[w] = -.infinity
              s.heap.push(node)
            }
            break
          }
        }
        let count = shared.withLock { $0.heap.count }
        let keep = count < Self.priorLimit
        guard
          var children = search.branch(
            node, target: target, keepPrior: keep, keepBox: count < Self.boxLimit,
            stop: { context.shouldStop })
        else {
          // Stopped while choosing the split: the box stays open.
          shared.withLock { s in
            s.inFlight[w] = -.infinity
            s.heap.push(node)
          }
          break
        }
        if children.isEmpty {
          // No input of the box can be halved in floating point: its bound stays in the final
          // bound, unresolved.
          shared.withLock { s in
            s.inFlight[w] = -.infinity
            s.unresolvedBound = max(s.unresolvedBound, node.bound)
          }
          continue
        }
        if let k = children.indices.max(by: { children[$0].value < children[$1].value }),
          let x = children[k].point, children[k].value > shared.withLock({ $0.incumbentValue })
        {
          // A better point: polish it by a local ascent before it becomes the incumbent.
          (children[k].point, children[k].value) = search.ascend(from: x, value: children[k].value)
        }
        var improved: Double? = nil
        var report: (Double, Double, Int)? = nil
        shared.withLock { s in
          s.inFlight[w] = -.infinity
          for c in children {
            s.boxes += 1
            if c.fromReLUSplit { s.reluSplitBoxes += 1 }
            if c.refined { s.refinedBoxes += 1 }
            s.boundSeconds += c.seconds
            s.maxDepth = max(s.maxDepth, node.depth + 1)
            if let x = c.point, c.value > s.incumbentValue {
              s.incumbent = x
              s.incumbentValue = c.value
              improved = c.value
            }
          }
          let inc = s.incumbentValue
          for c in children {
            guard let n = c.node else {
              s.prunedInfeasible += 1
              continue
            }
            if n.bound <= threshold(inc) {
              s.prunedBound = max(s.prunedBound, n.bound)
              s.prunedByBound += 1
            } else {
              s.heap.push(n)
            }
          }
          if throttle.due() {
            report = (inc, max(s.globalBound, s.prunedBound, s.leafBound, inc), s.boxes)
          }
        }
        if let v = improved { context.progress?(sign * v, nil, nil) }
        if let (inc, b, n) = report {
          context.progress?(inc > -.infinity ? sign * inc : .nan, sign * b, n)
        }
      }
    }
    let r = search.ranking.tally
    stats += [
      ("ranked_splits", .int(r.branches)), ("ranking_checks", .int(r.compared)),
      ("ranking_agreed", .int(r.agreed)),
    ]
    return result(problem, context, shared.withLock { $0 }, stats: stats, withinGap: withinGap)
  }

  /// `LeafSolver` on a node with few unstable ReLUs: its exact bound and its best point
  /// (clamped to the box, checked, polished by the local ascent when it may improve the
  /// incumbent); `failed` when some LP could not be certified. A node kept without its bounds
  /// (long queues) gets them again, and is left to splitting if they show more unstable ReLUs.
  private static func exactly(
    _ node: BaBNode, _ search: BaBSearch, _ leafSolver: LeafSolver, _ lp: HighsSolver,
    _ context: SolveContext, incumbent: Double
  ) -> (closed: (LeafOutcome, [Double]?, Double)?, failed: Bool) {
    // (`node.unstable` was counted on `node.prior` when the node kept it.)
    let bounds: PreactivationBounds
    if let prior = node.prior {
      bounds = prior
    } else {
      let box = search.bounder.bounds(lower: node.lower, upper: node.upper, splits: node.splits)
      if box.empty {
        // The region's splits hold at no point of the box.
        return ((LeafOutcome(bound: -.infinity, point: nil, lps: 0), nil, -.infinity), false)
      }
      bounds = box.bounds
      let limit = search.problem.options.babExactReLUs
      guard bounds.stableCounts(search.problem.network).unstable <= limit else {
        return (nil, false)
      }
    }
    guard
      let leaf = leafSolver.solve(
        lower: node.lower, upper: node.upper, bounds: bounds, splits: node.splits, lp: lp,
        stop: { context.shouldStop })
    else { return (nil, !context.shouldStop) }
    var point = leaf.point.map { x in
      (0..<x.count).map { min(max(x[$0], node.lower[$0]), node.upper[$0]) }
    }
    var value = point.map { search.value(at: $0) } ?? -.infinity
    if let x = point, value > incumbent {
      (point, value) = search.ascend(from: x, value: value)
    }
    return ((leaf, point, value), false)
  }

  private func result(
    _ problem: Problem, _ context: SolveContext, _ s: Shared, stats: [(String, JSON)],
    withinGap: (Double) -> Double
  ) -> SolveResult {
    let sign = problem.objective.sign
    let open = s.globalBound
    var stats = stats
    stats += [
      ("boxes", .int(s.boxes)), ("relu_split_boxes", .int(s.reluSplitBoxes)),
      ("refined_boxes", .int(s.refinedBoxes)),
      ("max_depth", .int(s.maxDepth)),
      ("pruned_by_bound", .int(s.prunedByBound)), ("pruned_infeasible", .int(s.prunedInfeasible)),
      ("open_boxes", .int(s.heap.count)),
      ("exact_boxes", .int(s.leaves)), ("exact_box_lps", .int(s.leafLPs)),
      ("exact_box_failures", .int(s.leafFailures)),
      ("exact_box_seconds", .number((s.leafSeconds * 1000).rounded() / 1000)),
      ("bound_seconds", .number((s.boundSeconds * 1000).rounded() / 1000)),
      ("workers", .int(s.inFlight.count)),
    ]
    let complete = s.done && open == -.infinity
    if complete, s.incumbent == nil, s.unresolvedBound == -.infinity, s.prunedByBound == 0,
      s.leafBound == -.infinity
    {
      // Every box was pruned as infeasible: no box had a bound to compare with an incumbent.
      return SolveResult(
        status: .infeasible, method: .bab, statistics: stats,
        message: "every box of the input domain was proven to violate a constraint")
    }
    let bound = max(open, s.prunedBound, s.unresolvedBound, s.leafBound, s.incumbentValue)
    let proven = complete && bound <= withinGap(s.incumbentValue)
    if complete, s.incumbent == nil {
      // Boxes too small to split, or solved exactly without a point that passes the check, or
      // pruned at the caller's threshold; none proven infeasible, no point found in them.
      let why =
        s.unresolvedBound > -.infinity
        ? "boxes too small to split were left undecided"
        : s.leafBound > -.infinity
          ? "the exact solves of boxes gave no point that passes the final check"
          : "every box was pruned at the decision threshold"
      return SolveResult(
        status: .noFeasiblePoint, method: .bab, bound: bound.isFinite ? sign * bound : nil,
        statistics: stats, message: "no point satisfying the constraints was found; " + why)
    }
    let status: SolveStatus = proven ? .optimal : complete ? .feasible : context.stopStatus
    return SolveResult(
      status: status, method: .bab, point: s.incumbent,
      claimedObjective: s.incumbent.map { _ in sign * s.incumbentValue },
      bound: bound.isFinite ? sign * bound : nil, statistics: stats)
  }

  /// Interval against symbolic bounds at the root: unstable ReLUs and mean widths per layer.
  private func rootStatistics(
    _ net: Network, _ interval: PreactivationBounds, _ symbolic: PreactivationBounds
  ) -> [(String, JSON)] {
    func widths(_ b: PreactivationBounds) -> JSON {
      .array(
        zip(b.lower, b.upper).map { lo, hi in
          let w = zip(lo, hi).reduce(0.0) { $0 + ($1.1 - $1.0) } / Double(max(1, lo.count))
          return .number((w * 1e6).rounded() / 1e6)
        })
    }
    return [
      ("unstable_interval", .int(interval.stableCounts(net).unstable)),
      ("unstable_symbolic", .int(symbolic.stableCounts(net).unstable)),
      ("root_widths_interval", widths(interval)),
      ("root_widths_symbolic", widths(symbolic)),
    ]
  }
}
