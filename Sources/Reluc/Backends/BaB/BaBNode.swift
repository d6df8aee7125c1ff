import RelucBase
import RelucIR

/// A box of the input domain with its proven bound (on `sign * objective` over the box's
/// feasible points).
struct BaBNode: Sendable {
  var lower: [Double]
  var upper: [Double]
  /// Upper bound of `sign * objective` over the feasible points of the box.
  var bound: Double
  /// Splits from the root.
  var depth: Int
  /// The box's pre-activation bounds, valid on its sub-boxes (nil when memory is short).
  var prior: PreactivationBounds?
  /// Its bounds with the linear functions that gave them, to rank its splits (nil when the
  /// queue is long: they are computed again).
  var box: BoxBounds? = nil
  /// The lower slopes of its bound's relaxation (alpha-CROWN's), the children's first slopes.
  var slopes: [[Double]] = []
  /// Its unstable ReLUs under its own bounds (whether `LeafSolver` takes it).
  var unstable = Int.max
  /// The ReLU splits of the region (its points are the box's that satisfy them).
  var splits: [ReluSplit] = []
  /// The unstable neurons whose relaxation loosens its bound most (ReLU split candidates).
  var candidates: [ReluSplit] = []
}

/// A max-heap of nodes by bound (best first).
struct BaBHeap: Sendable {
  private(set) var nodes: [BaBNode] = []

  var isEmpty: Bool { nodes.isEmpty }
  var count: Int { nodes.count }
  /// The largest bound in the heap (-infinity when empty).
  var top: Double { nodes.first?.bound ?? -.infinity }

  mutating func push(_ n: BaBNode) {
    nodes.append(n)
    var i = nodes.count - 1
    while i > 0 {
      let p = (i - 1) / 2
      guard nodes[p].bound < nodes[i].bound else { break }
      nodes.swapAt(p, i)
      i = p
    }
  }

  mutating func pop() -> BaBNode? {
    guard !nodes.isEmpty else { return nil }
    nodes.swapAt(0, nodes.count - 1)
    let top = nodes.removeLast()
    var i = 0
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var m = i
      if l < nodes.count, nodes[l].bound > nodes[m].bound { m = l }
      if r < nodes.count, nodes[r].bound > nodes[m].bound { m = r }
      if m == i { break }
      nodes.swapAt(i, m)
      i = m
    }
    return top
  }

  mutating func removeAll() { nodes.removeAll() }
}

/// A linear row `g . x + h . y <= rhs` the search keeps (a polytope row has no `h`), with the
/// tolerance within which `PointCheck` accepts it: a box is infeasible for the row when the
/// row's lower bound over the box exceeds `rhs + slack`.
struct BaBRow: Sendable {
  var g: [Double]
  var h: [Double]?
  var rhs: Double
  var slack: Double
}
