import RelucBase
import RelucIR

/// Bounds on the pre-activations of every layer, for a box of inputs.
public struct PreactivationBounds: Sendable, Equatable {
  /// Lower bound of each neuron's pre-activation, per layer.
  public var lower: [[Double]]
  /// Upper bound of each neuron's pre-activation, per layer.
  public var upper: [[Double]]

  /// The neurons of layer `l` that are neither proven active nor proven inactive.
  public func unstable(_ l: Int) -> [Int] {
    (0..<lower[l].count).filter { lower[l][$0] < 0 && upper[l][$0] > 0 }
  }

  /// Neurons proven always active (lower >= 0) and always inactive (upper <= 0), over ReLU layers.
  public func stableCounts(_ network: Network) -> (active: Int, inactive: Int, unstable: Int) {
    var a = 0
    var i = 0
    var u = 0
    for (l, layer) in network.layers.enumerated() where layer.activation == .relu {
      for k in 0..<layer.outputSize {
        if lower[l][k] >= 0 { a += 1 } else if upper[l][k] <= 0 { i += 1 } else { u += 1 }
      }
    }
    return (a, i, u)
  }
}

/// Interval arithmetic, layer by layer:
/// `z_lo = b + W+ h_lo + W- h_hi`, `z_hi = b + W+ h_hi + W- h_lo`, then `h = relu(z)`.
///
/// Soundness under rounding: every bound is widened by `1e-12 (1 + sum |w_ij| |h_j| + |b_i|)`,
/// which covers the floating-point error of the sums (at most n ulp of the absolute sum, far below
/// this margin for n < 10^6). A bound none of whose products is nonzero is the bias, computed
/// exactly, and is not widened: a pre-activation whose lower bound is exactly 0 (a ReLU fed only
/// by nonnegative weights on inputs whose lower bound is 0, with bias 0) stays provably
/// nonnegative, so the MILP gives it no binary.
public func intervalBounds(_ network: Network, lower: [Double], upper: [Double])
  -> PreactivationBounds
{
  var hl = lower
  var hu = upper
  var result = PreactivationBounds(lower: [], upper: [])
  for layer in network.layers {
    let (zl, zu) = intervalStep(layer, lower: hl, upper: hu)
    result.lower.append(zl)
    result.upper.append(zu)
    if layer.activation == .relu {
      hl = zl.map { max(0, $0) }
      hu = zu.map { max(0, $0) }
    } else {
      hl = zl
      hu = zu
    }
  }
  return result
}

/// One layer of `intervalBounds`: the pre-activation bounds of `layer` when its inputs lie in
/// `[lower, upper]` (the same widening).
func intervalStep(_ layer: DenseLayer, lower hl: [Double], upper hu: [Double])
  -> (lower: [Double], upper: [Double])
{
  let n = layer.inputSize
  var zl = [Double](repeating: 0, count: layer.outputSize)
  var zu = zl
  let magnitude = zip(hl, hu).map { max(abs($0), abs($1)) }
  layer.weights.withUnsafeBufferPointer { w in
    hl.withUnsafeBufferPointer { hl in
      hu.withUnsafeBufferPointer { hu in
        magnitude.withUnsafeBufferPointer { m in
          for i in 0..<layer.outputSize {
            let b = layer.bias[i]
            var lo = b
            var hi = b
            var mag = abs(b)
            // Whether a nonzero product entered the lower (upper) sum: else that sum is exact.
            var loInexact = false
            var hiInexact = false
            let row = i * n
            for j in 0..<n {
              let wij = w[row + j]
              let (fl, fu) = wij >= 0 ? (hl[j], hu[j]) : (hu[j], hl[j])
              lo += wij * fl
              hi += wij * fu
              // A product is exact (0) only when a factor is 0 (not when it underflows).
              loInexact = loInexact || (wij != 0 && fl != 0)
              hiInexact = hiInexact || (wij != 0 && fu != 0)
              mag += abs(wij) * m[j]
            }
            let margin = 1e-12 * (1 + mag)
            zl[i] = loInexact ? lo - margin : lo
            zu[i] = hiInexact ? hi + margin : hi
          }
        }
      }
    }
  }
  widenNaN(&zl, &zu)
  return (zl, zu)
}

/// Bounds that overflowed into NaN (infinities of both signs in one sum) become infinite:
/// a NaN would pass for 0 through `max(0, z)` and make every later bound unsound.
func widenNaN(_ zl: inout [Double], _ zu: inout [Double]) {
  for i in zl.indices where zl[i].isNaN { zl[i] = -.infinity }
  for i in zu.indices where zu[i].isNaN { zu[i] = .infinity }
}

/// The interval bounds of a problem's network over its inputs' variable bounds.
public func intervalBounds(of problem: Problem) -> PreactivationBounds {
  intervalBounds(problem.network, lower: problem.polytope.lower, upper: problem.polytope.upper)
}
