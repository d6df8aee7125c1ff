import RelucBase
import RelucIR

/// A direct evaluation of an ONNX graph, independent of the composition into dense layers: each
/// node's operator is applied to concrete tensors (ONNX semantics: shapes, numpy broadcasting,
/// `MatMul` on 1-D and batched operands, `Gemm`'s attributes), in topological order. The
/// importer checks the network it built against it before returning.
struct ONNXReference {
  struct Value {
    var dims: [Int]
    var values: [Double]
  }

  /// The most values a computed tensor may have (the data path of a network is one vector; a
  /// hostile file must not make the check allocate without bound).
  static let largest = 1 << 22

  let graph: ONNXImporter.Graph
  let plan: ONNXImporter.Plan
  /// The largest magnitude of a value or of a product summed in a matrix product, over the
  /// evaluations so far: the scale of the rounding errors.
  var magnitude = 0.0

  init(_ graph: ONNXImporter.Graph, _ plan: ONNXImporter.Plan) {
    self.graph = graph
    self.plan = plan
  }

  /// The graph's output (flattened) at the input `x` (flattened).
  mutating func evaluate(_ x: [Double]) throws(ImportError) -> [Double] {
    var dims = plan.inputDims.map { $0 > 0 ? $0 : 1 }
    if product(dims) != x.count { dims = [x.count] }
    var values: [String: Value] = [plan.input: Value(dims: dims, values: x)]
    for index in plan.order {
      let node = graph.nodes[index]
      let where_ = ONNXImporter.describe(graph, index)
      func fail(_ why: String) -> ImportError {
        ImportError("the ONNX graph cannot be evaluated at \(where_): \(why)")
      }
      func operand(_ k: Int) throws(ImportError) -> Value? {
        guard k < node.inputs.count, !node.inputs[k].isEmpty else { return nil }
        let name = node.inputs[k]
        if let v = values[name] { return v }
        if let t = graph.initializers[name] { return Value(dims: t.dims, values: t.values) }
        throw fail("tensor '\(name)' has no value")
      }
      func required(_ k: Int) throws(ImportError) -> Value {
        guard let v = try operand(k) else { throw fail("input \(k) is missing") }
        return v
      }
      /// Axes from the input `k` (opset 13 and later) or the attribute `axes` (before).
      func axes(_ k: Int) throws(ImportError) -> [Int]? {
        if let v = try operand(k) { return try integers(v.values) }
        return node.intLists["axes"]
      }
      func integers(_ values: [Double]) throws(ImportError) -> [Int] {
        var r: [Int] = []
        for v in values {
          guard abs(v) <= Double(Self.largest), let i = Int(exactly: v) else {
            throw fail("\(v) is not a dimension or an axis")
          }
          r.append(i)
        }
        return r
      }
      let result: Value
      switch node.opType {
      case "Identity", "Dropout":
        result = try required(0)
      case "Relu":
        var v = try required(0)
        v.values = v.values.map { max($0, 0) }
        result = v
      case "Flatten":
        let v = try required(0)
        var axis = node.ints["axis"] ?? 1
        if axis < 0 { axis += v.dims.count }
        guard axis >= 0, axis <= v.dims.count else {
          throw fail("axis \(axis) for rank \(v.dims.count)")
        }
        guard let outer = product(Array(v.dims[..<axis])),
          let inner = product(Array(v.dims[axis...]))
        else {
          throw fail("dimensions \(v.dims)")
        }
        result = Value(dims: [outer, inner], values: v.values)
      case "Reshape":
        let v = try required(0)
        let shape = try integers(try required(1).values)
        let allowZero = (node.ints["allowzero"] ?? 0) != 0
        var dims = shape.enumerated().map { k, d in
          d == 0 && !allowZero ? (k < v.dims.count ? v.dims[k] : -2) : d
        }
        let unknown = dims.indices.filter { dims[$0] == -1 }
        guard !dims.contains(-2), dims.allSatisfy({ $0 >= -1 }), unknown.count <= 1,
          let known = product(dims.filter { $0 >= 0 })
        else {
          throw fail("shape \(shape) for dimensions \(v.dims)")
        }
        if let u = unknown.first {
          guard known > 0, v.values.count % known == 0 else {
            throw fail("shape \(shape) for dimensions \(v.dims)")
          }
          dims[u] = v.values.count / known
        }
        guard product(dims) == v.values.count else {
          throw fail("shape \(shape) for dimensions \(v.dims)")
        }
        result = Value(dims: dims, values: v.values)
      case "Squeeze":
        let v = try required(0)
        if let a = try axes(1) {
          let normal = Set(a.map { $0 < 0 ? $0 + v.dims.count : $0 })
          guard normal.allSatisfy({ $0 >= 0 && $0 < v.dims.count && v.dims[$0] == 1 }) else {
            throw fail("axes \(a) for dimensions \(v.dims)")
          }
          result = Value(
            dims: v.dims.indices.filter { !normal.contains($0) }.map { v.dims[$0] },
            values: v.values)
        } else {
          result = Value(dims: v.dims.filter { $0 != 1 }, values: v.values)
        }
      case "Unsqueeze":
        let v = try required(0)
        guard let a = try axes(1) else { throw fail("no axes") }
        let rank = v.dims.count + a.count
        let normal = Set(a.map { $0 < 0 ? $0 + rank : $0 })
        guard normal.count == a.count, normal.allSatisfy({ $0 >= 0 && $0 < rank }) else {
          throw fail("axes \(a) for dimensions \(v.dims)")
        }
        var dims: [Int] = []
        var rest = v.dims[...]
        for k in 0..<rank {
          if normal.contains(k) {
            dims.append(1)
          } else {
            dims.append(rest.removeFirst())
          }
        }
        result = Value(dims: dims, values: v.values)
      case "MatMul":
        result = try matmul(try required(0), try required(1), fail)
      case "Gemm":
        var a = try required(0)
        var b = try required(1)
        guard a.dims.count == 2, b.dims.count == 2 else {
          throw fail("operands of dimensions \(a.dims) and \(b.dims)")
        }
        if (node.ints["transA"] ?? 0) != 0 { a = transpose(a) }
        if (node.ints["transB"] ?? 0) != 0 { b = transpose(b) }
        var y = try matmul(a, b, fail)
        let alpha = node.floats["alpha"] ?? 1
        y.values = y.values.map { alpha * $0 }
        if let c = try operand(2) {
          let beta = node.floats["beta"] ?? 1
          let sum = try broadcast(y, c, fail) { $0 + beta * $1 }
          guard sum.dims == y.dims else {
            throw fail("C of dimensions \(c.dims) for a result \(y.dims)")
          }
          y = sum
        }
        result = y
      case "Add": result = try broadcast(try required(0), try required(1), fail) { $0 + $1 }
      case "Sub": result = try broadcast(try required(0), try required(1), fail) { $0 - $1 }
      case "Mul": result = try broadcast(try required(0), try required(1), fail) { $0 * $1 }
      case "Div": result = try broadcast(try required(0), try required(1), fail) { $0 / $1 }
      default:
        throw fail("operator \(node.opType) is not supported")
      }
      for v in result.values { magnitude = max(magnitude, abs(v)) }
      if let out = node.outputs.first, !out.isEmpty { values[out] = result }
    }
    guard let y = values[plan.output] else {
      throw ImportError(
        "the ONNX graph cannot be evaluated: its output '\(plan.output)' has no value")
    }
    return y.values
  }

  /// The product of dimensions, nil above `largest`.
  func product(_ dims: [Int]) -> Int? {
    var p = 1
    for d in dims {
      guard d >= 0 else { return nil }
      let (q, overflow) = p.multipliedReportingOverflow(by: d)
      guard !overflow, q <= Self.largest else { return nil }
      p = q
    }
    return p
  }

  func transpose(_ v: Value) -> Value {
    let (r, c) = (v.dims[0], v.dims[1])
    var t = [Double](repeating: 0, count: r * c)
    for i in 0..<r { for j in 0..<c { t[j * r + i] = v.values[i * c + j] } }
    return Value(dims: [c, r], values: t)
  }

  /// numpy broadcasting of two shapes: the result's dimensions and, for each of its elements in
  /// row-major order, the positions of the operands' elements.
  func broadcastIndices(_ a: [Int], _ b: [Int], _ fail: (String) -> ImportError) throws(ImportError)
    -> (dims: [Int], pairs: [(Int, Int)])
  {
    let rank = max(a.count, b.count)
    let ad = [Int](repeating: 1, count: rank - a.count) + a
    let bd = [Int](repeating: 1, count: rank - b.count) + b
    var dims: [Int] = []
    for k in 0..<rank {
      if ad[k] == bd[k] || bd[k] == 1 {
        dims.append(ad[k])
      } else if ad[k] == 1 {
        dims.append(bd[k])
      } else {
        throw fail("dimensions \(a) and \(b) do not broadcast")
      }
    }
    func strides(_ d: [Int]) -> [Int] {
      var s = [Int](repeating: 0, count: rank)
      var step = 1
      for k in stride(from: rank - 1, through: 0, by: -1) {
        s[k] = d[k] == 1 ? 0 : step
        step *= d[k]
      }
      return s
    }
    let sa = strides(ad)
    let sb = strides(bd)
    guard let total = product(dims) else {
      throw fail("dimensions \(a) and \(b) broadcast to \(dims): too many values")
    }
    var pairs: [(Int, Int)] = []
    pairs.reserveCapacity(total)
    var index = [Int](repeating: 0, count: rank)
    for _ in 0..<total {
      var p = 0
      var q = 0
      for k in 0..<rank {
        p += index[k] * sa[k]
        q += index[k] * sb[k]
      }
      pairs.append((p, q))
      var k = rank - 1
      while k >= 0 {
        index[k] += 1
        if index[k] < dims[k] { break }
        index[k] = 0
        k -= 1
      }
    }
    return (dims, pairs)
  }

  func broadcast(
    _ a: Value, _ b: Value, _ fail: (String) -> ImportError, _ f: (Double, Double) -> Double
  )
    throws(ImportError) -> Value
  {
    let (dims, pairs) = try broadcastIndices(a.dims, b.dims, fail)
    return Value(dims: dims, values: pairs.map { f(a.values[$0.0], b.values[$0.1]) })
  }

  /// numpy's matmul: a 1-D operand is a row (left) or a column (right) vector whose dimension is
  /// dropped from the result; leading dimensions broadcast.
  mutating func matmul(_ a: Value, _ b: Value, _ fail: (String) -> ImportError) throws(ImportError)
    -> Value
  {
    var ad = a.dims
    var bd = b.dims
    guard !ad.isEmpty, !bd.isEmpty else { throw fail("a scalar operand") }
    if ad.count == 1 { ad.insert(1, at: 0) }
    if bd.count == 1 { bd.append(1) }
    let (m, k) = (ad[ad.count - 2], ad[ad.count - 1])
    let (k2, n) = (bd[bd.count - 2], bd[bd.count - 1])
    guard k == k2 else { throw fail("operands of dimensions \(a.dims) and \(b.dims)") }
    let (batch, pairs) = try broadcastIndices(Array(ad.dropLast(2)), Array(bd.dropLast(2)), fail)
    guard let count = product([pairs.count, m, n]) else {
      throw fail("operands of dimensions \(a.dims) and \(b.dims): too many values")
    }
    var out = [Double](repeating: 0, count: count)
    var largest = magnitude
    for (t, (p, q)) in pairs.enumerated() {
      let ao = p * m * k
      let bo = q * k * n
      let oo = t * m * n
      for i in 0..<m {
        for j in 0..<n {
          var s = 0.0
          for l in 0..<k {
            let term = a.values[ao + i * k + l] * b.values[bo + l * n + j]
            largest = max(largest, abs(term))
            s += term
          }
          out[oo + i * n + j] = s
        }
      }
    }
    magnitude = largest
    var dims = batch + [m, n]
    if b.dims.count == 1 { dims.removeLast() }
    if a.dims.count == 1 { dims.remove(at: dims.count - (b.dims.count == 1 ? 1 : 2)) }
    return Value(dims: dims, values: out)
  }
}

extension ONNXImporter {
  /// Evaluates the graph and the network at a few deterministic points (the origin and points
  /// drawn in the input bounds, or in [-1, 1] without bounds) and throws if they differ by more
  /// than rounding: a wrong network is never returned.
  static func verify(_ net: Network, _ g: Graph, _ plan: Plan) throws(ImportError) {
    var reference = ONNXReference(g, plan)
    var rng = Xoshiro256(seed: 19)
    let n = net.inputSize
    var points = [[Double](repeating: 0, count: n)]
    for _ in 0..<4 {
      points.append(
        (0..<n).map { j in
          let lo = net.inputLower?[j] ?? -1
          let hi = net.inputUpper?[j] ?? 1
          return lo + rng.unit() * (hi - lo)
        })
    }
    for x in points {
      let expected = try reference.evaluate(x)
      let got = net.evaluate(x)
      let at =
        x.count <= 8
        ? "x = (\(x.map { "\($0)" }.joined(separator: ", ")))" : "a point of \(x.count) inputs"
      guard expected.count == got.count else {
        throw ImportError(
          "the imported network does not reproduce the ONNX graph at \(at): it has \(got.count) outputs, the graph's output '\(plan.output)' has \(expected.count) values"
        )
      }
      let tolerance = 1e-9 * (1 + reference.magnitude)
      for (i, (a, b)) in zip(got, expected).enumerated() where a != b && !(abs(a - b) <= tolerance)
      {
        throw ImportError(
          "the imported network does not reproduce the ONNX graph at \(at): output \(i) is \(a), the graph gives \(b)"
        )
      }
    }
  }
}
