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

  static func + (a: Affine, b: Affine) -> Affine {
    var r = a
    for (k, v) in b.x { r.x[k, default: 0] += v }
    for (k, v) in b.y { r.y[k, default: 0] += v }
    r.constant += b.constant
    r.x = r.x.filter { $0.value != 0 }
    r.y = r.y.filter { $0.value != 0 }
    return r
  }

  static func - (a: Affine, b: Affine) -> Affine { a + b.scaled(-1) }
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
