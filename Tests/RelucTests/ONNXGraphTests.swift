import Foundation
import RelucBase
import RelucIR
import RelucXML
import Testing

@testable import Reluc

/// Issue 19, "wrong networks": the ONNX importer works on the graph, not on the list of nodes.
/// Fixtures from Fixtures/import/make_hostile_onnx.py (references from onnxruntime).
@Suite struct ONNXGraphImportTests {
  /// Valid graphs the old chain walk imported wrongly or not at all: (file, outputs, ReLU layers).
  static let tricky: [(String, Int, Int)] = [
    // The declared output is a pre-activation; an unused Relu reads it.
    ("graph_preact_output", 3, 1),
    // The declared output (2 values) is an intermediate tensor; a Relu and a layer follow it.
    ("graph_intermediate", 2, 1),
    // Unused side branches, one with an unsupported operator (Sigmoid).
    ("graph_side_branches", 2, 1),
    // Nodes listed backwards; shape operations with axes attributes; c - x; Gemm alpha, beta.
    ("graph_out_of_order", 2, 2),
  ]

  /// The reference outputs of a fixture: (x, y) per line.
  static func points(_ name: String) -> [([Double], [Double])] {
    Fixtures.read(Fixtures.path("import/\(name)_onnx.txt")).split(separator: "\n").map { line in
      let parts = line.split(separator: ";")
      return (
        parts[0].split(separator: " ").compactMap { Double($0) },
        parts[1].split(separator: " ").compactMap { Double($0) }
      )
    }
  }

  static func bytes(_ name: String) throws -> [UInt8] {
    try #require(readFile(Fixtures.path("import/\(name).onnx")))
  }

  static func expectReproduces(_ net: Network, _ name: String) {
    let points = Self.points(name)
    #expect(points.count == 20)
    for (x, y) in points {
      let z = net.evaluate(x)
      #expect(z.count == y.count, "\(name): \(z.count) outputs instead of \(y.count)")
      for (a, b) in zip(z, y) {
        #expect(close(a, b, abs: 1e-6, rel: 1e-6), "\(name) at \(x): \(a) vs \(b)")
      }
    }
  }

  @Test(arguments: tricky.map(\.0))
  func trickyGraphMatchesOnnxruntime(_ name: String) throws {
    let expected = try #require(Self.tricky.first { $0.0 == name })
    let net = try ONNXImporter.parse(try Self.bytes(name))
    #expect(net.outputSize == expected.1)
    #expect(net.layers.filter { $0.activation == .relu }.count == expected.2)
    #expect(net.layers.last?.activation == .linear)
    Self.expectReproduces(net, name)
  }

  /// Invalid graphs: the message names the node (or the tensors, or the outputs).
  static let invalid: [(String, String)] = [
    (
      "bad_undefined_input",
      "node 1 'mm2' (MatMul) reads tensor 'ghost', which no node, initializer or graph input defines"
    ),
    (
      "bad_undefined_unused",
      "node 1 'dangling' (Add) reads tensor 'phantom', which no node, initializer or graph input defines"
    ),
    ("bad_cycle", "the graph has a cycle through node 1 'loop_a' (Add)"),
    ("bad_self_cycle", "the graph has a cycle through node 1 'selfish' (Add)"),
    (
      "bad_defined_twice",
      "tensor 'H' is defined twice: by node 0 'mm' (MatMul) and by node 1 'mm_again' (MatMul)"
    ),
    (
      "bad_shadows_initializer",
      "tensor 'W2' is defined twice: as an initializer and by node 1 'shadow' (Relu)"
    ),
    ("bad_two_outputs", "the graph declares 2 outputs ('Y', 'Z'); exactly one is supported"),
    (
      "bad_residual",
      "unsupported ONNX operator Add (node 3 'skip'): it combines tensors 'H1' and 'H3' computed from the graph input; only a chain of operations is supported"
    ),
    // Accepted by onnxruntime (the output has 4 values); the composition would give 2: refused
    // by the check against the graph's own evaluation.
    (
      "bad_broadcast",
      "the imported network does not reproduce the ONNX graph at x = (0.0, 0.0): it has 2 outputs, the graph's output 'Y' has 4 values"
    ),
  ]

  @Test(arguments: invalid.map(\.0))
  func invalidGraphIsRefusedNamingTheNode(_ name: String) throws {
    let message = try #require(Self.invalid.first { $0.0 == name }?.1)
    #expect(throws: ImportError(message)) { try ONNXImporter.parse(try Self.bytes(name)) }
  }

  /// The reference evaluation of the graph agrees with onnxruntime on every ONNX fixture.
  @Test(
    arguments: tricky.map(\.0) + [
      "fc_2-2-3", "test_nano", "test_tiny", "test_small", "ACASXU_run2a_1_1_batch_2000",
    ])
  func referenceEvaluationMatchesOnnxruntime(_ name: String) throws {
    let graph = try ONNXImporter.readModel(try Self.bytes(name))
    var reference = ONNXReference(graph, try ONNXImporter.plan(graph))
    for (x, y) in Self.points(name) {
      let z = try reference.evaluate(x)
      #expect(z.count == y.count)
      for (a, b) in zip(z, y) {
        #expect(close(a, b, abs: 1e-6, rel: 1e-6), "\(name): \(a) vs \(b)")
      }
    }
  }

  /// A composed network that differs from the graph (here by one bias) is refused.
  @Test func aNetworkThatDiffersFromTheGraphIsRefused() throws {
    let graph = try ONNXImporter.readModel(try Self.bytes("graph_preact_output"))
    let plan = try ONNXImporter.plan(graph)
    var net = try ONNXImporter.compose(graph, plan, name: "n")
    try ONNXImporter.verify(net, graph, plan)
    net.layers[1].bias[2] += 1e-6
    #expect(throws: ImportError.self) { try ONNXImporter.verify(net, graph, plan) }
    do {
      try ONNXImporter.verify(net, graph, plan)
    } catch {
      #expect(
        error.message.hasPrefix(
          "the imported network does not reproduce the ONNX graph at x = (0.0, 0.0): output 2 is "))
    }
  }

  /// Variations on a real file (fc_2-2-3, exported by Keras): any order of the node list, an
  /// unused Relu after the output, the output moved to a hidden tensor, undefined and duplicate
  /// tensors, two outputs, a cycle.
  @Test func variationsOfARealGraph() throws {
    let graph = try ONNXImporter.readModel(try Self.bytes("fc_2-2-3"))
    let original = try ONNXImporter.interpret(graph, name: "n")
    var rng = Xoshiro256(seed: 7)
    for _ in 0..<10 {
      var g = graph
      g.nodes.shuffle(using: &rng)
      #expect(try ONNXImporter.interpret(g, name: "n") == original)
    }
    // An unused Relu (and an unused Sigmoid) after the output.
    var g = graph
    g.nodes.append(
      .init(opType: "Relu", name: "late", inputs: [g.outputs[0]], outputs: ["late_out"]))
    g.nodes.insert(
      .init(opType: "Sigmoid", name: "odd", inputs: [g.outputs[0]], outputs: ["odd_out"]), at: 0)
    #expect(try ONNXImporter.interpret(g, name: "n") == original)
    // The output moved to the hidden ReLU's output: one ReLU layer of 2, nothing after it.
    g = graph
    g.outputs = ["dense_12_1/Identity:0"]
    let hidden = try ONNXImporter.interpret(g, name: "n")
    #expect(hidden.outputSize == 2)
    #expect(hidden.layers.map(\.activation) == [.relu])
    #expect(hidden.layers[0].weights == original.layers[0].weights)
    // Its pre-activation.
    g.outputs = ["biased_tensor_name1"]
    #expect(try ONNXImporter.interpret(g, name: "n").layers.map(\.activation) == [.linear])
    // The output is the input: the identity.
    g.outputs = ["dense_12_input"]
    #expect(try ONNXImporter.interpret(g, name: "n").evaluate([0.5, -2]) == [0.5, -2])
    // The output is a constant.
    g.outputs = ["dense_12_1/bias:0"]
    #expect(
      throws: ImportError(
        "the graph output 'dense_12_1/bias:0' does not depend on the graph input 'dense_12_input'")
    ) {
      try ONNXImporter.interpret(g, name: "n")
    }
    g.outputs = ["nowhere"]
    #expect(
      throws: ImportError(
        "the graph output 'nowhere' is not defined by any node, initializer or graph input")
    ) {
      try ONNXImporter.interpret(g, name: "n")
    }
    g.outputs = []
    #expect(throws: ImportError("the graph declares 0 outputs; exactly one is supported")) {
      try ONNXImporter.interpret(g, name: "n")
    }
    // A node reads a tensor nobody defines.
    g = graph
    g.nodes[3].inputs[1] = "lost"
    #expect(
      throws: ImportError(
        "node 3 '\(g.nodes[3].name)' (MatMul) reads tensor 'lost', which no node, initializer or graph input defines"
      )
    ) {
      try ONNXImporter.interpret(g, name: "n")
    }
    // A node redefines the input.
    g = graph
    g.nodes[2].outputs = ["dense_12_input"]
    #expect(
      throws: ImportError(
        "tensor 'dense_12_input' is defined twice: as a graph input and by node 2 '\(g.nodes[2].name)' (Relu)"
      )
    ) {
      try ONNXImporter.interpret(g, name: "n")
    }
    // The first MatMul reads the last node's output: a cycle through all five nodes.
    g = graph
    g.nodes[0].inputs[0] = g.outputs[0]
    #expect(
      throws: ImportError("the graph has a cycle through node 0 '\(g.nodes[0].name)' (MatMul)")
    ) {
      try ONNXImporter.interpret(g, name: "n")
    }
    // A Reshape to an absurd shape (the composition ignores shapes): refused by the graph's
    // evaluation, without trapping on the size.
    g = graph
    g.initializers["bigshape"] = .init(dims: [2], values: [1e18, 1e18])
    g.nodes.insert(
      .init(
        opType: "Reshape", name: "huge", inputs: ["dense_12_input", "bigshape"], outputs: ["r"]),
      at: 0)
    g.nodes[1].inputs[0] = "r"
    #expect(
      throws: ImportError(
        "the ONNX graph cannot be evaluated at node 0 'huge' (Reshape): 1e+18 is not a dimension or an axis"
      )
    ) {
      try ONNXImporter.interpret(g, name: "n")
    }
    g.initializers["bigshape"] = .init(dims: [2], values: [-1, 2])
    #expect(try ONNXImporter.interpret(g, name: "n") == original)
    // The hidden tensor also feeds a second branch that joins the output.
    g = graph
    g.nodes.append(
      .init(
        opType: "Add", name: "join", inputs: [g.outputs[0], "dense_12_1/Identity:0"],
        outputs: ["joined"]))
    g.outputs = ["joined"]
    #expect(throws: ImportError.self) { try ONNXImporter.interpret(g, name: "n") }
  }
}

/// `reluc import` on the same files: exit 65 naming the node; the written network reproduces
/// onnxruntime's outputs.
@Suite(.serialized) struct ExecutableImportTests {
  let binary = Fixtures.repository + "/.build/debug/reluc"

  func run(_ args: [String]) throws -> (Int32, String, String) {
    try Executable.run(args)
  }

  @Test(arguments: ONNXGraphImportTests.invalid.map(\.0))
  func invalidGraphExits65NamingTheNode(_ name: String) throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let message = try #require(ONNXGraphImportTests.invalid.first { $0.0 == name }?.1)
    let dir = NSTemporaryDirectory() + "reluc-import-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = Fixtures.path("import/\(name).onnx")
    let (code, out, err) = try run(["import", path, "-o", dir + "/out.xml"])
    #expect(code == 65)
    #expect(out.isEmpty)
    // Rendered like every diagnostic: the error line, then the compiler-style summary.
    #expect(err == "\(path): error: \(message)\n1 error generated\n")
    #expect(!FileManager.default.fileExists(atPath: dir + "/out.xml"))
  }

  @Test(arguments: ONNXGraphImportTests.tricky.map(\.0))
  func trickyGraphIsWrittenRight(_ name: String) throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = NSTemporaryDirectory() + "reluc-import-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (code, _, err) = try run([
      "import", Fixtures.path("import/\(name).onnx"), "-o", dir + "/out.xml",
    ])
    #expect(code == 0, "\(err)")
    guard case .success(let net) = NetworkReader().read(path: dir + "/out.xml") else {
      Issue.record("the written XML does not read")
      return
    }
    ONNXGraphImportTests.expectReproduces(net, name)
  }
}
