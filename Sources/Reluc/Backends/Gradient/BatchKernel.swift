import RelucBLAS
import RelucBase
import RelucIR

/// Forward and backward passes for `batch` points at once (matrix-matrix products by OpenBLAS's
/// dgemm), so each weight is read once per `batch` points instead of once per point: the kernel
/// of batched multistart (PPGA). Activations are stored feature-major (`features x batch`, row-major), so the inner
/// loops run over the batch, contiguously.
public final class BatchKernel {
  let layers: [DenseLayer]
  let batch: Int
  let c: [Double]
  let d: [Double]
  let constant: Double
  let z: [UnsafeMutablePointer<Double>]
  let h: [UnsafeMutablePointer<Double>]
  let g: [UnsafeMutablePointer<Double>]
  let inputSize: Int
  /// With output rows: the exact penalty per lane (`OutputPenalty`).
  var rows: PenaltyLanes? = nil

  /// Creates a kernel for `batch` points (objective sign folded in, as `NetworkKernel`).
  public init(problem: Problem, batch: Int) {
    layers = problem.network.layers
    self.batch = batch
    let s = problem.objective.sign
    c = problem.objective.outputWeights.map { $0 * s }
    d = problem.objective.inputWeights.map { $0 * s }
    constant = problem.objective.constant * s
    inputSize = problem.network.inputSize
    func zero(_ n: Int) -> UnsafeMutablePointer<Double> {
      let p = UnsafeMutablePointer<Double>.allocate(capacity: max(1, n * batch))
      p.initialize(repeating: 0, count: max(1, n * batch))
      return p
    }
    z = layers.map { zero($0.outputSize) }
    h = layers.map { zero($0.outputSize) }
    g = [zero(inputSize)] + layers.map { zero($0.outputSize) }
  }

  deinit { for p in z + h + g { p.deallocate() } }

  /// Forward pass of the points `x` (`inputSize x batch`, feature-major).
  public func forward(_ x: UnsafePointer<Double>) {
    var input = x
    for (l, layer) in layers.enumerated() {
      let zl = z[l]
      for i in 0..<layer.outputSize {
        (zl + i * batch).update(repeating: layer.bias[i], count: batch)
      }
      layer.weights.withUnsafeBufferPointer { w in
        // Z += W X: coefficient (i, j) of W is w[i * inputSize + j].
        BLAS.gemm(
          transposeA: false, m: layer.outputSize, n: batch, k: layer.inputSize, a: w.baseAddress!,
          b: input, beta: 1, c: zl)
      }
      let count = layer.outputSize * batch
      if layer.activation == .relu {
        for k in 0..<count { h[l][k] = zl[k] > 0 ? zl[k] : 0 }
      } else {
        h[l].update(from: zl, count: count)
      }
      input = UnsafePointer(h[l])
    }
    if let rows {
      for b in 0..<batch { rows.evaluate(b, x: x, y: h[layers.count - 1]) }
    }
  }

  /// The (signed) objective of point `b` of the last forward pass of `x`.
  public func value(_ b: Int, _ x: UnsafePointer<Double>) -> Double {
    let y = h[layers.count - 1]
    var out = constant
    for i in 0..<c.count { out += c[i] * y[i * batch + b] }
    for j in 0..<inputSize { out += d[j] * x[j * batch + b] }
    return out - (rows?.values[b] ?? 0)
  }

  /// A hash of point `b`'s activation pattern (last forward pass), as `NetworkKernel.patternHash`.
  public func patternHash(_ b: Int) -> Int {
    var hasher = Hasher()
    for l in 0..<layers.count where layers[l].activation == .relu {
      for i in 0..<layers[l].outputSize { hasher.combine(z[l][i * batch + b] > 0) }
    }
    return hasher.finalize()
  }

  /// Gradients of the (signed) objective at the points of the last forward pass, into `grad`
  /// (`inputSize x batch`).
  public func gradient(into grad: UnsafeMutablePointer<Double>) {
    let L = layers.count
    for i in 0..<c.count { (g[L] + i * batch).update(repeating: c[i], count: batch) }
    if let rows { for b in 0..<batch { rows.adjustOutputWeights(g[L], b) } }
    for l in stride(from: L - 1, through: 0, by: -1) {
      let layer = layers[l]
      let gout = g[l + 1]
      if layer.activation == .relu {
        for k in 0..<(layer.outputSize * batch) where z[l][k] <= 0 { gout[k] = 0 }
      }
      let gin = l == 0 ? grad : g[l]
      layer.weights.withUnsafeBufferPointer { w in
        // Gin += W^T Gout: coefficient (j, i) of W^T is w[i * inputSize + j].
        BLAS.gemm(
          transposeA: true, m: layer.inputSize, n: batch, k: layer.outputSize, a: w.baseAddress!,
          b: UnsafePointer(gout), beta: 0, c: gin)
      }
    }
    for j in 0..<inputSize where d[j] != 0 {
      for b in 0..<batch { grad[j * batch + b] += d[j] }
    }
    if let rows { for b in 0..<batch { rows.adjustInputGradient(grad, b) } }
  }
}
