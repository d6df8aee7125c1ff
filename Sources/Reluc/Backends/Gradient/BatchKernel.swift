import RelucBase

/// Forward and backward passes for `batch` points at once (matrix-matrix products), so each
/// weight is read once per `batch` points instead of once per point: the kernel of batched
/// multistart. Activations are stored feature-major (`features x batch`, row-major), so the inner
/// loops run over the batch, contiguously.
public final class BatchKernel {
  let layers: [DenseLayer]
  let batch: Int
  let c: [Double]
  let z: [UnsafeMutablePointer<Double>]
  let h: [UnsafeMutablePointer<Double>]
  let g: [UnsafeMutablePointer<Double>]
  let inputSize: Int

  /// Creates a kernel for `batch` points (objective sign folded in, as `NetworkKernel`).
  public init(problem: Problem, batch: Int) {
    layers = problem.network.layers
    self.batch = batch
    let s: Double = problem.objective.sense == .maximize ? 1 : -1
    c = problem.objective.outputWeights.map { $0 * s }
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
      for i in 0..<layer.outputSize { (zl + i * batch).update(repeating: layer.bias[i], count: batch) }
      layer.weights.withUnsafeBufferPointer { w in
        // Z += W X: coefficient (i, j) of W is w[i * inputSize + j].
        accumulateProduct(
          w.baseAddress!, rowStride: layer.inputSize, columnStride: 1, rows: layer.outputSize,
          inner: layer.inputSize, x: input, into: zl, batch: batch)
      }
      let count = layer.outputSize * batch
      if layer.activation == .relu {
        for k in 0..<count { h[l][k] = zl[k] > 0 ? zl[k] : 0 }
      } else {
        h[l].update(from: zl, count: count)
      }
      input = UnsafePointer(h[l])
    }
  }

  /// Gradients of the (signed) output objective at the points of the last forward pass, into
  /// `grad` (`inputSize x batch`).
  public func gradient(into grad: UnsafeMutablePointer<Double>) {
    let L = layers.count
    for i in 0..<c.count { (g[L] + i * batch).update(repeating: c[i], count: batch) }
    for l in stride(from: L - 1, through: 0, by: -1) {
      let layer = layers[l]
      let gout = g[l + 1]
      if layer.activation == .relu {
        for k in 0..<(layer.outputSize * batch) where z[l][k] <= 0 { gout[k] = 0 }
      }
      let gin = l == 0 ? grad : g[l]
      gin.update(repeating: 0, count: layer.inputSize * batch)
      layer.weights.withUnsafeBufferPointer { w in
        // Gin += W^T Gout: coefficient (j, i) of W^T is w[i * inputSize + j].
        accumulateProduct(
          w.baseAddress!, rowStride: 1, columnStride: layer.inputSize, rows: layer.inputSize,
          inner: layer.outputSize, x: UnsafePointer(gout), into: gin, batch: batch)
      }
    }
  }
}

/// `y += A x` for `A` (rows x inner, coefficient (r, k) at `a[r * rowStride + k * columnStride]`)
/// and feature-major `x` (inner x batch) and `y` (rows x batch). Register-blocked: 4 rows by 8
/// points are accumulated in registers over the whole inner dimension, so each loaded piece of `x`
/// serves 4 rows and each coefficient 8 points.
@inline(__always)
func accumulateProduct(
  _ a: UnsafePointer<Double>, rowStride: Int, columnStride: Int, rows: Int, inner: Int,
  x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, batch: Int
) {
  typealias V = SIMD4<Double>
  func load(_ p: UnsafePointer<Double>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
  func add(_ p: UnsafeMutablePointer<Double>, _ v: V) {
    UnsafeMutableRawPointer(p).storeBytes(of: load(UnsafePointer(p)) + v, as: V.self)
  }
  var r = 0
  while r + 4 <= rows {
    var b = 0
    while b + 8 <= batch {
      var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
      for k in 0..<inner {
        let xk = x + k * batch + b
        let x0 = load(xk)
        let x1 = load(xk + 4)
        let base = a + k * columnStride + r * rowStride
        let w0 = V(repeating: base[0])
        let w1 = V(repeating: base[rowStride])
        let w2 = V(repeating: base[2 * rowStride])
        let w3 = V(repeating: base[3 * rowStride])
        c00 += w0 * x0
        c01 += w0 * x1
        c10 += w1 * x0
        c11 += w1 * x1
        c20 += w2 * x0
        c21 += w2 * x1
        c30 += w3 * x0
        c31 += w3 * x1
      }
      add(y + r * batch + b, c00)
      add(y + r * batch + b + 4, c01)
      add(y + (r + 1) * batch + b, c10)
      add(y + (r + 1) * batch + b + 4, c11)
      add(y + (r + 2) * batch + b, c20)
      add(y + (r + 2) * batch + b + 4, c21)
      add(y + (r + 3) * batch + b, c30)
      add(y + (r + 3) * batch + b + 4, c31)
      b += 8
    }
    // Leftover points.
    while b < batch {
      for rr in r..<(r + 4) {
        var s = 0.0
        for k in 0..<inner { s += a[rr * rowStride + k * columnStride] * x[k * batch + b] }
        y[rr * batch + b] += s
      }
      b += 1
    }
    r += 4
  }
  // Leftover rows.
  while r < rows {
    for k in 0..<inner {
      let coefficient = a[r * rowStride + k * columnStride]
      if coefficient != 0 { axpy(coefficient, x + k * batch, y + r * batch, batch) }
    }
    r += 1
  }
}
