import RelucBase
import RelucIR

/// A linear form `sum a_j x_j + sum c_i y_i + k` over the network's inputs x and outputs y.
struct Affine: Equatable {
  var x: [Int: Double] = [:]
  var y: [Int: Double] = [:]
  var constant: Double = 0

  static func constant(_ v: Double) -> Affine { Affine(constant: v) }

  var isConstant: Bool { x.isEmpty && y.isEmpty }

  func scaled(_ s: Double) -> Affine {
    Affine(x: x.mapValues { $0 * s }, y: y.mapValues { $0 * s }, constant: constant * s)
  }

  /// Adds `s * b` in place, in time proportional to `b` (not to `self`): zero coefficients are
  /// kept until `prune()`, so a sum of n terms costs O(n), not O(n^2).
  mutating func add(_ b: Affine, times s: Double = 1) {
    for (k, v) in b.x { x[k, default: 0] += s * v }
    for (k, v) in b.y { y[k, default: 0] += s * v }
    constant += s * b.constant
  }

  /// Drops the zero coefficients (cancelled terms).
  mutating func prune() {
    if x.values.contains(0) { x = x.filter { $0.value != 0 } }
    if y.values.contains(0) { y = y.filter { $0.value != 0 } }
  }

  static func + (a: Affine, b: Affine) -> Affine {
    var r = a
    r.add(b)
    r.prune()
    return r
  }

  static func - (a: Affine, b: Affine) -> Affine {
    var r = a
    r.add(b, times: -1)
    r.prune()
    return r
  }
}

/// The value of an expression during lowering: a scalar form or a vector of forms.
enum Value: Equatable {
  case scalar(Affine)
  case vector([Affine])

  var components: [Affine] {
    switch self {
    case .scalar(let a): return [a]
    case .vector(let v): return v
    }
  }

  var isConstant: Bool { components.allSatisfy(\.isConstant) }
}
