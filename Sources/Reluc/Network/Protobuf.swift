/// A minimal reader of the protobuf wire format (varints, fixed 32/64, length-delimited), enough
/// for the ONNX messages reluc reads. reluc decodes ONNX with this rather than generated code:
/// it needs a dozen fields of five messages, and a hand-written reader keeps swift-protobuf (and
/// its code generator) out of the build. Every read is bounds-checked; malformed input throws.
struct ProtoReader {
  let bytes: [UInt8]
  var position: Int
  let end: Int

  init(_ bytes: [UInt8]) {
    self.bytes = bytes
    position = 0
    end = bytes.count
  }

  init(_ bytes: [UInt8], from: Int, to: Int) {
    self.bytes = bytes
    position = from
    end = to
  }

  var atEnd: Bool { position >= end }

  mutating func varint() throws(ImportError) -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard position < end, shift < 64 else { throw ImportError("malformed protobuf (varint)") }
      let b = bytes[position]
      position += 1
      result |= UInt64(b & 0x7F) << shift
      if b & 0x80 == 0 { return result }
      shift += 7
    }
  }

  /// The next field: its number, wire type, and for length-delimited fields the payload range.
  mutating func field() throws(ImportError) -> (number: Int, wire: Int) {
    let key = try varint()
    return (Int(key >> 3), Int(key & 7))
  }

  mutating func lengthDelimited() throws(ImportError) -> Range<Int> {
    let n = try varint()
    guard n <= UInt64(end - position) else { throw ImportError("malformed protobuf (length)") }
    let r = position..<(position + Int(n))
    position += Int(n)
    return r
  }

  mutating func fixed32() throws(ImportError) -> UInt32 { try fixed(UInt32.self, "fixed32") }

  mutating func fixed64() throws(ImportError) -> UInt64 { try fixed(UInt64.self, "fixed64") }

  /// A little-endian fixed-width field (wire types 5 and 1).
  private mutating func fixed<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ name: String)
    throws(ImportError) -> T
  {
    let size = T.bitWidth / 8
    guard end - position >= size else { throw ImportError("malformed protobuf (\(name))") }
    var v: T = 0
    for k in 0..<size { v |= T(bytes[position + k]) << (8 * k) }
    position += size
    return v
  }

  mutating func skip(_ wire: Int) throws(ImportError) {
    switch wire {
    case 0: _ = try varint()
    case 1: _ = try fixed64()
    case 2: _ = try lengthDelimited()
    case 5: _ = try fixed32()
    default: throw ImportError("malformed protobuf (wire type \(wire))")
    }
  }

  /// Calls `body` with the number and payload of every length-delimited field; skips the others.
  func forEachLengthDelimited(_ body: (Int, ProtoReader) throws(ImportError) -> Void)
    throws(ImportError)
  {
    var r = self
    while !r.atEnd {
      let (n, wire) = try r.field()
      if wire == 2 {
        try body(n, r.sub(try r.lengthDelimited()))
      } else {
        try r.skip(wire)
      }
    }
  }

  /// The whole payload as UTF-8 text.
  var text: String { String(decoding: bytes[position..<end], as: UTF8.self) }

  /// The length-delimited fields numbered `number` of this message, as readers.
  func submessages(_ number: Int) throws(ImportError) -> [ProtoReader] {
    var r = self
    var found: [ProtoReader] = []
    while !r.atEnd {
      let (n, wire) = try r.field()
      if n == number, wire == 2 {
        found.append(r.sub(try r.lengthDelimited()))
      } else {
        try r.skip(wire)
      }
    }
    return found
  }

  /// The first varint field numbered `number`, if any.
  func varintField(_ number: Int) throws(ImportError) -> UInt64? {
    var r = self
    while !r.atEnd {
      let (n, wire) = try r.field()
      if n == number, wire == 0 { return try r.varint() }
      try r.skip(wire)
    }
    return nil
  }

  func string(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }

  func sub(_ r: Range<Int>) -> ProtoReader {
    ProtoReader(bytes, from: r.lowerBound, to: r.upperBound)
  }
}
