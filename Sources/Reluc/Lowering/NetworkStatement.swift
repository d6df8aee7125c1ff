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

  /// Loads every network statement's file and binds its inputs; nil after reporting errors.
  /// The decision vector is named by the first network's input; its size is that of the
  /// networks bound to all of it, or the end of the largest slice a network is bound to.
  mutating func loadNetworks() -> Symbols? {
    var declarations: [NetworkDeclaration] = []
    var aliases: [String: SourceRange] = [:]
    var unaliased: (Int, SourceRange)? = nil
    for s in model.statements {
      guard case .network(let d) = s else { continue }
      if let alias = d.alias {
        guard
          firstUse(
            of: alias, in: &aliases, Messages.duplicateAlias(alias.name), note: "first used here")
        else { continue }
      } else if let (_, prev) = unaliased {
        diagnostics.report(
          Messages.duplicateNetwork, at: loc(d.range),
          notes: [DiagnosticNote("network declared here", at: loc(prev))])
        continue
      } else {
        unaliased = (declarations.count, d.range)
      }
      declarations.append(d)
    }
    guard let first = declarations.first else {
      diagnostics.report(Messages.missingNetwork, at: .range(file.path, SourceRange(0, 0)))
      return nil
    }
    networkStatement = first.range
    var loaded: [(NetworkDeclaration, Network)] = []
    for d in declarations {
      guard let net = loadNetwork(d) else { continue }
      loaded.append((d, net.foldingNormalization()))
    }
    guard loaded.count == declarations.count else { return nil }
    let inputName = loaded[0].1.inputName
    for (d, _) in loaded where d.alias?.name == inputName {
      diagnostics.report(Messages.aliasIsInput(inputName), at: loc(d.alias!.range))
      return nil
    }
    // Input bindings: the whole decision vector, or a slice of it.
    var bindings: [ClosedRange<Int>?] = []
    for (d, net) in loaded {
      guard let e = d.input else {
        bindings.append(nil)
        continue
      }
      guard let r = inputSlice(e, inputName) else { return nil }
      guard r.count == net.inputSize else {
        diagnostics.report(
          Messages.networkInputSize(d.alias?.name ?? net.name, net.inputSize, r.count),
          at: loc(e.range))
        return nil
      }
      bindings.append(r)
    }
    var size = 0
    var wholeFrom: (Int, SourceRange)? = nil
    for (k, (d, net)) in loaded.enumerated() where bindings[k] == nil {
      if let (n, prev) = wholeFrom, n != net.inputSize {
        diagnostics.report(
          Messages.networkInputsDiffer(n, net.inputSize), at: loc(d.range),
          notes: [DiagnosticNote("a network with \(n) inputs declared here", at: loc(prev))],
          help: "bind it to a slice of the decision vector: network ... input \(inputName)[a..b]")
        return nil
      }
      wholeFrom = (net.inputSize, d.range)
      size = net.inputSize
    }
    for (k, b) in bindings.enumerated() {
      guard let b else { continue }
      if let (n, prev) = wholeFrom, b.upperBound >= n {
        diagnostics.report(
          Messages.indexOutOfRange(b.upperBound, inputName, n), at: loc(loaded[k].0.input!.range),
          notes: [DiagnosticNote("'\(inputName)' has the inputs of this network", at: loc(prev))])
        return nil
      }
      size = max(size, b.upperBound + 1)
    }
    var networks: [ModelNetwork] = []
    var offset = 0
    for (k, (d, net)) in loaded.enumerated() {
      let columns = bindings[k].map { Array($0) } ?? Array(0..<net.inputSize)
      networks.append(
        ModelNetwork(declaration: d, network: net, inputColumns: columns, outputOffset: offset))
      offset += net.outputSize
    }
    return Symbols(
      inputName: inputName, inputSize: size, networks: networks,
      unaliased: networks.firstIndex { $0.alias == nil }, outputCount: offset)
  }

  /// `x` or `x[a..b]` of a network's `input` binding: the slice it names.
  mutating func inputSlice(_ e: Expr, _ inputName: String) -> ClosedRange<Int>? {
    guard case .reference(let id, let sub, _) = e, id.name == inputName,
      sub?.upper != nil || sub == nil
    else {
      diagnostics.report(Messages.badNetworkInput(inputName), at: loc(e.range))
      return nil
    }
    guard let sub, let upper = sub.upper else { return nil }
    let none = Symbols(
      inputName: inputName, inputSize: 0, networks: [], unaliased: nil, outputCount: 0)
    guard let lo = integer(sub.lower, Scope(), none), let hi = integer(upper, Scope(), none) else {
      return nil
    }
    guard lo >= 0, lo <= hi else {
      diagnostics.report(Messages.emptySlice(lo, hi), at: loc(sub.range))
      return nil
    }
    return lo...hi
  }

  /// Reads, checks the digest of, and parses one network file.
  mutating func loadNetwork(_ d: NetworkDeclaration) -> Network? {
    let (path, digest) = (d.path, d.digest)
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
    networkFiles.append((resolved, bytes))
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
