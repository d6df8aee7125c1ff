internal import CLibXML2
import RelucBase
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

// The network format's grammar (grammar/network.xsd): what each element and attribute means,
// the checks on sizes and values, and the assembly of the `Network`.

extension ParseState {
  func attribute(_ attrs: [(String, String)], _ name: String) -> String? {
    attrs.first { $0.0 == name }?.1
  }

  func checkAttributes(_ attrs: [(String, String)], allowed: [String], element: String, line: Int) {
    for (n, _) in attrs where !allowed.contains(n) && !n.hasPrefix("xmlns") {
      let s = closestMatch(to: n, among: allowed)
      fail(
        Messages.xmlUnknownAttribute(n, element, suggestion: s), line: line, tag: element)
    }
  }

  func sizeAttribute(_ attrs: [(String, String)], _ name: String, element: String, line: Int) -> Int
  {
    guard let text = attribute(attrs, name) else {
      fail(Messages.xmlMissingAttribute(name, element), line: line, tag: element)
      return 0
    }
    guard let v = Int(text.trimmingSpaces), v >= 1, v <= NetworkReader.maxWidth else {
      fail(Messages.xmlBadSize(name, element, text), line: line, tag: element)
      return 0
    }
    return v
  }

  func startElement(_ name: String, _ attrs: [(String, String)], line: Int) {
    let parent = stack.last
    stack.append(name)
    elementLine = line
    text.removeAll(keepingCapacity: true)
    textSeen = false
    switch (parent, name) {
    case (nil, "network"):
      sawRoot = true
      checkAttributes(attrs, allowed: ["name", "version"], element: name, line: line)
      networkName = attribute(attrs, "name") ?? ""
      if let v = attribute(attrs, "version"), v != "1" {
        fail(Messages.xmlBadVersion(v), line: line, tag: name)
      }
    case (nil, _):
      fail(Messages.xmlWrongRoot(name), line: line, tag: name)
    case ("network", "input"):
      checkAttributes(attrs, allowed: ["name", "size"], element: name, line: line)
      if inputName != nil {
        fail(
          Messages.xmlDuplicate("input"), line: line, tag: name,
          notes: [
            note("first <input> here", line: inputLine, tag: "input")
          ])
      }
      if !layers.isEmpty || layerLine > 0 {
        fail(Messages.xmlOrder("input", "layer"), line: line, tag: name)
      }
      inputName = attribute(attrs, "name") ?? "x"
      inputSize = sizeAttribute(attrs, "size", element: name, line: line)
      inputLine = line
      checkIdentifier(inputName!, line: line, element: name)
    case ("network", "output"):
      checkAttributes(attrs, allowed: ["name", "size"], element: name, line: line)
      if outputName != nil {
        fail(
          Messages.xmlDuplicate("output"), line: line, tag: name,
          notes: [
            note("first <output> here", line: outputLine, tag: "output")
          ])
      }
      outputName = attribute(attrs, "name") ?? "y"
      outputSize = sizeAttribute(attrs, "size", element: name, line: line)
      outputLine = line
      checkIdentifier(outputName!, line: line, element: name)
    case ("network", "layer"):
      checkAttributes(
        attrs, allowed: ["name", "inputs", "outputs", "activation"], element: name, line: line)
      guard inputName != nil else {
        fail(Messages.xmlOrder("input", "layer"), line: line, tag: name)
        return
      }
      layerName = attribute(attrs, "name") ?? ""
      layerInputs = sizeAttribute(attrs, "inputs", element: name, line: line)
      layerOutputs = sizeAttribute(attrs, "outputs", element: name, line: line)
      layerLine = line
      let act = attribute(attrs, "activation") ?? "relu"
      guard let a = Activation(rawValue: act) else {
        fail(Messages.xmlBadActivation(act), line: line, tag: name)
        return
      }
      layerActivation = a
      let expected = layers.last?.outputSize ?? inputSize
      if failure == nil, layerInputs != expected {
        let what = layers.isEmpty ? "the input size" : "the previous layer's outputs"
        var notes: [DiagnosticNote] = []
        if !layers.isEmpty {
          notes.append(note("previous layer declared here", line: prevLayerLine, tag: "layer"))
        } else {
          notes.append(note("input declared here", line: inputLine, tag: "input"))
        }
        fail(
          Messages.xmlLayerMismatch(layers.count + 1, layerInputs, what, expected), line: line,
          tag: name, notes: notes)
      }
      // Reserve no more than the bytes present could hold (about 2 bytes per number at least).
      let bound = source.bytes.count / 2
      rows.removeAll(keepingCapacity: false)
      rows.reserveCapacity(min(layerInputs * layerOutputs, bound, 1 << 26))
      rowCount = 0
      bias = nil
    case ("input", "lower"), ("input", "upper"), ("input", "mean"), ("input", "scale"),
      ("output", "mean"), ("output", "scale"), ("layer", "row"), ("layer", "bias"):
      checkAttributes(attrs, allowed: [], element: name, line: line)
    default:
      let allowed: [String]
      switch parent {
      case "network": allowed = ["input", "output", "layer"]
      case "input": allowed = ["lower", "upper", "mean", "scale"]
      case "output": allowed = ["mean", "scale"]
      case "layer": allowed = ["row", "bias"]
      default: allowed = []
      }
      fail(
        Messages.xmlUnknownElement(
          name, parent ?? "", suggestion: closestMatch(to: name, among: allowed)),
        line: line, tag: name)
    }
  }

  func checkIdentifier(_ s: String, line: Int, element: String) {
    let ok =
      !s.isEmpty && s.unicodeScalars.first.map { $0.properties.isXIDStart || $0 == "_" } == true
      && s.unicodeScalars.allSatisfy { $0.properties.isXIDContinue }
    if !ok { fail(Messages.xmlBadName(s, element), line: line, tag: element) }
  }

  func textNode(_ value: UnsafePointer<xmlChar>, line: Int) {
    guard let current = stack.last else { return }
    let numeric = ["row", "bias", "lower", "upper", "mean", "scale"]
    guard numeric.contains(current) else {
      // Text outside number lists must be white space.
      var p = value
      while p.pointee != 0 {
        if !isSpace(p.pointee) {
          fail(Messages.xmlUnexpectedText(current), line: line, tag: current)
          return
        }
        p += 1
      }
      return
    }
    textSeen = true
    var p = UnsafeRawPointer(value).assumingMemoryBound(to: CChar.self)
    // Line of the current token, counted incrementally (only needed for error messages).
    var tokenLine = elementLine
    while failure == nil {
      while p.pointee != 0, isSpace(UInt8(bitPattern: p.pointee)) || p.pointee == 44 {
        if p.pointee == 10 { tokenLine += 1 }
        p += 1
      }
      if p.pointee == 0 { break }
      var end: UnsafeMutablePointer<CChar>? = nil
      let v = strtod(p, &end)
      guard let end, UnsafePointer(end) != p,
        end.pointee == 0 || isSpace(UInt8(bitPattern: end.pointee)) || end.pointee == 44
      else {
        var tok = ""
        var q = p
        while q.pointee != 0, !isSpace(UInt8(bitPattern: q.pointee)), tok.count < 40 {
          tok.append(Character(Unicode.Scalar(UInt8(bitPattern: q.pointee))))
          q += 1
        }
        fail(
          Messages.xmlBadNumber(tok, current), line: tokenLine,
          tag: tokenLine == elementLine ? current : nil)
        return
      }
      if !v.isFinite {
        fail(
          Messages.xmlNonFinite(current, text.count + 1), line: tokenLine,
          tag: tokenLine == elementLine ? current : nil)
        return
      }
      text.append(v)
      p = UnsafePointer(end)
    }
  }

  func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }

  func endElement(_ name: String, line: Int) {
    defer { if !stack.isEmpty { stack.removeLast() } }
    guard failure == nil else { return }
    let parent = stack.count >= 2 ? stack[stack.count - 2] : nil
    switch (parent, name) {
    case ("input", let v):
      if let d = vectorCheck(v, size: inputSize, owner: "input") { inputVectors[v] = d }
    case ("output", let v):
      if let d = vectorCheck(v, size: outputSize, owner: "output") { outputVectors[v] = d }
    case ("layer", "row"):
      rowCount += 1
      if rowCount > layerOutputs {
        fail(
          Messages.xmlTooManyRows(layers.count + 1, layerOutputs), line: elementLine, tag: "row",
          notes: [note("layer declared here", line: layerLine, tag: "layer")])
        return
      }
      if text.count != layerInputs {
        fail(
          Messages.xmlRowLength(rowCount, layers.count + 1, text.count, layerInputs),
          line: elementLine, tag: "row",
          notes: [
            note(
              "layer declared here with inputs=\"\(layerInputs)\"", line: layerLine, tag: "layer")
          ])
        return
      }
      rows.append(contentsOf: text)
    case ("layer", "bias"):
      if bias != nil {
        fail(Messages.xmlDuplicate("bias"), line: elementLine, tag: "bias")
        return
      }
      if text.count != layerOutputs {
        fail(
          Messages.xmlVectorLength("bias", "layer \(layers.count + 1)", text.count, layerOutputs),
          line: elementLine, tag: "bias",
          notes: [
            note(
              "layer declared here with outputs=\"\(layerOutputs)\"", line: layerLine, tag: "layer")
          ])
        return
      }
      bias = text
    case ("network", "layer"):
      if rowCount != layerOutputs {
        fail(
          Messages.xmlRowCount(layers.count + 1, rowCount, layerOutputs), line: layerLine,
          tag: "layer")
        return
      }
      layers.append(
        DenseLayer(
          name: layerName, inputSize: layerInputs, outputSize: layerOutputs, weights: rows,
          bias: bias ?? [Double](repeating: 0, count: layerOutputs), activation: layerActivation))
      prevLayerLine = layerLine
      rows = []
    default:
      break
    }
  }

  func vectorCheck(_ v: String, size: Int, owner: String) -> [Double]? {
    if text.count != size {
      fail(
        Messages.xmlVectorLength(v, "<\(owner)>", text.count, size), line: elementLine, tag: v)
      return nil
    }
    if v == "scale", let i = text.firstIndex(of: 0) {
      fail(Messages.xmlZeroScale(owner, i), line: elementLine, tag: v)
      return nil
    }
    return text
  }

  func build() -> Network? {
    guard failure == nil else { return nil }
    guard sawRoot else {
      failure = Diagnostic(Messages.xmlMalformed("the document is empty"), at: .file(path))
      return nil
    }
    guard let inputName else {
      failure = Diagnostic(Messages.xmlMissing("input"), at: .file(path))
      return nil
    }
    guard let outputName else {
      failure = Diagnostic(Messages.xmlMissing("output"), at: .file(path))
      return nil
    }
    guard let last = layers.last else {
      failure = Diagnostic(Messages.xmlMissing("layer"), at: .file(path))
      return nil
    }
    if last.outputSize != outputSize {
      fail(
        Messages.xmlOutputMismatch(last.outputSize, outputSize), line: prevLayerLine, tag: "layer",
        notes: [note("output declared here", line: outputLine, tag: "output")])
      return nil
    }
    if inputName == outputName {
      fail(Messages.xmlSameNames(inputName), line: outputLine, tag: "output")
      return nil
    }
    if let lo = inputVectors["lower"], let hi = inputVectors["upper"],
      let j = (0..<inputSize).first(where: { lo[$0] > hi[$0] })
    {
      fail(Messages.xmlBoundsCross(inputName, j, lo[j], hi[j]), line: inputLine, tag: "input")
      return nil
    }
    func norm(_ d: [String: [Double]]) -> Normalization? {
      if d["mean"] == nil, d["scale"] == nil { return nil }
      let n = d["mean"]?.count ?? d["scale"]!.count
      return Normalization(
        mean: d["mean"] ?? [Double](repeating: 0, count: n),
        scale: d["scale"] ?? [Double](repeating: 1, count: n))
    }
    return Network(
      name: networkName, inputName: inputName, outputName: outputName, layers: layers,
      inputLower: inputVectors["lower"], inputUpper: inputVectors["upper"],
      inputNormalization: norm(inputVectors), outputNormalization: norm(outputVectors))
  }
}

extension String {
  var trimmingSpaces: String {
    var s = Substring(self)
    while s.first?.isWhitespace == true { s.removeFirst() }
    while s.last?.isWhitespace == true { s.removeLast() }
    return String(s)
  }
}
