import RelucBase
import RelucIR

/// The numeric core of the gradient methods: forward and backward passes over contiguous
/// row-major `Double` buffers, with no allocation per call (buffers live in the kernel).
///
/// On a linear region (fixed activation pattern z) the network is affine,
/// `f(x) = T(z) x + t(z)` with `T(z) = c^T W_L D_{L-1} W_{L-1} ... D_1 W_1`
/// (Tong, Zhu, Serra, Burer 2025, section 2); `gradient` computes `T(z)^T` by one backward pass,
/// and `directionalPreactivations` the pre-activations' derivatives along a direction, from which
/// the distance to the next activation change is a ratio test (`regionStep`).
public final class NetworkKernel {
  /// The layers.
  public let layers: [DenseLayer]
  let c: [Double]
  let d: [Double]
  let constant: Double
  let inputSize: Int
  // Owned buffers (allocated once): weights, biases, pre-activations, activations, backward
  // scratch and directional derivatives, one per layer.
  let w: [UnsafeMutablePointer<Double>]
  let b: [UnsafeMutablePointer<Double>]
  let z: [UnsafeMutablePointer<Double>]
  let h: [UnsafeMutablePointer<Double>]
  let g: [UnsafeMutablePointer<Double>]
  let dz: [UnsafeMutablePointer<Double>]
  let dh: [UnsafeMutablePointer<Double>]
  let zeros: UnsafeMutablePointer<Double>
  /// With output rows: the exact penalty subtracted from the objective (`OutputPenalty`).
  var rows: PenaltyLanes? = nil

  /// Creates a kernel for a problem; the objective is always maximized (sign folded in).
  public init(problem: Problem) {
    layers = problem.network.layers
    let s = problem.objective.sign
    c = problem.objective.outputWeights.map { $0 * s }
    d = problem.objective.inputWeights.map { $0 * s }
    constant = problem.objective.constant * s
    inputSize = problem.network.inputSize
    func alloc(_ v: [Double]) -> UnsafeMutablePointer<Double> {
      let p = UnsafeMutablePointer<Double>.allocate(capacity: max(1, v.count))
      p.initialize(from: v, count: v.count)
      return p
    }
    func zero(_ n: Int) -> UnsafeMutablePointer<Double> { alloc([Double](repeating: 0, count: n)) }
    w = layers.map { alloc($0.weights) }
    b = layers.map { alloc($0.bias) }
    z = layers.map { zero($0.outputSize) }
    h = layers.map { zero($0.outputSize) }
    dz = layers.map { zero($0.outputSize) }
    dh = layers.map { zero($0.outputSize) }
    g = [zero(inputSize)] + layers.map { zero($0.outputSize) }
    zeros = zero(layers.map(\.outputSize).max() ?? 1)
  }

  deinit {
    for p in w + b + z + h + dz + dh + g + [zeros] { p.deallocate() }
  }

  /// Pre-activations of layer `l` at the last forward pass.
  public func preactivations(_ l: Int) -> [Double] {
    Array(UnsafeBufferPointer(start: z[l], count: layers[l].outputSize))
  }

  /// Directional derivatives of the pre-activations of layer `l` (see
  /// `directionalPreactivations`).
  public func directionalDerivatives(_ l: Int) -> [Double] {
    Array(UnsafeBufferPointer(start: dz[l], count: layers[l].outputSize))
  }

  /// Forward pass; returns the (signed, to be maximized) objective at x.
  @discardableResult
  public func forward(_ x: UnsafePointer<Double>) -> Double {
    var input = UnsafePointer(x)
    for l in 0..<layers.count {
      let layer = layers[l]
      matvec(w[l], input, b[l], z[l], rows: layer.outputSize, cols: layer.inputSize)
      let zl = z[l]
      let hl = h[l]
      if layer.activation == .relu {
        for i in 0..<layer.outputSize { hl[i] = zl[i] > 0 ? zl[i] : 0 }
      } else {
        hl.update(from: zl, count: layer.outputSize)
      }
      input = UnsafePointer(hl)
    }
    var out = constant
    let y = h[layers.count - 1]
    for i in 0..<c.count { out += c[i] * y[i] }
    for j in 0..<inputSize { out += d[j] * x[j] }
    if let rows { out -= rows.evaluate(0, x: x, y: y) }
    return out
  }

  /// The gradient of the (signed) objective at the point of the last forward pass, into `grad`.
  /// At a point where a pre-activation is exactly 0 the neuron counts as inactive.
  public func gradient(into grad: UnsafeMutablePointer<Double>) {
    let L = layers.count
    // g_L = c, then g_{l-1} = W_l^T (g_l * mask_l), as axpy over the rows of W_l.
    g[L].update(from: c, count: c.count)
    rows?.adjustOutputWeights(g[L], 0)
    for l in stride(from: L - 1, through: 0, by: -1) {
      let layer = layers[l]
      let relu = layer.activation == .relu
      let gout = g[l + 1]
      let gin = g[l]
      gin.update(repeating: 0, count: layer.inputSize)
      let zl = z[l]
      for i in 0..<layer.outputSize {
        let gv = gout[i]
        if gv == 0 || (relu && zl[i] <= 0) { continue }
        axpy(gv, w[l] + i * layer.inputSize, gin, layer.inputSize)
      }
    }
    for j in 0..<inputSize { grad[j] = g[0][j] + d[j] }
    rows?.adjustInputGradient(grad, 0)
  }

  /// Derivatives of all pre-activations along `v` on the current region (pattern fixed).
  public func directionalPreactivations(_ v: UnsafePointer<Double>) {
    var input = v
    for l in 0..<layers.count {
      let layer = layers[l]
      matvec(w[l], input, zeros, dz[l], rows: layer.outputSize, cols: layer.inputSize)
      if layer.activation == .relu {
        for i in 0..<layer.outputSize { dh[l][i] = z[l][i] > 0 ? dz[l][i] : 0 }
      } else {
        dh[l].update(from: dz[l], count: layer.outputSize)
      }
      input = UnsafePointer(dh[l])
    }
  }

  /// The largest t in (0, tMax] such that no ReLU pre-activation changes sign on [0, t) along
  /// the direction whose derivatives `directionalPreactivations` computed: the ratio test
  /// `min { -z_i / dz_i : z_i dz_i < 0 }`.
  public func regionStep(tMax: Double) -> Double {
    var t = tMax
    for l in 0..<layers.count where layers[l].activation == .relu {
      let zl = z[l]
      let dl = dz[l]
      for i in 0..<layers[l].outputSize {
        let zi = zl[i]
        let di = dl[i]
        if (zi > 0 && di < 0) || (zi < 0 && di > 0) { t = min(t, -zi / di) }
      }
    }
    return t
  }

  /// A hash of the activation pattern of the last forward pass (for counting regions).
  public func patternHash() -> Int {
    var hash = PatternHash()
    for l in 0..<layers.count where layers[l].activation == .relu {
      for i in 0..<layers[l].outputSize { hash.add(z[l][i] > 0) }
    }
    return hash.value
  }
}

/// A 64-bit hash of an activation pattern (the statistic `regions_visited` counts distinct
/// ones): the signs packed 64 to a word, each full word mixed in by splitmix64's finalizer.
/// Swift's `Hasher`, fed one Bool per neuron, took 5% of batched PPGA's time on
/// 1000-500-500-500-500-1 (perf).
struct PatternHash {
  private var state: UInt64 = 0x9E37_79B9_7F4A_7C15
  private var word: UInt64 = 0
  private var bits = 0
  private var count = 0

  @inline(__always)
  mutating func add(_ active: Bool) {
    word = word &<< 1 | (active ? 1 : 0)
    bits += 1
    if bits == 64 { mix() }
  }

  private mutating func mix() {
    var v = (state ^ word) &+ UInt64(truncatingIfNeeded: count)
    v = (v ^ (v &>> 30)) &* 0xBF58_476D_1CE4_E5B9
    v = (v ^ (v &>> 27)) &* 0x94D0_49BB_1331_11EB
    state = v ^ (v &>> 31)
    count += bits
    word = 0
    bits = 0
  }

  /// The hash of the signs added so far.
  var value: Int {
    var h = self
    if h.bits > 0 || h.count == 0 { h.mix() }
    return Int(truncatingIfNeeded: h.state)
  }
}

/// y = W x + b for row-major W (rows x cols), four accumulators per row.
@inline(__always)
func matvec(
  _ wp: UnsafePointer<Double>, _ xp: UnsafePointer<Double>, _ b: UnsafePointer<Double>,
  _ y: UnsafeMutablePointer<Double>, rows: Int, cols: Int
) {
  let blocks = cols / 8
  for i in 0..<rows {
    let row = wp + i * cols
    var a0 = SIMD4<Double>()
    var a1 = SIMD4<Double>()
    var j = 0
    for _ in 0..<blocks {
      let w0 = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD4<Double>.self)
      let w1 = UnsafeRawPointer(row + j + 4).loadUnaligned(as: SIMD4<Double>.self)
      let x0 = UnsafeRawPointer(xp + j).loadUnaligned(as: SIMD4<Double>.self)
      let x1 = UnsafeRawPointer(xp + j + 4).loadUnaligned(as: SIMD4<Double>.self)
      a0 += w0 * x0
      a1 += w1 * x1
      j += 8
    }
    var s = (a0 + a1).sum()
    while j < cols {
      s += row[j] * xp[j]
      j += 1
    }
    y[i] = s + b[i]
  }
}

/// y += a * x over n contiguous doubles.
@inline(__always)
func axpy(_ a: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
  var j = 0
  let av = SIMD4<Double>(repeating: a)
  while j + 4 <= n {
    let xv = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD4<Double>.self)
    let yv = UnsafeRawPointer(y + j).loadUnaligned(as: SIMD4<Double>.self)
    UnsafeMutableRawPointer(y + j).storeBytes(of: yv + av * xv, as: SIMD4<Double>.self)
    j += 4
  }
  while j < n {
    y[j] += a * x[j]
    j += 1
  }
}
