import RelucBase
import RelucIR
import RelucXML

#if canImport(Glibc)
  import Glibc
#endif

extension Commands {
  /// `reluc import PROPERTY.vnnlib --network NET -o MODEL.rmod`: one model per disjunct of the
  /// property. One disjunct: the model is `MODEL.rmod`; several: `MODEL.1.rmod` ...
  /// `MODEL.k.rmod` (a disjunct whose input bounds cross is empty and gets no model). A network
  /// that is not reluc XML is converted and written beside the models as `MODEL.xml`; an XML
  /// network is named by its path relative to the models' folder.
  public static func importProperty(
    _ path: String, network: String, output: String?, maxNetworkBytes: Int, console: Console
  ) -> RelucExit {
    guard let output else {
      return console.report(
        Messages.badCommandLine(
          "importing a property needs -o MODEL.rmod (the models name their network file)"))
    }
    guard output.hasSuffix(".rmod") else {
      return console.report(Messages.badCommandLine("'\(output)' must end in .rmod"))
    }
    let (loaded, netBag, netSources) = loadNetwork(network, maxBytes: maxNetworkBytes)
    guard let net = loaded else { return console.report(netBag, sources: netSources) }
    let (property, bag, sources) = VNNLibReader.read(
      path: path, inputSize: net.inputSize, outputSize: net.outputSize)
    guard let property else { return console.report(bag, sources: sources) }
    let (disjuncts, lowering) = property.problems(network: net)
    if lowering.hasErrors { return console.report(lowering, sources: sources) }
    console.report(bag, sources: sources)
    let stem = String(output.dropLast(".rmod".count))
    let inputs = [path, network]
    let isXML =
      !(network.hasSuffix(".onnx") || network.hasSuffix(".nnet"))
      && !(readFile(network, limit: 16).map(Lowering.looksLikeONNX) ?? false)
    let networkFile = isXML ? network : stem + ".xml"
    let folder = output.contains("/") ? String(output[..<output.lastIndex(of: "/")!]) : "."
    let named = relativePath(networkFile, from: folder)
    var files: [(String, String)] = []
    let live = disjuncts.filter { $0.problem != nil }
    for d in live {
      let file = live.count == 1 ? output : "\(stem).\(d.index).rmod"
      let header = [
        "Disjunct \(d.index) of \(disjuncts.count) of the VNN-LIB property \(DisplayText.sanitize(path))",
        "(reluc import \(DisplayText.sanitize(path)) --network \(DisplayText.sanitize(network))).",
        "The property's unsafe set: a feasible point of this model is a counterexample (sat).",
      ]
      files.append(
        (file, PropertyModel.text(d, problem: d.problem!, networkPath: named, header: header)))
    }
    if files.isEmpty {
      console.stderr("reluc: every disjunct of the property is empty; no model written\n")
      return .ok
    }
    for (file, _) in files {
      if let refused = console.refuseOverwriting(file, inputs: inputs) { return refused }
    }
    if !isXML {
      if let refused = console.refuseOverwriting(networkFile, inputs: inputs) { return refused }
      let written = console.emit(NetworkWriter.xml(net), to: networkFile, inputs: inputs)
      if written != .ok { return written }
    }
    for (file, text) in files {
      let written = console.emit(text, to: file, inputs: inputs)
      if written != .ok { return written }
    }
    return .ok
  }

  /// `path` relative to `folder` (both relative to the working directory or absolute).
  static func relativePath(_ path: String, from folder: String) -> String {
    func absolute(_ p: String) -> [String] {
      var base: [String] = []
      if !p.hasPrefix("/") {
        var buffer = [CChar](repeating: 0, count: 4096)
        if getcwd(&buffer, buffer.count) != nil {
          let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
          base = String(decoding: bytes, as: UTF8.self).split(separator: "/").map(String.init)
        }
      }
      for part in p.split(separator: "/").map(String.init) {
        if part == "." || part.isEmpty { continue }
        if part == ".." {
          if !base.isEmpty { base.removeLast() }
        } else {
          base.append(part)
        }
      }
      return base
    }
    let a = absolute(path)
    let b = absolute(folder)
    var k = 0
    while k < a.count - 1, k < b.count, a[k] == b[k] { k += 1 }
    let ups = [String](repeating: "..", count: b.count - k)
    return (ups + a[k...]).joined(separator: "/")
  }
}
