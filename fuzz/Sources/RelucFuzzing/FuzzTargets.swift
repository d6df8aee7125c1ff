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
    write(tinyNetwork, to: path + "/tiny.xml")
    return path
  }()

  /// Writes `text` to the file at `path` (the fuzzed models' networks).
  static func write(_ text: String, to path: String) {
    guard let f = fopen(path, "wb") else { fatalError("reluc-fuzz: cannot write \(path)") }
    _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, f) }
    fclose(f)
  }

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

  /// VNN-LIB reader, against `propertyNetwork` (5 inputs, 5 outputs, as ACAS Xu's); a property
  /// it accepts must become problems (`VNNProperty.problems`), and each disjunct's model, as
  /// `reluc import` writes it (`PropertyModel.text`), must parse and lower without errors to
  /// the disjunct's problem: the same bounds, input rows and output rows, bit for bit.
  public static func vnnlib(_ input: UnsafeBufferPointer<UInt8>) {
    let bytes = Array(input)
    guard String(validating: bytes, as: UTF8.self) != nil else { return }  // as `read` stops
    let file = SourceFile(path: "fuzz.vnnlib", bytes: bytes)
    var sources = SourceManager()
    sources.add(file)
    let net = propertyNetworkParsed
    let (property, bag) = VNNLibReader.parse(
      file, inputSize: net.inputSize, outputSize: net.outputSize)
    guard let property else {
      _ = DiagnosticRenderer(sources: sources).render(bag)
      return
    }
    let (disjuncts, lowering) = property.problems(network: net)
    _ = DiagnosticRenderer(sources: sources).render(lowering)
    if lowering.hasErrors { return }
    for d in disjuncts {
      guard let problem = d.problem else { continue }
      let text = PropertyModel.text(
        d, problem: problem, networkPath: "property.xml", header: ["fuzz"])
      let model = SourceFile(path: modelDirectory + "/imported.rmod", text: text)
      let (syntax, parsed) = Parser.parse(model)
      if parsed.hasErrors {
        fatalError("reluc-fuzz: an imported model does not parse: \(first(parsed))\n\(text)")
      }
      var lower = Lowering(model: syntax, maxNetworkBytes: maxNetworkBytes)
      let (lowered, d2) = lower.lower()
      guard let lowered else {
        fatalError("reluc-fuzz: an imported model does not lower: \(first(d2))\n\(text)")
      }
      let a = problem.polytope
      let b = lowered.polytope
      let rows = problem.outputConstraints
      let rows2 = lowered.outputConstraints
      guard a.lower == b.lower, a.upper == b.upper, a.matrix == b.matrix, a.rhs == b.rhs,
        rows.inputMatrix == rows2.inputMatrix, rows.outputMatrix == rows2.outputMatrix,
        rows.rhs == rows2.rhs
      else {
        fatalError("reluc-fuzz: an imported model lowers to another problem:\n\(text)")
      }
    }
  }

  static func first(_ bag: DiagnosticBag) -> String { bag.all.first.map { "\($0)" } ?? "?" }

  /// `propertyNetwork`, read once.
  static let propertyNetworkParsed: Network = {
    guard case .success(let net) = NetworkReader().parse(Array(propertyNetwork.utf8), path: "p")
    else { fatalError("reluc-fuzz: the property network does not read") }
    write(propertyNetwork, to: modelDirectory + "/property.xml")
    return net
  }()

  static func reread(_ net: Network, _ kind: String) {
    let text = NetworkWriter.xml(net)
    if case .failure(let bag) = NetworkReader().parse(Array(text.utf8), path: "written.xml") {
      fatalError(
        "reluc-fuzz: an accepted \(kind) network, written as XML, is rejected: \(first(bag))")
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

/// A network with ACAS Xu's sizes (5 inputs, 5 outputs), for the VNN-LIB target.
let propertyNetwork = """
  <?xml version="1.0" encoding="UTF-8"?>
  <network name="property" version="1">
    <input name="x" size="5">
    </input>
    <output name="y" size="5">
    </output>
    <layer name="L1" inputs="5" outputs="3" activation="relu">
      <row>0.5 -0.25 0.125 -1 0.75</row>
      <row>-0.5 1 0.25 0.5 -0.125</row>
      <row>1 0.5 -0.75 0.25 0.5</row>
      <bias>0.1 -0.2 0.3</bias>
    </layer>
    <layer name="L2" inputs="3" outputs="5" activation="linear">
      <row>1 -1 0.5</row>
      <row>-0.5 0.25 1</row>
      <row>0.75 0.5 -0.25</row>
      <row>-1 1 1</row>
      <row>0.5 -0.5 0.5</row>
      <bias>0 0.1 -0.1 0.2 -0.2</bias>
    </layer>
  </network>
  """
