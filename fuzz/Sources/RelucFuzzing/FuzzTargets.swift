// The libFuzzer targets (fuzz/README.md): one function per input kind, each feeding one input to
// the library entry point the command line uses, with an oracle where there is a cheap one. A
// target traps (fatalError, or a Swift runtime trap) only on a bug; every rejected input must come
// back as diagnostics or an ImportError.
import CLibFuzzer
import Reluc
import RelucBase
import RelucIR
import RelucXML

#if canImport(Glibc)
  import Glibc
#endif

/// Hands the process to libFuzzer with `callback` as the target; libFuzzer reads the usual flags
/// (-max_total_time, -timeout, -rss_limit_mb, -max_len, corpus folders, crash files) from argv.
public func runLibFuzzer(
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Never {
  var argc = CommandLine.argc
  var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
  exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}

public enum FuzzTargets {
  /// Largest network file the model target's lowering reads.
  static let maxNetworkBytes = 1 << 20

  /// A private folder holding `tiny.xml`, next to which the fuzzed model "is": the seed models
  /// say `network "tiny.xml"`, so lowering gets past the network statement.
  static let modelDirectory: String = {
    var template = Array("/tmp/reluc-fuzz-XXXXXX".utf8CString)
    guard let dir = mkdtemp(&template) else { fatalError("reluc-fuzz: mkdtemp failed") }
    let path = String(cString: dir)
    let net = path + "/tiny.xml"
    guard let f = fopen(net, "wb") else { fatalError("reluc-fuzz: cannot write \(net)") }
    _ = tinyNetwork.utf8CString.withUnsafeBufferPointer {
      fwrite($0.baseAddress, 1, $0.count - 1, f)
    }
    fclose(f)
    return path
  }()

  /// Whether the formatter's output is checked (parses again, to the same text); RELUC_FUZZ_FMT=0
  /// turns the check off, to fuzz lowering past a known formatter bug.
  static let checkFormatter = getenv("RELUC_FUZZ_FMT").map { String(cString: $0) } != "0"

  /// Model front end: parse, format (must reparse without error to the same text), lower against
  /// `tiny.xml`, render the diagnostics. Invalid UTF-8 stops where `Compiler.parse` stops.
  public static func model(_ input: UnsafeBufferPointer<UInt8>) {
    let bytes = Array(input)
    let file = SourceFile(path: modelDirectory + "/fuzz.rmod", bytes: bytes)
    var sources = SourceManager()
    sources.add(file)
    guard String(validating: bytes, as: UTF8.self) != nil else { return }
    let (syntax, bag) = Parser.parse(file)
    var diagnostics = bag
    if !bag.hasErrors {
      let text = Formatter.format(syntax)
      let (again, bag2) = Parser.parse(SourceFile(path: "formatted.rmod", text: text))
      if checkFormatter && bag2.hasErrors {
        fatalError("reluc-fuzz: the formatted model does not parse:\n\(text)")
      }
      if checkFormatter && Formatter.format(again) != text {
        fatalError("reluc-fuzz: fmt is not idempotent:\n\(text)")
      }
      var lowering = Lowering(model: syntax, maxNetworkBytes: maxNetworkBytes)
      let (_, d) = lowering.lower()
      diagnostics.add(contentsOf: d)
      for net in lowering.networkFiles
      where d.all.contains(where: { $0.location?.path == net.path }) {
        sources.attach(path: net.path, bytes: net.bytes)
      }
    }
    _ = DiagnosticRenderer(sources: sources).render(diagnostics)
  }

  /// XML network reader, from memory; a network it accepts must survive NetworkWriter and be read
  /// back.
  public static func xml(_ input: UnsafeBufferPointer<UInt8>) {
    let bytes = Array(input)
    switch NetworkReader(maxBytes: maxNetworkBytes).parse(bytes, path: "fuzz.xml") {
    case .success(let net): reread(net, "XML")
    case .failure(let bag):
      var sources = SourceManager()
      sources.add(SourceFile(path: "fuzz.xml", bytes: bytes))
      _ = DiagnosticRenderer(sources: sources).render(bag)
    }
  }

  /// ONNX importer; an imported network must be written and read back as XML (`reluc import`).
  public static func onnx(_ input: UnsafeBufferPointer<UInt8>) {
    if let net = try? ONNXImporter.parse(Array(input), name: "fuzz") { reread(net, "ONNX") }
  }

  /// NNet importer (text read as `reluc import` reads it); same round trip.
  public static func nnet(_ input: UnsafeBufferPointer<UInt8>) {
    if let net = try? NNetImporter.parse(String(decoding: input, as: UTF8.self), name: "fuzz") {
      reread(net, "NNet")
    }
  }

  static func reread(_ net: Network, _ kind: String) {
    let text = NetworkWriter.xml(net)
    if case .failure(let bag) = NetworkReader().parse(Array(text.utf8), path: "written.xml") {
      let first = bag.all.first.map { "\($0)" } ?? "?"
      fatalError("reluc-fuzz: an accepted \(kind) network, written as XML, is rejected: \(first)")
    }
  }
}

/// `Tests/RelucTests/Fixtures/nets/tiny.xml` (3 inputs, 2 outputs).
let tinyNetwork = """
  <?xml version="1.0" encoding="UTF-8"?>
  <network name="tiny" version="1">
    <input name="x" size="3">
    </input>
    <output name="y" size="2">
    </output>
    <layer name="L1" inputs="3" outputs="4" activation="relu">
      <row>-0.47845112977714827 -0.3039050497292462 0.3478817871737476</row>
      <row>0.09487254727786099 -0.4686598753177289 -0.07721835811201161</row>
      <row>-0.02418947731512533 -0.3928996584580739 0.27086636302369127</row>
      <row>-0.44609312658772426 -0.12559886699514444 0.019329897885455583</row>
      <bias>-0.08010386217618337 0.10022635717017103 0.2746314210331874 0.5268520448040662</bias>
    </layer>
    <layer name="L2" inputs="4" outputs="2" activation="linear">
      <row>-0.21579883625120855 0.14854720707982505 0.19621599667015543 -0.20727925098751288</row>
      <row>-0.49850991649116383 0.4734602747664127 -0.20159877698312434 -0.1860139979656632</row>
      <bias>0.3917110704451572 0.08516293989090806</bias>
    </layer>
  </network>
  """
