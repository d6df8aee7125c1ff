import Reluc
import RelucBase
import RelucIR
import RelucXML
import Testing

/// Inputs the libFuzzer targets (fuzz/README.md) once crashed on, in Fixtures/fuzz, replayed
/// through the same entry points and oracles: each must come back as diagnostics or an
/// ImportError, and a network an importer or the reader accepts must be written and read back.
@Suite struct FuzzRegressionTests {
  static let files =
    Fixtures.files("fuzz", ext: "nnet") + Fixtures.files("fuzz", ext: "onnx")
    + Fixtures.files("fuzz", ext: "xml") + Fixtures.files("fuzz", ext: "rmod")

  static func rereads(_ net: Network) -> Bool {
    if case .success = NetworkReader().parse(
      Array(NetworkWriter.xml(net).utf8), path: "written.xml")
    {
      return true
    }
    return false
  }

  @Test(arguments: files) func replays(_ name: String) throws {
    let bytes = try #require(readFile(Fixtures.path("fuzz/" + name)))
    if name.hasSuffix(".nnet") {
      if let net = try? NNetImporter.parse(String(decoding: bytes, as: UTF8.self)) {
        #expect(Self.rereads(net))
      }
    } else if name.hasSuffix(".onnx") {
      if let net = try? ONNXImporter.parse(bytes) { #expect(Self.rereads(net)) }
    } else if name.hasSuffix(".xml") {
      if case .success(let net) = NetworkReader().parse(bytes, path: name) {
        #expect(Self.rereads(net))
      }
    } else {
      _ = Compiler.compile(path: Fixtures.path("fuzz/" + name))
      // fuzz-model's oracle: formatting a model that parses is idempotent.
      let (syntax, bag) = Parser.parse(SourceFile(path: name, bytes: bytes))
      if !bag.hasErrors {
        let once = Formatter.format(syntax)
        #expect(Formatter.format(Parser.parse(SourceFile(path: name, text: once)).0) == once)
      }
    }
  }

  /// Found by fuzz-nnet: input minimums above the maximums were imported, and the XML written
  /// from them was then rejected (xml-bounds-cross).
  @Test func nnetCrossedBoundsAreAnImportError() throws {
    let bytes = try #require(readFile(Fixtures.path("fuzz/nnet_crossed_bounds.nnet")))
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(
      throws: ImportError(
        "the bounds of input 0 cross: minimum 1100000.0 > maximum 100000.0", line: 6)
    ) {
      try NNetImporter.parse(text)
    }
  }

  /// Found by fuzz-nnet: a layer size beyond Int.max ("6e66") trapped converting it to Int.
  @Test func nnetHugeLayerSizeIsAnImportError() throws {
    let bytes = try #require(readFile(Fixtures.path("fuzz/nnet_huge_layer_size.nnet")))
    #expect(throws: ImportError("the layer sizes do not match the header", line: 2)) {
      try NNetImporter.parse(String(decoding: bytes, as: UTF8.self))
    }
  }

  /// Found by fuzz-onnx: a tensor data type varint above Int.max trapped converting it to Int.
  @Test func onnxHugeDataTypeIsAnImportError() throws {
    let bytes = try #require(readFile(Fixtures.path("fuzz/onnx_huge_data_type.onnx")))
    #expect(throws: ImportError.self) { try ONNXImporter.parse(bytes) }
  }
}
