import RelucBase
import RelucIR
import RelucXML

/// The `network` statement: the file is read once (size limit, type check), its SHA-256
/// compared with a pinned digest, then parsed from memory.
extension Lowering {

  /// The path of the network file, as resolved against the model's folder.
  func resolve(_ path: String) -> String {
    path.hasPrefix("/") ? path : (modelDirectory == "." ? path : modelDirectory + "/" + path)
  }

  mutating func loadNetwork() -> Network? {
    var found: (StringLiteral, StringLiteral?, SourceRange)? = nil
    for s in model.statements {
      guard case .network(let path, let digest, let range) = s else { continue }
      if let first = found {
        diagnostics.report(
          Messages.duplicateNetwork, at: loc(range),
          notes: [DiagnosticNote("network declared here", at: loc(first.2))])
      } else {
        found = (path, digest, range)
      }
    }
    guard let (path, digest, range) = found else {
      diagnostics.report(Messages.missingNetwork, at: .range(file.path, SourceRange(0, 0)))
      return nil
    }
    networkStatement = range
    if path.value.hasPrefix("/") {
      diagnostics.report(Messages.absolutePath, at: loc(path.range))
    }
    let resolved = resolve(path.value)
    let bytes: [UInt8]
    switch reader.load(path: resolved) {
    case .success(let b): bytes = b
    case .failure(let bag):
      for var d in bag.all {
        d.location = loc(path.range)
        diagnostics.add(d)
      }
      return nil
    }
    networkFile = (resolved, bytes)
    if let digest {
      var hasher = SHA256()
      hasher.update(bytes)
      let actual = hasher.finalizeHex()
      let expected = digest.value.lowercased()
      if actual != expected {
        diagnostics.report(
          Messages.digestMismatch(expected, actual), at: loc(digest.range),
          notes: [DiagnosticNote("the digest was computed over '\(resolved)'")])
        return nil
      }
    }
    switch reader.parse(bytes, path: resolved) {
    case .success(let net):
      let largest = net.layers.reduce(0.0) { m, l in
        max(m, l.weights.reduce(0.0) { max($0, abs($1)) }, l.bias.reduce(0.0) { max($0, abs($1)) })
      }
      if largest > 1e9 {
        diagnostics.report(
          Messages.hugeWeight(largest), at: loc(path.range),
          help: "keep the default 'option bounds = lp', which tightens the big-M constants")
      }
      return net
    case .failure(let bag):
      let hint = Self.importHint(path: resolved, bytes: bytes)
      for (k, var d) in bag.all.enumerated() {
        d.notes.append(DiagnosticNote("network declared here", at: loc(path.range)))
        if k == 0, d.help == nil, let hint { d.help = hint }
        diagnostics.add(d)
      }
      return nil
    }
  }

  /// When a network file that does not read as XML is an ONNX or NNet network (by its name or
  /// its first bytes), the command that converts it.
  static func importHint(path: String, bytes: [UInt8]) -> String? {
    let kind: String
    var byName = true
    if path.hasSuffix(".onnx") {
      kind = "ONNX"
    } else if path.hasSuffix(".nnet") {
      kind = "NNet"
    } else {
      byName = false
      if looksLikeONNX(bytes) {
        kind = "ONNX"
      } else if looksLikeNNet(bytes) {
        kind = "NNet"
      } else {
        return nil
      }
    }
    var stem = path
    if let dot = path.lastIndex(of: "."), !path[dot...].contains("/") {
      stem = String(path[..<dot])
    }
    let output = stem + ".xml" == path ? stem + ".converted.xml" : stem + ".xml"
    let format = byName ? "" : "--format \(kind.lowercased()) "
    return
      "this is an \(kind) network: convert it first: reluc import \(format)\(path) -o \(output)"
  }

  /// An ONNX model is a protobuf message that starts with its IR version: field 1, a varint
  /// (byte 0x08), of a small value. No XML document starts so.
  static func looksLikeONNX(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x08 && (1...0x3F).contains(bytes[1])
  }

  /// An NNet file is text: `//` comment lines, then lines of comma-separated numbers.
  static func looksLikeNNet(_ bytes: [UInt8]) -> Bool {
    let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
    for line in text.split(separator: "\n") {
      let t = line.trimmingCharacters(" \t\r")
      if t.isEmpty || t.hasPrefix("//") { continue }
      return t.contains(",") && t.allSatisfy { "0123456789.,-+eE \t".contains($0) }
    }
    return false
  }
}
