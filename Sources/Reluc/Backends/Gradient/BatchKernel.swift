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
      layer.weights.withUnsafeBufferPointer { w in
        for i in 0..<layer.outputSize {
          let row = zl + i * batch
          row.update(repeating: layer.bias[i], count: batch)
          for j in 0..<layer.inputSize {
            let wij = w[i * layer.inputSize + j]
            if wij != 0 { axpy(wij, input + j * batch, row, batch) }
          }
        }
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
        for i in 0..<layer.outputSize {
          let gi = gout + i * batch
          for j in 0..<layer.inputSize {
            let wij = w[i * layer.inputSize + j]
            if wij != 0 { axpy(wij, gi, gin + j * batch, batch) }
          }
        }
      }
    }
  }
}
