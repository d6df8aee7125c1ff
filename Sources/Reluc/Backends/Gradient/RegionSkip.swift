import RelucBase
import RelucIR

/// PPGA_LR's two mechanisms (Tong, Zhu, Serra, Burer 2025), computed from the pre-activations of
/// a lane's point x and of its evaluated trial x + d, which the batched forward pass gives anyway
/// (no extra pass):
///
/// - **Linear-region recognition (skip).** Activation regions are convex polyhedra, so when the
///   trial has x's activation pattern the whole segment lies in x's region, where every
///   pre-activation is affine: `z(x + t d) = z(x) + t (z(x + d) - z(x))`. The next point is then
///   the region's boundary along d (the ratio test over all ReLU neurons, t > 1) plus
///   `overshoot D`, capped where x + t d leaves X: one step instead of the many a small step
///   size takes inside one region, all of them improving (the objective is linear along d there
///   and rose over [0, 1]).
/// - **Step trimming.** The first layer's pre-activations are affine in x everywhere (partial
///   information of the network, exact), so the first-layer neurons a step crosses and where are
///   known exactly. A step that does not improve after crossing more than `trimNeurons` of them
///   jumped into a very different region: instead of halving the step size, the next trial is
///   the same direction cut between the `trimNeurons`-th and the next crossing (a region close to
///   x's, where x's gradient is still informative), and the step size shrinks by the same factor.
enum RegionSkip {
  /// A failed step that crossed more than this share of the first layer's neurons is trimmed
  /// to that many crossings (at least 1).
  static let trimShare = 0.02

  /// The largest t such that `x + t d` stays in X (box bounds and rows), at most `cap`.
  static func feasibleLength(_ x: [Double], _ d: [Double], _ polytope: Polytope, cap: Double)
    -> Double
  {
    var t = cap
    let n = x.count
    for j in 0..<n {
      if d[j] > 0 {
        t = min(t, (polytope.upper[j] - x[j]) / d[j])
      } else if d[j] < 0 {
        t = min(t, (polytope.lower[j] - x[j]) / d[j])
      }
    }
    polytope.matrix.withUnsafeBufferPointer { a in
      for r in 0..<polytope.rowCount {
        var ax = 0.0
        var ad = 0.0
        for j in 0..<n {
          ax += a[r * n + j] * x[j]
          ad += a[r * n + j] * d[j]
        }
        if ad > 0 { t = min(t, max(0, (polytope.rhs[r] - ax) / ad)) }
      }
    }
    return max(0, t)
  }

  /// The boundary of the region of x along d from the pre-activations at x (`zx`) and at x + d
  /// (`zt`), same pattern: `min { -zx_i / (zt_i - zx_i) }` over the neurons moving towards their
  /// sign change (infinity when none does).
  static func boundary(_ zx: [Double], _ zt: [Double]) -> Double {
    var t = Double.infinity
    for i in zx.indices {
      let dz = zt[i] - zx[i]
      if (zx[i] > 0 && dz < 0) || (zx[i] <= 0 && dz > 0) { t = min(t, -zx[i] / dz) }
    }
    return t
  }

  /// The skip: `x + t d` with t the region's boundary plus `overshoot` (absolute length) capped
  /// at X's boundary; nil when that is not past the trial (t <= 1).
  static func skip(
    x: [Double], trial: [Double], zx: [Double], zt: [Double], overshoot: Double,
    polytope: Polytope
  ) -> [Double]? {
    var d = trial
    var dn = 0.0
    for j in x.indices {
      d[j] -= x[j]
      dn += d[j] * d[j]
    }
    dn = dn.squareRoot()
    guard dn > 0 else { return nil }
    let region = boundary(zx, zt)
    let t = feasibleLength(x, d, polytope, cap: min(1e12, region + overshoot / dn))
    guard t > 1 + 1e-12 else { return nil }
    return x.indices.map { polytope.clamp(x[$0] + t * d[$0], $0) }
  }

  /// The trimmed step after a failed step from x (first-layer pre-activations `zx1`) to x + d
  /// (`zt1`): the fraction t of d between the k-th and (k+1)-th first-layer crossing, when more
  /// than k = max(1, trimShare * width) neurons of the first layer crossed; nil otherwise.
  static func trim(zx1: ArraySlice<Double>, zt1: ArraySlice<Double>) -> Double? {
    let k = max(1, Int(trimShare * Double(zx1.count)))
    var crossings: [Double] = []
    for (a, b) in zip(zx1, zt1) where (a > 0) != (b > 0) {
      crossings.append(a / (a - b))
    }
    guard crossings.count > k else { return nil }
    crossings.sort()
    let t = 0.5 * (crossings[k - 1] + crossings[k])
    return t > 0 && t < 1 ? t : nil
  }
}

extension BatchKernel {
  /// The number of ReLU neurons (the length of `copyReLU`'s output).
  var reluCount: Int {
    layers.reduce(0) { $0 + ($1.activation == .relu ? $1.outputSize : 0) }
  }

  /// Point b's ReLU pre-activations of the last forward pass, layer after layer, into `out`.
  func copyReLU(_ b: Int, into out: inout [Double]) {
    if out.count != reluCount { out = [Double](repeating: 0, count: reluCount) }
    var k = 0
    for l in 0..<layers.count where layers[l].activation == .relu {
      let zl = z[l]
      for i in 0..<layers[l].outputSize {
        out[k] = Double(zl[i * batch + b])
        k += 1
      }
    }
  }

  /// Whether point b (last forward pass) has the activation pattern of `reference` (as
  /// `copyReLU` lays it out; a pre-activation > 0 is active).
  func samePattern(_ b: Int, as reference: [Double]) -> Bool {
    guard reference.count == reluCount else { return false }
    var k = 0
    for l in 0..<layers.count where layers[l].activation == .relu {
      let zl = z[l]
      for i in 0..<layers[l].outputSize {
        if (zl[i * batch + b] > 0) != (reference[k] > 0) { return false }
        k += 1
      }
    }
    return true
  }

  /// The width of the first layer when it is a ReLU layer (trimming needs its exact crossings),
  /// else 0.
  var firstReLUWidth: Int { layers.first?.activation == .relu ? layers[0].outputSize : 0 }
}
