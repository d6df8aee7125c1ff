import RelucBase
import RelucIR

// Symbolic (back-substitution) bounds: CROWN (Zhang et al. 2018) / DeepPoly (Singh et al. 2019).
//
// Every pre-activation `z_k[i]` is bounded above and below by linear functions of the inputs,
// obtained by substituting each layer backwards: a row `A h_j + c` over the activations of layer
// j becomes a row over layer j's pre-activations through the linear relaxation of each ReLU
// (an unstable neuron with bounds l < 0 < u: `h <= u (z - l) / (u - l)` where its coefficient is
// positive, `h >= alpha z` with `alpha` in [0, 1] where it is negative; a stable neuron is exact),
// then over layer j - 1's activations through `z_j = W_j h_{j-1} + b_j` (one product per layer
// for all rows of a layer, each neuron's upper and lower row stacked, skipping the coefficients
// of inactive neurons). The linear function of the
// inputs is then maximized over the input box (each coefficient at the end of its interval).
// `alpha` is CROWN's adaptive choice (1 when u > -l, else 0); the objective's bound in `bab`
// optimizes it by projected gradient steps (alpha-CROWN, Xu et al. 2021), see
// `SymbolicBounder.upperBound`, and so does each intermediate neuron's bound when `bab` refines a
// box (`SymbolicBounder.optimizedRows`). The layers are bounded in order, each from the tightest
// bounds of the layers before it; each bound is intersected with interval arithmetic from the
// previous layer's bounds and with the interval bounds of the whole network, so it is never
// looser than `intervalBounds`.
//
// Soundness in floating point: a proven margin, not directed rounding. Let `M_k` be the absolute
// magnitude of layer k, `M_{-1} = max(|lower|, |upper|)` per input, `M_k = |W_k| M_{k-1} + |b_k|`.
// Every relaxation slope is in [0, 1] and every intercept is at most |l| <= M, so the rows of the
// back substitution of neuron (k, i) satisfy |A_j| <= |W_k[i]| |W_{k-1}| ... |W_{j+1}| and the sum
// of the absolute values of all the terms of its bound (products, intercepts, biases, the final
// concretization) is at most 2 (k + 1) M_k[i]. Each computed entry is an inner product of at most
// n terms (n the widest layer), so its error is at most gamma_n = n u / (1 - n u) times the
// absolute sum of its terms, and the errors compound over at most k + 1 substitutions. The
// computed bound is therefore within 4 (L + 1)^2 (n + 2) u (1 + M_k[i]) of the exact bound for
// the computed relaxation (u = 2^-53; the factor 4 also covers the rounding of the slopes and
// intercepts, each within 2 u of the exact relaxation), and each bound is widened by that margin
// (`SymbolicBounder.marginFactor`). On a very deep or badly scaled network the margin can exceed
// the gain, and the interval bound is kept.

/// The linear relaxation of a ReLU layer's neurons, from their pre-activation bounds.
struct ReluRelaxation: Sendable {
  /// Per neuron: 0 inactive (u <= 0), 1 active (l >= 0), 2 unstable.
  var state: [UInt8]
  /// Upper line `h <= s (z - l)`: the slope `s = u / (u - l)` (unstable neurons).
  var upperSlope: [Double]
  /// Its intercept `-s l` (unstable neurons).
  var upperIntercept: [Double]
  /// Lower line `h >= alpha z` (unstable neurons), alpha in [0, 1].
  var lowerSlope: [Double]

  init(lower: [Double], upper: [Double]) {
    let n = lower.count
    state = [UInt8](repeating: 1, count: n)
    upperSlope = [Double](repeating: 0, count: n)
    upperIntercept = upperSlope
    lowerSlope = upperSlope
    for i in 0..<n {
      let l = lower[i]
      let u = upper[i]
      if u <= 0 {
        state[i] = 0
      } else if l >= 0 {
        state[i] = 1
      } else {
        state[i] = 2
        let s = min(1, u / (u - l))
        upperSlope[i] = s
        upperIntercept[i] = -s * l
        lowerSlope[i] = u > -l ? 1 : 0
      }
    }
  }

  /// Indices of the unstable neurons.
  var unstable: [Int] { state.indices.filter { state[$0] == 2 } }
}

/// A branching decision on one ReLU (beta-CROWN's split): the region keeps only the points where
/// the neuron's pre-activation is nonnegative (`active`) or nonpositive.
struct ReluSplit: Sendable, Equatable {
  var layer: Int
  var neuron: Int
  var active: Bool
}

/// The pre-activation bounds of one box with what the back substitution of further rows needs.
struct BoxBounds: Sendable {
  /// The bounds.
  var bounds: PreactivationBounds
  /// Per layer, the ReLU relaxation (nil for a linear layer).
  var relaxations: [ReluRelaxation?]
  /// Per layer, the absolute magnitude `M_k` (see the file header); index 0 is the inputs'.
  var magnitudes: [[Double]]
  /// The box.
  var lower: [Double]
  var upper: [Double]
  /// The ReLU splits whose region the bounds are of (each split neuron stable in its sign).
  var splits: [ReluSplit] = []
  /// Whether the bounds prove that no point of the box satisfies the splits.
  var empty = false
  /// Per layer, the linear functions of the inputs that bounded its tightened neurons (nil
  /// where none was tightened): valid on every sub-region (`bounds(lower:upper:within:)`).
  var functions: [NeuronFunctions?] = []
}

/// The back substitution's linear bounds of some neurons of one layer over the inputs, with
/// their rounding margins: row p < r of `a` (r = `neurons.count`, n inputs per row) and `c[p]`
/// bound neuron `neurons[p]` above, row r + p bounds its negation above (so its lower bound is
/// minus that row's maximum).
struct NeuronFunctions: Sendable {
  var neurons: [Int]
  var a: [Double]
  var c: [Double]
  var margins: [Double]

  init(neurons: [Int], a: [Double], c: [Double], margins: [Double]) {
    (self.neurons, self.a, self.c, self.margins) = (neurons, a, c, margins)
  }

  /// The functions of several groups of a layer's neurons as one (each group's rows are its
  /// upper functions, then its lower ones; so are the result's); nil for no group.
  init?(merging parts: [NeuronFunctions], inputs n: Int) {
    guard !parts.isEmpty else { return nil }
    if parts.count == 1 {
      self = parts[0]
      return
    }
    neurons = parts.flatMap(\.neurons)
    a =
      parts.flatMap { $0.a[0..<($0.neurons.count * n)] }
      + parts.flatMap { $0.a[($0.neurons.count * n)...] }
    c = parts.flatMap { $0.c[0..<$0.neurons.count] } + parts.flatMap { $0.c[$0.neurons.count...] }
    margins = parts.flatMap(\.margins)
  }
}

/// A linear upper bound `coefficients . x + constant` of a linear function of a network's
/// outputs and inputs over a box, and its maximum over the box (margin included).
struct LinearBound: Sendable {
  var coefficients: [Double]
  var constant: Double
  /// The bound's maximum over the box, widened by the rounding margin.
  var value: Double
  /// The margin included in `value`.
  var margin: Double
  /// The box vertex where the linear function is largest.
  var vertex: [Double]
  /// Per layer, the lower slopes of the relaxation that gave `value` (empty for linear layers).
  var slopes: [[Double]] = []
  /// The unstable neurons whose relaxation loosens `value` most (`splitCandidates`).
  var candidates: [ReluSplit] = []
}

/// Symbolic bounds for one network (its absolute weights cached).
struct SymbolicBounder: Sendable {
  let network: Network
  /// |W_k| per layer, row-major as the weights.
  let absoluteWeights: [[Double]]
  /// `4 (L + 1)^2 (n + 2) u`: the margin per unit of magnitude (file header).
  let marginFactor: Double
  /// Neurons tightened together between two looks at the deadline (`bounds`'s `until`).
  static let deadlineChunk = 64

  init(_ network: Network) {
    self.network = network
    absoluteWeights = network.layers.map { $0.weights.map(abs) }
    let depth = Double(network.layers.count + 1)
    let width = Double(network.layers.reduce(network.inputSize) { max($0, $1.outputSize) } + 2)
    marginFactor = 4 * depth * depth * width * 0x1p-53
  }

  /// The bounds of every pre-activation over the box, never looser than interval arithmetic
  /// from the box nor than `prior` (bounds valid on a region containing this one). With
  /// `splits`, the bounds are over the box's points that satisfy them: a split neuron's bounds
  /// are clipped at 0 on its side (so it is stable, exact in every relaxation after it), and
  /// the result is `empty` when its sound bounds leave no point on that side. With `refine`,
  /// every tightened neuron's two bounds also get `refine` alpha-CROWN steps on slopes of its
  /// own (`optimizedRows`), the smaller value kept: tighter, a few back substitutions more per
  /// layer (`BaBSearch.refineEvery`). Tighter earlier layers can make CROWN's slopes worse for
  /// a later neuron, so a caller refining bounds it already has passes them as `prior`. A layer
  /// begun after `refineUntil` (monotonic seconds) is not refined (a time budget: the bounds stay
  /// sound, CROWN's), and one begun after `until` is not tightened at all: it keeps its interval
  /// bounds (sound, looser; its neurons have no linear functions). With a finite `until`, the
  /// unit of both tests is a chunk of `deadlineChunk` neurons instead of a layer.
  func bounds(
    lower: [Double], upper: [Double], prior: PreactivationBounds? = nil, splits: [ReluSplit] = [],
    refine: Int = 0, refineUntil: Double = .infinity, until: Double = .infinity
  ) -> BoxBounds {
    let net = network
    // The interval bounds of the whole network (with a prior, the prior is at least as tight:
    // it is from a box containing this one, itself intersected with its interval bounds, and
    // each layer below is also intersected with interval arithmetic from the previous layer).
    let whole = prior ?? intervalBounds(net, lower: lower, upper: upper)
    var result = PreactivationBounds(lower: [], upper: [])
    var relaxations: [ReluRelaxation?] = []
    var magnitudes = [zip(lower, upper).map { max(abs($0), abs($1)) }]
    var hl = lower
    var hu = upper
    var functions = [NeuronFunctions?](repeating: nil, count: net.layers.count)
    for (k, layer) in net.layers.enumerated() {
      var m = layer.bias.map(abs)
      let prev = magnitudes[k]
      absoluteWeights[k].withUnsafeBufferPointer { w in
        for i in 0..<layer.outputSize {
          var s = 0.0
          let row = i * layer.inputSize
          for j in 0..<layer.inputSize { s += w[row + j] * prev[j] }
          m[i] += s
        }
      }
      magnitudes.append(m)
      var (zl, zu) = intervalStep(layer, lower: hl, upper: hu)
      for i in 0..<layer.outputSize {
        zl[i] = max(zl[i], whole.lower[k][i])
        zu[i] = min(zu[i], whole.upper[k][i])
      }
      if k > 0, monotonicSeconds() < until {
        let rows =
          layer.activation == .relu
          ? (0..<layer.outputSize).filter { zl[$0] < 0 && zu[$0] > 0 }
          : Array(0..<layer.outputSize)
        // Under a deadline, `deadlineChunk` neurons at a time (without one, the whole layer at
        // once): a layer of a wide network can take seconds (on 1000-500-500-500-1, `verify
        // --timeout 2` ended after 3.5 s when whole layers were the unit). The neurons left keep
        // their interval bounds.
        let size = until == .infinity ? rows.count : Self.deadlineChunk
        var parts: [NeuronFunctions] = []
        var start = 0
        while start < rows.count, monotonicSeconds() < until {
          let chunk = Array(rows[start..<min(rows.count, start + size)])
          parts.append(
            tighten(
              layer: k, rows: chunk, &zl, &zu, relaxations, magnitudes[k + 1], lower, upper,
              refine: refine > 0 && monotonicSeconds() < refineUntil ? refine : 0))
          start += chunk.count
        }
        functions[k] = NeuronFunctions(merging: parts, inputs: lower.count)
      }
      widenNaN(&zl, &zu)
      let empty = Self.clip(&zl, &zu, layer: k, splits: splits)
      result.lower.append(zl)
      result.upper.append(zu)
      if empty {
        return BoxBounds(
          bounds: result, relaxations: relaxations, magnitudes: magnitudes, lower: lower,
          upper: upper, splits: splits, empty: true)
      }
      if layer.activation == .relu {
        relaxations.append(ReluRelaxation(lower: zl, upper: zu))
        hl = zl.map { max(0, $0) }
        hu = zu.map { max(0, $0) }
      } else {
        relaxations.append(nil)
        hl = zl
        hu = zu
      }
    }
    return BoxBounds(
      bounds: result, relaxations: relaxations, magnitudes: magnitudes, lower: lower, upper: upper,
      splits: splits, functions: functions)
  }

  /// Cheap bounds of a sub-region of `parent`'s (a box inside its box, with its splits and
  /// maybe more): the parent's linear functions of the inputs concretized over the smaller box,
  /// intersected with the parent's bounds (both valid on the sub-region), the first layer by
  /// interval arithmetic (exact up to rounding), the split neurons clipped at 0. No back
  /// substitution: a few products per neuron, where `bounds` costs one back substitution per
  /// unstable neuron; looser than `bounds` on the same box (the relaxation is the parent's).
  /// The parent's magnitudes are kept (at least the sub-box's: its margins cover it).
  func bounds(lower: [Double], upper: [Double], within parent: BoxBounds, splits: [ReluSplit])
    -> BoxBounds
  {
    var result = parent.bounds
    var relaxations: [ReluRelaxation?] = []
    for (k, layer) in network.layers.enumerated() {
      var zl = result.lower[k]
      var zu = result.upper[k]
      if k == 0 {
        let (l0, u0) = intervalStep(layer, lower: lower, upper: upper)
        for i in 0..<zl.count {
          zl[i] = max(zl[i], l0[i])
          zu[i] = min(zu[i], u0[i])
        }
      } else if k < parent.functions.count, let f = parent.functions[k] {
        let r = f.neurons.count
        let values = concretize(f.a, f.c, rows: 2 * r, lower: lower, upper: upper)
        for (p, i) in f.neurons.enumerated() {
          let hi = values[p] + f.margins[p]
          let lo = -values[r + p] - f.margins[p]
          if hi.isFinite, hi < zu[i] { zu[i] = hi }
          if lo.isFinite, lo > zl[i] { zl[i] = lo }
        }
      }
      let empty = Self.clip(&zl, &zu, layer: k, splits: splits)
      result.lower[k] = zl
      result.upper[k] = zu
      if empty {
        return BoxBounds(
          bounds: result, relaxations: relaxations, magnitudes: parent.magnitudes, lower: lower,
          upper: upper, splits: splits, empty: true)
      }
      relaxations.append(layer.activation == .relu ? ReluRelaxation(lower: zl, upper: zu) : nil)
    }
    return BoxBounds(
      bounds: result, relaxations: relaxations, magnitudes: parent.magnitudes, lower: lower,
      upper: upper, splits: splits)
  }

  /// Clips the bounds of layer `k`'s split neurons at 0 on their side; true when sound bounds
  /// then cross (no point of the region satisfies the splits).
  private static func clip(
    _ zl: inout [Double], _ zu: inout [Double], layer k: Int, splits: [ReluSplit]
  ) -> Bool {
    guard !splits.isEmpty else { return false }
    for s in splits where s.layer == k {
      if s.active {
        zl[s.neuron] = max(zl[s.neuron], 0)
      } else {
        zu[s.neuron] = min(zu[s.neuron], 0)
      }
    }
    return zip(zl, zu).contains { $0 > $1 }
  }

  /// Tightens the bounds of `rows` of layer `k` by back substitution (and `refine` alpha-CROWN
  /// steps per row, see `bounds`); returns the rows' CROWN linear functions of the inputs.
  private func tighten(
    layer k: Int, rows: [Int], _ zl: inout [Double], _ zu: inout [Double],
    _ relaxations: [ReluRelaxation?], _ magnitude: [Double], _ lower: [Double], _ upper: [Double],
    refine: Int
  ) -> NeuronFunctions {
    let layer = network.layers[k]
    let n = layer.inputSize
    let r = rows.count
    var a = [Double](repeating: 0, count: 2 * r * n)
    var c = [Double](repeating: 0, count: 2 * r)
    for (p, i) in rows.enumerated() {
      for j in 0..<n {
        let w = layer.weights[i * n + j]
        a[p * n + j] = w
        a[(r + p) * n + j] = -w
      }
      c[p] = layer.bias[i]
      c[r + p] = -layer.bias[i]
    }
    let values: [Double]
    if refine > 0 {
      // (Its first step is this back substitution with the relaxations' slopes.)
      values = optimizedRows(
        &a, &c, count: 2 * r, top: k - 1, relaxations: relaxations, lower: lower, upper: upper,
        steps: refine)
    } else {
      _ = backSubstitute(&a, &c, rows: 2 * r, top: k - 1, relaxations: relaxations, keep: false)
      values = concretize(a, c, rows: 2 * r, lower: lower, upper: upper)
    }
    let margins = rows.map { marginFactor * (1 + magnitude[$0]) }
    for (p, i) in rows.enumerated() {
      let hi = values[p] + margins[p]
      let lo = -values[r + p] - margins[p]
      if hi.isFinite, hi < zu[i] { zu[i] = hi }
      if lo.isFinite, lo > zl[i] { zl[i] = lo }
    }
    return NeuronFunctions(neurons: rows, a: a, c: c, margins: margins)
  }

  /// Substitutes the `rows` rows `A h_top + c` (A row-major over the activations of layer `top`)
  /// down to the inputs, relaxing each ReLU for an upper bound; on return `a` is over the inputs.
  /// With `keep`, returns each ReLU layer's row before its relaxation (one row only). `beta[j]`
  /// lists terms `v z_j[i]` added to every row once it is over layer j's pre-activations (the
  /// split constraints' multipliers, see `upperBound`).
  func backSubstitute(
    _ a: inout [Double], _ c: inout [Double], rows: Int, top: Int,
    relaxations: [ReluRelaxation?], keep: Bool, beta: [[(neuron: Int, value: Double)]] = [],
    rowSlopes: [[Double]] = []
  ) -> [[Double]] {
    var kept = [[Double]](repeating: [], count: keep ? top + 1 : 0)
    var n = top >= 0 ? network.layers[top].outputSize : network.inputSize
    var j = top
    while j >= 0 {
      let layer = network.layers[j]
      if let rx = relaxations[j] {
        if keep { kept[j] = a }
        // Each row's own lower slopes (`rowSlopes[j]`, rows x n), or the relaxation's.
        let own = j < rowSlopes.count && !rowSlopes[j].isEmpty
        let slopes = own ? rowSlopes[j] : rx.lowerSlope
        let stride = own ? n : 0
        a.withUnsafeMutableBufferPointer { a in
          for p in 0..<rows {
            let base = p * n
            let slope = p * stride
            var shift = 0.0
            for i in 0..<n {
              let v = a[base + i]
              switch rx.state[i] {
              case 0: a[base + i] = 0
              case 1: break
              default:
                if v >= 0 {
                  shift += v * rx.upperIntercept[i]
                  a[base + i] = v * rx.upperSlope[i]
                } else {
                  a[base + i] = v * slopes[slope + i]
                }
              }
            }
            c[p] += shift
          }
        }
      }
      if j < beta.count {
        for (i, v) in beta[j] { for p in 0..<rows { a[p * n + i] += v } }
      }
      for p in 0..<rows {
        var s = 0.0
        for i in 0..<n { s += a[p * n + i] * layer.bias[i] }
        c[p] += s
      }
      // next = a W, row by row as a sum of W's rows: the coefficients of inactive neurons are
      // 0 after the relaxation and are skipped (a dgemm cannot skip them, and packing the
      // small weight matrix on every call cost more than the products on ACAS Xu).
      let m = layer.inputSize
      var next = [Double](repeating: 0, count: rows * m)
      a.withUnsafeBufferPointer { ap in
        layer.weights.withUnsafeBufferPointer { w in
          next.withUnsafeMutableBufferPointer { out in
            for p in 0..<rows {
              let o = out.baseAddress! + p * m
              for i in 0..<n {
                let v = ap[p * n + i]
                if v == 0 { continue }
                let wr = w.baseAddress! + i * m
                for q in 0..<m { o[q] += v * wr[q] }
              }
            }
          }
        }
      }
      a = next
      n = m
      j -= 1
    }
    return kept
  }

  /// The largest value of each row `a x + c` over the box.
  func concretize(_ a: [Double], _ c: [Double], rows: Int, lower: [Double], upper: [Double])
    -> [Double]
  {
    let n = lower.count
    return (0..<rows).map { p in
      var s = c[p]
      for j in 0..<n {
        let v = a[p * n + j]
        s += v >= 0 ? v * upper[j] : v * lower[j]
      }
      return s
    }
  }
}

/// Symbolic bounds of a network's pre-activations over a box (see the file header).
public func symbolicBounds(_ network: Network, lower: [Double], upper: [Double])
  -> PreactivationBounds
{
  SymbolicBounder(network).bounds(lower: lower, upper: upper).bounds
}

/// The symbolic bounds of a problem's network over its inputs' variable bounds (the polytope's
/// rows are not used: the box contains the polytope, so the bounds hold on it).
public func symbolicBounds(of problem: Problem) -> PreactivationBounds {
  symbolicBounds(problem.network, lower: problem.polytope.lower, upper: problem.polytope.upper)
}
