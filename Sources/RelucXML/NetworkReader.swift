internal import CLibXML2
import RelucBase
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

/// Reads the reluc XML network format (grammar/network.xsd) with libxml2's streaming reader.
///
/// Safe on hostile files: a document type declaration (DTD) is rejected as soon as it is seen, so no
/// entity is ever declared or expanded; entity references are rejected; no network access
/// (`XML_PARSE_NONET`); libxml2's default size limits stay on (no `XML_PARSE_HUGE`); and the whole
/// file is limited to `maxBytes`, counted as it is read, so an oversized file is rejected without
/// reading it all. Declared sizes are checked against the bytes actually present before any
/// allocation grows with them.
public struct NetworkReader: Sendable {
  /// Largest network file accepted, in bytes (default 1 GiB; `--max-network-bytes`).
  public var maxBytes: Int
  /// Largest layer width accepted.
  public static let maxWidth = 10_000_000

  /// Creates a reader with a size limit.
  public init(maxBytes: Int = 1 << 30) { self.maxBytes = maxBytes }

  /// Reads and checks a network file. On failure returns the diagnostics (at least one error).
  public func read(path: String, displayPath: String? = nil) -> Result<Network, DiagnosticBag> {
    let shown = displayPath ?? path
    var bag = DiagnosticBag()
    var st = stat()
    guard stat(path, &st) == 0, let file = fopen(path, "rb") else {
      bag.report(Messages.networkNotFound(shown), at: .file(shown))
      return .failure(bag)
    }
    if (st.st_mode & S_IFMT) == S_IFDIR {
      fclose(file)
      bag.report(Messages.networkNotFound(shown), at: .file(shown))
      return .failure(bag)
    }
    if (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) > maxBytes {
      fclose(file)
      bag.report(Messages.networkTooLarge(shown, Int(st.st_size), maxBytes), at: .file(shown))
      return .failure(bag)
    }
    let source = ByteSource(file: file, limit: maxBytes)
    let state = ParseState(path: shown, sourcePath: path, source: source)
    state.run()
    if let d = state.failure {
      bag.add(d)
      return .failure(bag)
    }
    guard let net = state.build() else {
      bag.add(state.failure!)
      return .failure(bag)
    }
    return .success(net)
  }
}

/// The file being read: counts bytes against the limit.
final class ByteSource {
  let file: UnsafeMutablePointer<FILE>
  let limit: Int
  var count = 0
  var exceeded = false

  init(file: UnsafeMutablePointer<FILE>, limit: Int) {
    self.file = file
    self.limit = limit
  }

  deinit { fclose(file) }
}

private func readCallback(
  _ ctx: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ len: Int32
) -> Int32 {
  guard let ctx, let buffer else { return -1 }
  let src = Unmanaged<ByteSource>.fromOpaque(ctx).takeUnretainedValue()
  let n = fread(buffer, 1, Int(len), src.file)
  src.count += n
  if src.count > src.limit {
    src.exceeded = true
    return -1
  }
  return Int32(n)
}

private func closeCallback(_ ctx: UnsafeMutableRawPointer?) -> Int32 { 0 }

private func errorCallback(_ ctx: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
  guard let ctx, let error else { return }
  let state = Unmanaged<ParseState>.fromOpaque(ctx).takeUnretainedValue()
  guard error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue, state.xmlError == nil else { return }
  var message = error.pointee.message.map { String(cString: $0) } ?? "malformed XML"
  while message.last == "\n" || message.last == " " { message.removeLast() }
  state.xmlError = (message, Int(error.pointee.line), Int(error.pointee.int2))
}


/// The state of one read: a small state machine over the reader's nodes.
final class ParseState {
  let path: String
  let sourcePath: String
  let source: ByteSource
  var failure: Diagnostic?
  var xmlError: (String, Int, Int)?

  // What has been read.
  var networkName = ""
  var sawRoot = false
  var inputName: String?
  var inputSize = 0
  var outputName: String?
  var outputSize = 0
  var inputVectors: [String: [Double]] = [:]
  var outputVectors: [String: [Double]] = [:]
  var layers: [DenseLayer] = []
  var inputLine = 0
  var outputLine = 0

  // The element stack and the layer being read.
  var stack: [String] = []
  var layerName = ""
  var layerInputs = 0
  var layerOutputs = 0
  var layerActivation = Activation.relu
  var layerLine = 0
  var rows: [Double] = []
  var rowCount = 0
  var bias: [Double]?
  var elementLine = 0
  var text: [Double] = []
  var textSeen = false

  init(path: String, sourcePath: String, source: ByteSource) {
    self.path = path
    self.sourcePath = sourcePath
    self.source = source
  }

  func fail(_ m: DiagnosticMessage, line: Int, tag: String? = nil, notes: [DiagnosticNote] = []) {
    guard failure == nil else { return }
    let column = tag.map { columnOf("<" + $0, line: line) } ?? 1
    failure = Diagnostic(m, at: .at(path, line: line, column: column), notes: notes)
  }

  func note(_ text: String, line: Int, tag: String) -> DiagnosticNote {
    DiagnosticNote(text, at: .at(path, line: line, column: columnOf("<" + tag, line: line)))
  }

  /// Column of `needle` on a line of the file (read again, only on the error path).
  func columnOf(_ needle: String, line: Int) -> Int {
    guard let f = fopen(sourcePath, "rb") else { return 1 }
    defer { fclose(f) }
    var current = 1
    var lineBytes: [UInt8] = []
    while true {
      let c = getc(f)
      if c == EOF { break }
      if current == line {
        if c == 10 { break }
        lineBytes.append(UInt8(c))
        if lineBytes.count > 1 << 20 { break }
      } else if c == 10 {
        current += 1
        if current > line { break }
      }
    }
    let hay = Array(lineBytes)
    let nd = Array(needle.utf8)
    if nd.count <= hay.count {
      for i in 0...(hay.count - nd.count) where Array(hay[i..<(i + nd.count)]) == nd {
        return hay[0..<i].filter { $0 & 0xC0 != 0x80 }.count + 1
      }
    }
    return 1
  }

  func run() {
    xmlInitParser()
    reluc_xml_silence_generic_errors()
    let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOCDATA.rawValue)
    let srcPtr = Unmanaged.passUnretained(source).toOpaque()
    guard
      let reader = xmlReaderForIO(readCallback, closeCallback, srcPtr, path, nil, options)
    else {
      failure = Diagnostic(Messages.xmlMalformed("cannot start the XML reader"), at: .file(path))
      return
    }
    defer { xmlFreeTextReader(reader) }
    let selfPtr = Unmanaged.passUnretained(self).toOpaque()
    xmlTextReaderSetStructuredErrorHandler(reader, errorCallback, selfPtr)

    while failure == nil {
      let r = xmlTextReaderRead(reader)
      if source.exceeded {
        failure = Diagnostic(
          Messages.networkTooLarge(path, source.count, source.limit), at: .file(path))
        return
      }
      if r == 0 { break }
      if r < 0 || xmlError != nil {
        let (msg, line, col) = xmlError ?? ("malformed XML", 0, 0)
        failure = Diagnostic(
          Messages.xmlMalformed(msg),
          at: line > 0 ? .at(path, line: line, column: max(1, col)) : .file(path))
        return
      }
      let type = xmlTextReaderNodeType(reader)
      let node = xmlTextReaderCurrentNode(reader)
      let line = node.map { Int(xmlGetLineNo($0)) } ?? 0
      switch type {
      case Int32(XML_READER_TYPE_ELEMENT.rawValue):
        let name = String(cString: xmlTextReaderConstLocalName(reader))
        let empty = xmlTextReaderIsEmptyElement(reader) == 1
        var attrs: [(String, String)] = []
        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
          let an = String(cString: xmlTextReaderConstName(reader))
          let av = xmlTextReaderConstValue(reader).map { String(cString: $0) } ?? ""
          attrs.append((an, av))
        }
        xmlTextReaderMoveToElement(reader)
        startElement(name, attrs, line: line)
        if empty, failure == nil { endElement(name, line: line) }
      case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
        let name = String(cString: xmlTextReaderConstLocalName(reader))
        endElement(name, line: line)
      case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue):
        if let v = xmlTextReaderConstValue(reader) { textNode(v, line: line) }
      case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue):
        fail(Messages.xmlDTD, line: max(1, line), tag: "!DOCTYPE")
      case Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue):
        fail(Messages.xmlEntity, line: max(1, line))
      default:
        break  // comments, processing instructions, white space
      }
    }
  }

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
        fail(Messages.xmlDuplicate("input"), line: line, tag: name, notes: [
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
        fail(Messages.xmlDuplicate("output"), line: line, tag: name, notes: [
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
      let bound = source.limit / 2
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
        Messages.xmlUnknownElement(name, parent ?? "", suggestion: closestMatch(to: name, among: allowed)),
        line: line, tag: name)
    }
  }

  var prevLayerLine = 0

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
        fail(Messages.xmlBadNumber(tok, current), line: tokenLine, tag: tokenLine == elementLine ? current : nil)
        return
      }
      if !v.isFinite {
        fail(Messages.xmlNonFinite(current, text.count + 1), line: tokenLine, tag: tokenLine == elementLine ? current : nil)
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
          notes: [note("layer declared here with inputs=\"\(layerInputs)\"", line: layerLine, tag: "layer")])
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
          notes: [note("layer declared here with outputs=\"\(layerOutputs)\"", line: layerLine, tag: "layer")])
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
