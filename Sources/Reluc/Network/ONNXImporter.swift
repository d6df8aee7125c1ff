import RelucBase
import RelucIR

/// Imports the fully connected ReLU subset of ONNX. The importer works on the graph: every
/// tensor is defined exactly once, every tensor read is defined, there is no cycle and one
/// declared output (`ONNXGraph.swift`); the nodes that output depends on, in topological order,
/// must form a chain of `Gemm` (transA = 0, any transB, alpha, beta), `MatMul` with the constant
/// on either side, `Add`/`Sub`/`Mul`/`Div` by constants, `Relu`, and the shape-only `Flatten`,
/// `Reshape`, `Squeeze`, `Unsqueeze`, `Identity`; other nodes are ignored. Linear operations
/// between two ReLUs are composed into one affine layer. Anything else is an error that names the
/// operator, the node and its index. The network is checked against a direct evaluation of the
/// graph (`ONNXReference.swift`) before it is returned.
public enum ONNXImporter {
  struct Tensor {
    var dims: [Int]
    var values: [Double]
  }

  struct Node {
    var opType: String
    var name: String
    var inputs: [String]
    var outputs: [String]
    var ints: [String: Int] = [:]
    var floats: [String: Double] = [:]
    var intLists: [String: [Int]] = [:]
  }

  struct Graph {
    var nodes: [Node] = []
    var initializers: [String: Tensor] = [:]
    var inputs: [(String, [Int])] = []
    var outputs: [String] = []
  }

  /// Converts an ONNX model's bytes to a network.
  public static func parse(_ bytes: [UInt8], name: String = "onnx") throws(ImportError) -> Network {
    let graph = try readModel(bytes)
    return try interpret(graph, name: name)
  }

  // MARK: Decoding

  static func readModel(_ bytes: [UInt8]) throws(ImportError) -> Graph {
    var r = ProtoReader(bytes)
    var graph: Graph? = nil
    while !r.atEnd {
      let (number, wire) = try r.field()
      if number == 7, wire == 2 {
        graph = try readGraph(r.sub(try r.lengthDelimited()))
      } else {
        try r.skip(wire)
      }
    }
    guard let graph else { throw ImportError("not an ONNX model (no graph)") }
    return graph
  }

  static func readGraph(_ reader: ProtoReader) throws(ImportError) -> Graph {
    var g = Graph()
    try reader.forEachLengthDelimited { number, field throws(ImportError) in
      switch number {
      case 1: g.nodes.append(try readNode(field))
      case 5:
        let (name, t) = try readTensor(field)
        if g.initializers[name] != nil {
          throw ImportError("initializer '\(name)' is defined twice")
        }
        g.initializers[name] = t
      case 11: g.inputs.append(try readValueInfo(field))
      case 12: g.outputs.append(try readValueInfo(field).0)
      default: break
      }
    }
    return g
  }

  static func readNode(_ reader: ProtoReader) throws(ImportError) -> Node {
    var n = Node(opType: "", name: "", inputs: [], outputs: [])
    try reader.forEachLengthDelimited { number, field throws(ImportError) in
      switch number {
      case 1: n.inputs.append(field.text)
      case 2: n.outputs.append(field.text)
      case 3: n.name = field.text
      case 4: n.opType = field.text
      case 5:
        var a = field
        var attrName = ""
        var i: Int? = nil
        var f: Double? = nil
        var list: [Int]? = nil
        while !a.atEnd {
          let (an, aw) = try a.field()
          switch (an, aw) {
          case (1, 2): attrName = a.string(try a.lengthDelimited())
          case (2, 5): f = Double(Float(bitPattern: try a.fixed32()))
          case (3, 0): i = Int(truncatingIfNeeded: Int64(bitPattern: try a.varint()))
          case (8, 0):
            list = (list ?? []) + [Int(truncatingIfNeeded: Int64(bitPattern: try a.varint()))]
          case (8, 2):
            var p = a.sub(try a.lengthDelimited())
            var l = list ?? []
            while !p.atEnd { l.append(Int(truncatingIfNeeded: Int64(bitPattern: try p.varint()))) }
            list = l
          default: try a.skip(aw)
          }
        }
        if let i { n.ints[attrName] = i }
        if let f { n.floats[attrName] = f }
        if let list { n.intLists[attrName] = list }
      default: break
      }
    }
    return n
  }

  static func readTensor(_ reader: ProtoReader) throws(ImportError) -> (String, Tensor) {
    var r = reader
    var dims: [Int] = []
    var type = 1
    var name = ""
    var values: [Double] = []
    var raw: Range<Int>? = nil
    while !r.atEnd {
      let (number, wire) = try r.field()
      switch (number, wire) {
      case (1, 0): dims.append(Int(truncatingIfNeeded: Int64(bitPattern: try r.varint())))
      case (1, 2):
        var p = r.sub(try r.lengthDelimited())
        while !p.atEnd { dims.append(Int(truncatingIfNeeded: Int64(bitPattern: try p.varint()))) }
      case (2, 0): type = Int(truncatingIfNeeded: Int64(bitPattern: try r.varint()))
      case (4, 2):
        var p = r.sub(try r.lengthDelimited())
        while !p.atEnd { values.append(Double(Float(bitPattern: try p.fixed32()))) }
      case (4, 5): values.append(Double(Float(bitPattern: try r.fixed32())))
      case (10, 2):
        var p = r.sub(try r.lengthDelimited())
        while !p.atEnd { values.append(Double(bitPattern: try p.fixed64())) }
      case (10, 1): values.append(Double(bitPattern: try r.fixed64()))
      case (8, 2): name = r.string(try r.lengthDelimited())
      case (9, 2): raw = try r.lengthDelimited()
      case (14, 2):
        throw ImportError(
          "tensor '\(name)' keeps its data in an external file, which is not supported")
      default: try r.skip(wire)
      }
    }
    if let raw {
      let b = r.bytes
      /// The little-endian words of the raw data, `width` bytes each.
      func words(_ width: Int) throws(ImportError) -> [UInt64] {
        guard raw.count % width == 0 else {
          throw ImportError("tensor '\(name)': bad raw data length")
        }
        return stride(from: raw.lowerBound, to: raw.upperBound, by: width).map { p in
          var v: UInt64 = 0
          for k in 0..<width { v |= UInt64(b[p + k]) << (8 * UInt64(k)) }
          return v
        }
      }
      switch type {
      case 1: values = try words(4).map { Double(Float(bitPattern: UInt32($0))) }
      case 11: values = try words(8).map { Double(bitPattern: $0) }
      case 7: values = try words(8).map { Double(Int64(bitPattern: $0)) }
      default:
        throw ImportError(
          "tensor '\(name)' has data type \(type); only float, double and int64 are supported")
      }
    }
    var count: Int? = 1
    for d in dims {
      guard let c = count, d >= 0 else {
        count = nil
        break
      }
      let (p, overflow) = c.multipliedReportingOverflow(by: d)
      count = overflow ? nil : p
    }
    if values.count != count, !(dims.isEmpty && values.count == 1) {
      throw ImportError("tensor '\(name)' has \(values.count) values for dims \(dims)")
    }
    if values.contains(where: { !$0.isFinite }) {
      throw ImportError("tensor '\(name)' has a value that is not finite (NaN or infinity)")
    }
    return (name, Tensor(dims: dims, values: values))
  }

  static func readValueInfo(_ reader: ProtoReader) throws(ImportError) -> (String, [Int]) {
    var r = reader
    var name = ""
    var dims: [Int] = []
    while !r.atEnd {
      let (number, wire) = try r.field()
      if number == 1, wire == 2 {
        name = r.string(try r.lengthDelimited())
      } else if number == 2, wire == 2 {
        // TypeProto.tensor_type(1).shape(2).dim(1).dim_value(1); a dim_param counts as -1.
        let type = r.sub(try r.lengthDelimited())
        for tensor in try type.submessages(1) {
          for shape in try tensor.submessages(2) {
            for dim in try shape.submessages(1) {
              dims.append(try dim.varintField(1).map { Int(truncatingIfNeeded: $0) } ?? -1)
            }
          }
        }
      } else {
        try r.skip(wire)
      }
    }
    return (name, dims)
  }

  // MARK: Interpretation

  /// The affine map pending since the last ReLU: `v -> A v + c`, A being the identity until set.
  struct Affine {
    var rows: Int
    var cols: Int
    var matrix: [Double]?  // nil: identity
    var shift: [Double]

    func entry(_ i: Int, _ j: Int) -> Double { matrix?[i * cols + j] ?? (i == j ? 1 : 0) }

    mutating func premultiply(_ w: [Double], rows r: Int) {
      // new A = W A (W is r x rows), new c = W c.
      var a = [Double](repeating: 0, count: r * cols)
      var c = [Double](repeating: 0, count: r)
      for i in 0..<r {
        for k in 0..<rows {
          let wik = w[i * rows + k]
          if wik == 0 { continue }
          c[i] += wik * shift[k]
          if let m = matrix {
            for j in 0..<cols { a[i * cols + j] += wik * m[k * cols + j] }
          } else {
            a[i * cols + k] += wik
          }
        }
      }
      matrix = a
      shift = c
      rows = r
    }

    mutating func scale(_ s: [Double]) {
      let m = matrix ?? (0..<(rows * cols)).map { ($0 / cols == $0 % cols) ? 1.0 : 0.0 }
      var a = m
      for i in 0..<rows {
        for j in 0..<cols { a[i * cols + j] *= s[i] }
        shift[i] *= s[i]
      }
      matrix = a
    }

    var isIdentity: Bool { matrix == nil && shift.allSatisfy { $0 == 0 } }
  }

  /// The network that computes the graph's declared output from its data input, checked against
  /// a direct evaluation of the graph (`ONNXReference`) before it is returned.
  static func interpret(_ g: Graph, name: String) throws(ImportError) -> Network {
    let plan = try plan(g)
    let net = try compose(g, plan, name: name)
    try verify(net, g, plan)
    return net
  }

  /// Composes the nodes of `plan` (a chain of unary operations on the data, with constants as
  /// the other operands) into dense layers.
  static func compose(_ g: Graph, _ plan: Plan, name: String) throws(ImportError) -> Network {
    let inputDims = plan.inputDims
    // Size: the product of the known dimensions (a batch dimension, symbolic or 1, is ignored).
    var size = 1
    for d in inputDims where d > 0 {
      let (p, overflow) = size.multipliedReportingOverflow(by: d)
      guard !overflow, p <= ONNXReference.largest else {
        throw ImportError(
          "the graph input '\(plan.input)' has dimensions \(inputDims): too many values")
      }
      size = p
    }
    if inputDims.isEmpty || inputDims.allSatisfy({ $0 <= 0 }) { size = -1 }
    var current = plan.input
    // The tensors computed from the data input.
    var variable: Set<String> = [plan.input]
    var pending: Affine? =
      size > 0
      ? Affine(rows: size, cols: size, matrix: nil, shift: [Double](repeating: 0, count: size))
      : nil
    var layers: [DenseLayer] = []

    func constant(_ node: Node, _ index: Int) throws(ImportError) -> (Tensor, Int)? {
      // The operand that is not `current`: (tensor, its position), or nil.
      for (k, i) in node.inputs.enumerated() where i != current && !i.isEmpty {
        guard let t = g.initializers[i] else {
          throw ImportError(
            "node \(index) '\(node.name)' (\(node.opType)): input '\(i)' is neither the data path nor a constant"
          )
        }
        return (t, k)
      }
      return nil
    }
    func unsupported(_ node: Node, _ index: Int, _ why: String = "") -> ImportError {
      ImportError(
        "unsupported ONNX operator \(node.opType) (node \(index) '\(node.name)')"
          + (why.isEmpty ? "" : ": " + why))
    }
    func broadcast(_ t: Tensor, _ n: Int, _ node: Node, _ index: Int) throws(ImportError)
      -> [Double]
    {
      if t.values.count == 1 { return [Double](repeating: t.values[0], count: n) }
      guard t.values.count == n else {
        throw unsupported(
          node, index, "a constant of \(t.values.count) values for a vector of \(n)")
      }
      return t.values
    }

    for index in plan.order {
      let node = g.nodes[index]
      // The chain: each node reads exactly one tensor computed from the data, the last one.
      let fromData = node.inputs.filter { variable.contains($0) }
      guard let data = fromData.first else {
        throw unsupported(
          node, index, "none of its inputs depends on the graph input '\(plan.input)'")
      }
      guard fromData.count == 1 else {
        let names = fromData.map { "'\($0)'" }.joined(separator: " and ")
        throw unsupported(
          node, index,
          "it combines tensors \(names) computed from the graph input; only a chain of operations is supported"
        )
      }
      guard data == current else {
        throw unsupported(
          node, index,
          "it reads '\(data)' while the chain has reached '\(current)'; only a chain of operations is supported"
        )
      }
      guard let out = node.outputs.first, !out.isEmpty else {
        throw unsupported(node, index, "no output")
      }
      for o in node.outputs where !o.isEmpty { variable.insert(o) }
      switch node.opType {
      case "Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Dropout":
        break
      case "Relu":
        guard let a = pending else { throw unsupported(node, index, "the input size is unknown") }
        layers.append(try layer(a, .relu, layers.count))
        pending = Affine(
          rows: a.rows, cols: a.rows, matrix: nil, shift: [Double](repeating: 0, count: a.rows))
      case "MatMul", "Gemm":
        guard let (t, position) = try constant(node, index), t.dims.count == 2 || t.dims.count == 1
        else {
          throw unsupported(node, index, "needs a constant 2-D weight")
        }
        var r = t.dims[0]
        var c = t.dims.count == 2 ? t.dims[1] : 1
        var w = t.values  // r x c row-major
        var transposed: Bool
        if node.opType == "Gemm" {
          if node.ints["transA"] ?? 0 != 0 || position != 1 {
            throw unsupported(
              node, index, "only Y = alpha X B' + beta C with X the data is supported")
          }
          transposed = node.ints["transB"] ?? 0 == 0  // X B: B is in x out, so W = B^T
        } else {
          transposed = position == 1  // x W (W in x out) -> W^T; W x (W out x in) -> W
        }
        if transposed {
          var wt = [Double](repeating: 0, count: r * c)
          for i in 0..<r { for j in 0..<c { wt[j * r + i] = w[i * c + j] } }
          w = wt
          swap(&r, &c)
        }
        // w is out (r) x in (c).
        if pending == nil {
          pending = Affine(rows: c, cols: c, matrix: nil, shift: [Double](repeating: 0, count: c))
        }
        guard var a = pending, a.rows == c else {
          throw unsupported(
            node, index, "weight of shape \(t.dims) does not fit a vector of \(pending?.rows ?? 0)")
        }
        let alpha = node.floats["alpha"] ?? 1
        if alpha != 1 { w = w.map { $0 * alpha } }
        a.premultiply(w, rows: r)
        if node.opType == "Gemm", node.inputs.count > 2, let ct = g.initializers[node.inputs[2]] {
          let beta = node.floats["beta"] ?? 1
          let bias = try broadcast(ct, r, node, index)
          for i in 0..<r { a.shift[i] += beta * bias[i] }
        }
        pending = a
      case "Add", "Sub", "Mul", "Div":
        guard var a = pending, let (t, position) = try constant(node, index) else {
          throw unsupported(node, index, "needs a constant operand and a known input size")
        }
        let v = try broadcast(t, a.rows, node, index)
        switch (node.opType, position) {
        case ("Add", _): for i in 0..<a.rows { a.shift[i] += v[i] }
        case ("Sub", 1): for i in 0..<a.rows { a.shift[i] -= v[i] }
        case ("Sub", _):  // c - x
          a.scale([Double](repeating: -1, count: a.rows))
          for i in 0..<a.rows { a.shift[i] += v[i] }
        case ("Mul", _): a.scale(v)
        case ("Div", 1):
          guard !v.contains(0) else { throw unsupported(node, index, "division by zero") }
          a.scale(v.map { 1 / $0 })
        default: throw unsupported(node, index, "division by the data")
        }
        pending = a
      default:
        throw unsupported(node, index)
      }
      current = out
    }
    guard current == plan.output else {
      throw ImportError(
        "the graph output '\(plan.output)' does not depend on the graph input '\(plan.input)'")
    }
    guard var last = pending else { throw ImportError("the graph has no operation on its input") }
    if !last.isIdentity || layers.isEmpty {
      layers.append(try layer(last, .linear, layers.count))
    }
    last.rows = 0
    guard let first = layers.first else { throw ImportError("the graph computes nothing") }
    if size > 0, first.inputSize != size {
      throw ImportError("the input has \(size) values but the first layer takes \(first.inputSize)")
    }
    return Network(name: name, inputName: "x", outputName: "y", layers: layers)
  }

  static func layer(_ a: Affine, _ act: Activation, _ k: Int) throws(ImportError) -> DenseLayer {
    let w = a.matrix ?? (0..<(a.rows * a.cols)).map { ($0 / a.cols == $0 % a.cols) ? 1.0 : 0.0 }
    return DenseLayer(
      name: "layer\(k + 1)", inputSize: a.cols, outputSize: a.rows, weights: w, bias: a.shift,
      activation: act)
  }
}
