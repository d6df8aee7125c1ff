internal import CLibXML2
import RelucBase
import RelucIR

// libxml2's streaming reader over a network file's bytes: the callbacks, the loop over the
// reader's nodes and the error positions. What each element means is in NetworkGrammar.swift.

/// The bytes being parsed, handed to libxml2 in chunks.
final class ByteSource {
  let bytes: [UInt8]
  var offset = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private func readCallback(
  _ ctx: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ len: Int32
) -> Int32 {
  guard let ctx, let buffer, len >= 0 else { return -1 }
  let src = Unmanaged<ByteSource>.fromOpaque(ctx).takeUnretainedValue()
  let n = min(Int(len), src.bytes.count - src.offset)
  if n > 0 {
    src.bytes.withUnsafeBufferPointer { b in
      UnsafeMutableRawPointer(buffer).copyMemory(from: b.baseAddress! + src.offset, byteCount: n)
    }
    src.offset += n
  }
  return Int32(n)
}

private func closeCallback(_ ctx: UnsafeMutableRawPointer?) -> Int32 { 0 }

private func errorCallback(_ ctx: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
  guard let ctx, let error else { return }
  let state = Unmanaged<ParseState>.fromOpaque(ctx).takeUnretainedValue()
  guard error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue, state.xmlError == nil else {
    return
  }
  var message = error.pointee.message.map { String(cString: $0) } ?? "malformed XML"
  while message.last == "\n" || message.last == " " { message.removeLast() }
  state.xmlError = (message, Int(error.pointee.line), Int(error.pointee.int2))
}

/// The state of one read: a small state machine over the reader's nodes.
final class ParseState {
  let path: String
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
  var prevLayerLine = 0

  init(path: String, bytes: [UInt8]) {
    self.path = path
    self.source = ByteSource(bytes)
  }

  func fail(_ m: DiagnosticMessage, line: Int, tag: String? = nil, notes: [DiagnosticNote] = []) {
    guard failure == nil else { return }
    let column = tag.map { columnOf("<" + $0, line: line) } ?? 1
    failure = Diagnostic(m, at: .at(path, line: line, column: column), notes: notes)
  }

  func note(_ text: String, line: Int, tag: String) -> DiagnosticNote {
    DiagnosticNote(text, at: .at(path, line: line, column: columnOf("<" + tag, line: line)))
  }
}

extension ParseState {
  func run() {
    xmlInitParser()
    reluc_xml_silence_generic_errors()
    let options = Int32(
      XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOCDATA.rawValue)
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

  /// Column of `needle` on a line of the file (searched only on the error path).
  func columnOf(_ needle: String, line: Int) -> Int {
    guard let range = lineRange(line, in: source.bytes) else { return 1 }
    let hay = Array(source.bytes[range.prefix(1 << 20)])
    let nd = Array(needle.utf8)
    if nd.count <= hay.count {
      for i in 0...(hay.count - nd.count) where Array(hay[i..<(i + nd.count)]) == nd {
        return hay[0..<i].filter { $0 & 0xC0 != 0x80 }.count + 1
      }
    }
    return 1
  }
}
