import RelucBLAS
import RelucBase
import RelucIR

/// Forward and backward passes for `batch` points at once (matrix-matrix products by OpenBLAS),
/// so each weight is read once per `batch` points instead of once per point: the kernel of
/// batched multistart (PPGA). Activations are stored feature-major (`features x batch`,
/// row-major), so the inner loops run over the batch, contiguously.
///
/// `Scalar` is the precision of the passes: `Double` (dgemm), or `Float` (sgemm, about twice the
/// products per second; the option `lane_precision = single`). The interface is in doubles
/// either way: points are rounded to `Scalar` on the way in, values and gradients widened on the
/// way out, so a `Float` kernel's values carry its rounding (relative error about 1e-6 on the
/// grid's networks) and the caller re-evaluates in double what it keeps. The passes are
/// specialized for both (`@_specialize`), so callers in other modules (`reluc-bench`) run the
/// same code as PPGA.
public final class BatchKernel<Scalar: BLASScalar> {
  let layers: [DenseLayer]
  let batch: Int
  let c: [Double]
  let d: [Double]
  let constant: Double
  /// Each layer's weights in `Scalar` (row-major, `outputSize x inputSize`).
  let weights: [[Scalar]]
  let z: [UnsafeMutablePointer<Scalar>]
  let h: [UnsafeMutablePointer<Scalar>]
  let g: [UnsafeMutablePointer<Scalar>]
  /// The points of the last forward pass in `Scalar`.
  let x: UnsafeMutablePointer<Scalar>
  /// The outputs in double and the adjoint of the outputs, with output rows (`rows`).
  let y: UnsafeMutablePointer<Double>
  let gy: UnsafeMutablePointer<Double>
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
    // In double the layers' own arrays (shared, not copied).
    weights = layers.map { ($0.weights as? [Scalar]) ?? $0.weights.map { Scalar($0) } }
    func zero<T: BinaryFloatingPoint>(_ n: Int, _: T.Type) -> UnsafeMutablePointer<T> {
      let p = UnsafeMutablePointer<T>.allocate(capacity: max(1, n * batch))
      p.initialize(repeating: 0, count: max(1, n * batch))
      return p
    }
    z = layers.map { zero($0.outputSize, Scalar.self) }
    h = layers.map { zero($0.outputSize, Scalar.self) }
    g = [zero(inputSize, Scalar.self)] + layers.map { zero($0.outputSize, Scalar.self) }
    x = zero(inputSize, Scalar.self)
    let outputs = layers.last?.outputSize ?? 0
    y = zero(outputs, Double.self)
    gy = zero(outputs, Double.self)
  }

  deinit {
    for p in z + h + g { p.deallocate() }
    x.deallocate()
    y.deallocate()
    gy.deallocate()
  }

  /// Forward pass of the points `points` (`inputSize x batch`, feature-major).
  @_specialize(exported:true,where Scalar == Double)
  @_specialize(exported:true,where Scalar == Float)
  public func forward(_ points: UnsafePointer<Double>) {
    for k in 0..<(inputSize * batch) { x[k] = Scalar(points[k]) }
    var input = UnsafePointer(x)
    for (l, layer) in layers.enumerated() {
      let zl = z[l]
      for i in 0..<layer.outputSize {
        (zl + i * batch).update(repeating: Scalar(layer.bias[i]), count: batch)
      }
      weights[l].withUnsafeBufferPointer { w in
        // Z += W X: coefficient (i, j) of W is w[i * inputSize + j].
        Scalar.gemm(
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
    let last = layers.count - 1
    for k in 0..<(layers[last].outputSize * batch) { y[k] = Double(h[last][k]) }
    if let rows {
      for b in 0..<batch { rows.evaluate(b, x: points, y: y) }
    }
  }

  /// The (signed) objective of point `b` of the last forward pass of `points`.
  @_specialize(exported:true,where Scalar == Double)
  @_specialize(exported:true,where Scalar == Float)
  public func value(_ b: Int, _ points: UnsafePointer<Double>) -> Double {
    var out = constant
    for i in 0..<c.count { out += c[i] * y[i * batch + b] }
    for j in 0..<inputSize { out += d[j] * points[j * batch + b] }
    return out - (rows?.values[b] ?? 0)
  }

  /// A hash of point `b`'s activation pattern (last forward pass), as `NetworkKernel.patternHash`.
  public func patternHash(_ b: Int) -> Int {
    var hash = PatternHash()
    for l in 0..<layers.count where layers[l].activation == .relu {
      for i in 0..<layers[l].outputSize { hash.add(z[l][i * batch + b] > 0) }
    }
    return hash.value
  }

  /// Gradients of the (signed) objective at the points of the last forward pass, into `grad`
  /// (`inputSize x batch`): of every point, or of the points `lanes` (increasing indices) only,
  /// the other columns of `grad` left as they were. The backward pass then runs on those
  /// columns alone (gathered, `lanes.count` wide): PPGA needs no gradient at a rejected trial.
  @_specialize(exported:true,where Scalar == Double)
  @_specialize(exported:true,where Scalar == Float)
  public func gradient(into grad: UnsafeMutablePointer<Double>, lanes: [Int]? = nil) {
    let selected = lanes ?? Array(0..<batch)
    let m = selected.count
    guard m > 0 else { return }
    let L = layers.count
    for i in 0..<c.count { (gy + i * batch).update(repeating: c[i], count: batch) }
    if let rows { for b in selected { rows.adjustOutputWeights(gy, b) } }
    // The adjoints from here on are `features x m`, column q being point selected[q].
    for i in 0..<c.count {
      for (q, b) in selected.enumerated() { g[L][i * m + q] = Scalar(gy[i * batch + b]) }
    }
    for l in stride(from: L - 1, through: 0, by: -1) {
      let layer = layers[l]
      let gout = g[l + 1]
      if layer.activation == .relu {
        for i in 0..<layer.outputSize {
          let zi = z[l] + i * batch
          let gi = gout + i * m
          for (q, b) in selected.enumerated() where zi[b] <= 0 { gi[q] = 0 }
        }
      }
      weights[l].withUnsafeBufferPointer { w in
        // Gin = W^T Gout: coefficient (j, i) of W^T is w[i * inputSize + j].
        Scalar.gemm(
          transposeA: true, m: layer.inputSize, n: m, k: layer.outputSize, a: w.baseAddress!,
          b: UnsafePointer(gout), beta: 0, c: g[l])
      }
    }
    for j in 0..<inputSize {
      for (q, b) in selected.enumerated() { grad[j * batch + b] = Double(g[0][j * m + q]) + d[j] }
    }
    if let rows { for b in selected { rows.adjustInputGradient(grad, b) } }
  }
}
