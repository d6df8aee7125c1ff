import Foundation
import Reluc
import RelucBase
import RelucIR
import RelucXML
import Testing

/// Imported networks evaluate like the originals: reference outputs from onnxruntime (ONNX) and
/// a numpy reading of the NNet format (Fixtures/import/make_import.py).
@Suite struct ImportTests {
  static let cases: [(String, String, Double)] = [
    ("ACASXU_run2a_1_1_batch_2000.onnx", "ACASXU_run2a_1_1_batch_2000_onnx", 1e-6),
    ("fc_2-2-3.onnx", "fc_2-2-3_onnx", 1e-6),
    ("test_nano.onnx", "test_nano_onnx", 1e-6),
    ("test_tiny.onnx", "test_tiny_onnx", 1e-6),
    ("test_small.onnx", "test_small_onnx", 1e-6),
    // 784-term float32 sums in onnxruntime: its own rounding is about 1e-5 here.
    ("mnist-net_256x2.onnx", "mnist-net_256x2_onnx", 2e-5),
    ("ACASXU_experimental_v2a_1_1.nnet", "ACASXU_experimental_v2a_1_1_nnet", 1e-9),
    ("fc_2-2-3.nnet", "fc_2-2-3_nnet", 1e-9),
  ]

  static func importNetwork(_ file: String) throws -> Network {
    let path = Fixtures.path("import/" + file)
    let bytes = try #require(readFile(path, limit: 1 << 30))
    if file.hasSuffix(".nnet") {
      return try NNetImporter.parse(String(decoding: bytes, as: UTF8.self))
    }
    return try ONNXImporter.parse(bytes)
  }

  @Test(arguments: cases.map(\.0))
  func importedNetworkMatchesTheReference(_ file: String) throws {
    let fixture = try #require(Self.cases.first { $0.0 == file }.map { ($0.1, $0.2) })
    let net = try Self.importNetwork(file)
    // Through the XML format and back: what a user gets from `reluc import`.
    let dir = NSTemporaryDirectory() + "reluc-import-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try NetworkWriter.xml(net).write(toFile: dir + "/n.xml", atomically: true, encoding: .utf8)
    guard case .success(let read) = NetworkReader().read(path: dir + "/n.xml") else {
      Issue.record("the written XML does not read back")
      return
    }
    #expect(read == net)
    let folded = read.foldingNormalization()
    let lines = Fixtures.read(Fixtures.path("import/\(fixture.0).txt")).split(separator: "\n")
    #expect(lines.count >= 5)
    for line in lines {
      let parts = line.split(separator: ";")
      let x = parts[0].split(separator: " ").compactMap { Double($0) }
      let y = parts[1].split(separator: " ").compactMap { Double($0) }
      for (a, b) in zip(folded.evaluate(x), y) {
        #expect(close(a, b, abs: fixture.1, rel: fixture.1), "\(file): \(a) vs \(b)")
      }
    }
  }

  /// The ACAS Xu NNet (original units) and ONNX (normalized units) files are the same function.
  @Test func acasXuNNetAndONNXAgree() throws {
    let nnet = try Self.importNetwork("ACASXU_experimental_v2a_1_1.nnet")
    let onnx = try Self.importNetwork("ACASXU_run2a_1_1_batch_2000.onnx")
    let inN = try #require(nnet.inputNormalization)
    let outN = try #require(nnet.outputNormalization)
    var rng = Xoshiro256(seed: 4)
    for _ in 0..<100 {
      let x = (0..<5).map { j in
        nnet.inputLower![j] + rng.unit() * (nnet.inputUpper![j] - nnet.inputLower![j])
      }
      let xn = (0..<5).map { (x[$0] - inN.mean[$0]) / inN.scale[$0] }
      let a = nnet.evaluate(x).enumerated().map { ($1 - outN.mean[$0]) / outN.scale[$0] }
      let b = onnx.evaluate(xn)
      for (u, v) in zip(a, b) { #expect(close(u, v, abs: 1e-5, rel: 1e-5)) }
    }
  }

  @Test func unsupportedOperatorIsNamed() throws {
    let bytes = try #require(readFile(Fixtures.path("import/unsupported.onnx")))
    #expect(throws: ImportError("unsupported ONNX operator Sigmoid (node 1 'squash')")) {
      try ONNXImporter.parse(bytes)
    }
  }

  @Test func truncatedONNXIsAnErrorNotACrash() throws {
    let bytes = try #require(readFile(Fixtures.path("import/fc_2-2-3.onnx")))
    for cut in stride(from: 1, to: bytes.count, by: 7) {
      _ = try? ONNXImporter.parse(Array(bytes[0..<cut]))
    }
    let nnet = Fixtures.read(Fixtures.path("import/fc_2-2-3.nnet"))
    for cut in stride(from: 1, to: nnet.utf8.count, by: 5) {
      _ = try? NNetImporter.parse(String(decoding: Array(nnet.utf8)[0..<cut], as: UTF8.self))
    }
  }
}

/// samples/acasxu.rmod: the MILP's optimum and PPGA_LR's point on the imported ACAS Xu network.
@Suite struct ACASXuSampleTests {
  @Test func milpProvesAndPPGALRApproaches() throws {
    let path = Fixtures.repository + "/samples/acasxu.rmod"
    let milp = try #require(Fixtures.problem(path))
    let exact = Solver.solve(milp, SolveContext(timeLimit: 60))
    #expect(exact.status == .optimal)
    // Budgeted by iterations, not time, so the result is the same on any machine.
    let lr = try #require(
      Fixtures.problem(
        path,
        overrides: [
          ("method", .identifier("ppga_lr")), ("starts", .number(8)),
          ("max_iterations", .number(2000)),
        ]))
    let heuristic = Solver.solve(lr, SolveContext(timeLimit: 600))
    #expect(heuristic.status == .feasible)
    let f = try #require(exact.objective)
    let g = try #require(heuristic.objective)
    #expect(g <= f + 1e-6)
    #expect(g >= f - 1e-3 * abs(f))
  }
}
