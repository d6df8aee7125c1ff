import RelucBase
import RelucIR

/// Turns a source file into tokens. Never throws: a bad character becomes an `.error` token and
/// a diagnostic, and lexing goes on. Comments (`#` to the end of the line) are kept aside for the
/// formatter.
public struct Lexer {
  /// The tokens, ending with `.eof`.
  public private(set) var tokens: [Token] = []
  /// The ranges of the comments, in order.
  public private(set) var comments: [SourceRange] = []
  /// What went wrong.
  public private(set) var diagnostics = DiagnosticBag()

  private let file: SourceFile
  private var i = 0

  /// Lexes a whole file.
  public init(_ file: SourceFile) {
    self.file = file
    run()
  }

  private var bytes: [UInt8] { file.bytes }

  private func peek(_ k: Int = 0) -> UInt8 {
    i + k < bytes.count ? bytes[i + k] : 0
  }

  private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

  private mutating func run() {
    // Skip a UTF-8 byte-order mark.
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    while true {
      let c = peek()
      if i >= bytes.count {
        tokens.append(Token(.eof, SourceRange(bytes.count, bytes.count)))
        return
      }
      switch c {
      case 32, 9, 10, 13, 12:
        i += 1
      case UInt8(ascii: "#"):
        let start = i
        while i < bytes.count, bytes[i] != 10 { i += 1 }
        var end = i
        // Trailing white space (a CR of a CRLF line, spaces, tabs) is not part of the comment,
        // so formatting is idempotent.
        while end > start, [13, 32, 9, 12].contains(bytes[end - 1]) { end -= 1 }
        comments.append(SourceRange(start, end))
      case UInt8(ascii: "\""):
        lexString()
      case _ where Self.isDigit(c) || (c == UInt8(ascii: ".") && Self.isDigit(peek(1))):
        lexNumber()
      default:
        if let (kind, n) = punctuation(c) {
          tokens.append(Token(kind, SourceRange(i, i + n)))
          i += n
        } else {
          lexIdentifierOrError()
        }
      }
    }
  }

  private func punctuation(_ c: UInt8) -> (TokenKind, Int)? {
    let next = peek(1)
    switch c {
    case UInt8(ascii: "+"): return (.plus, 1)
    case UInt8(ascii: "-"): return (.minus, 1)
    case UInt8(ascii: "*"): return (.star, 1)
    case UInt8(ascii: "/"): return (.slash, 1)
    case UInt8(ascii: "("): return (.lparen, 1)
    case UInt8(ascii: ")"): return (.rparen, 1)
    case UInt8(ascii: "["): return (.lbracket, 1)
    case UInt8(ascii: "]"): return (.rbracket, 1)
    case UInt8(ascii: ":"): return (.colon, 1)
    case UInt8(ascii: ","): return (.comma, 1)
    case UInt8(ascii: "="): return next == UInt8(ascii: "=") ? (.equalEqual, 2) : (.assign, 1)
    case UInt8(ascii: "<"): return next == UInt8(ascii: "=") ? (.lessEqual, 2) : (.less, 1)
    case UInt8(ascii: ">"): return next == UInt8(ascii: "=") ? (.greaterEqual, 2) : (.greater, 1)
    case UInt8(ascii: "."): return next == UInt8(ascii: ".") ? (.dotdot, 2) : nil
    default: return nil
    }
  }

  private mutating func lexString() {
    let start = i
    i += 1
    while i < bytes.count {
      let c = bytes[i]
      if c == UInt8(ascii: "\"") {
        i += 1
        tokens.append(Token(.string, SourceRange(start, i)))
        return
      }
      if c == 10 { break }
      if c == UInt8(ascii: "\\") {
        let e = peek(1)
        if ![UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "n"), UInt8(ascii: "t")].contains(
          e)
        {
          diagnostics.report(Messages.badEscape, at: .range(file.path, SourceRange(i, i + 2)))
        }
        i += 2
        continue
      }
      i += 1
    }
    i = min(i, bytes.count)
    diagnostics.report(Messages.unterminatedString, at: .range(file.path, SourceRange(start, i)))
    tokens.append(Token(.error, SourceRange(start, i)))
  }

  private mutating func lexNumber() {
    let start = i
    var isReal = false
    while Self.isDigit(peek()) || peek() == UInt8(ascii: "_") { i += 1 }
    if peek() == UInt8(ascii: "."), peek(1) != UInt8(ascii: ".") {
      isReal = true
      i += 1
      while Self.isDigit(peek()) || peek() == UInt8(ascii: "_") { i += 1 }
    }
    if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
      let save = i
      i += 1
      if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
      if Self.isDigit(peek()) {
        isReal = true
        while Self.isDigit(peek()) { i += 1 }
      } else {
        i = save
      }
    }
    // A number running into letters (`12abc`, `1e`) is one malformed token.
    var bad = false
    while i < bytes.count,
      isIdentifierByte(bytes[i])
        || bytes[i] == UInt8(ascii: ".") && peek(1) != UInt8(ascii: ".") && !isReal
    {
      bad = true
      i += 1
    }
    let range = SourceRange(start, i)
    let text = file.text(range).replacingOccurrences("_", "")
    if bad || Double(text) == nil {
      diagnostics.report(Messages.badNumber(file.text(range)), at: .range(file.path, range))
      tokens.append(Token(.error, range))
      return
    }
    tokens.append(Token(isReal ? .real : .integer, range))
  }

  private func isIdentifierByte(_ c: UInt8) -> Bool {
    (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || Self.isDigit(c) || c >= 0x80
  }

  private mutating func lexIdentifierOrError() {
    let start = i
    // Decode scalars: XID_Start (or '_') then XID_Continue.
    var first = true
    while i < bytes.count {
      guard let (scalar, len) = decodeScalar(at: i) else { break }
      let ok =
        first
        ? (scalar.properties.isXIDStart || scalar == "_")
        : scalar.properties.isXIDContinue
      if !ok {
        // A qualified name: `cost.y`, `net.hidden1.pre` (a dot between two identifiers).
        if !first, scalar == ".", let (next, _) = decodeScalar(at: i + 1),
          next.properties.isXIDStart || next == "_"
        {
          first = true
          i += 1
          continue
        }
        break
      }
      first = false
      i += len
    }
    if i == start {
      let len = decodeScalar(at: i)?.1 ?? 1
      let range = SourceRange(start, min(bytes.count, start + len))
      diagnostics.report(
        Messages.unexpectedCharacter(file.text(range)), at: .range(file.path, range))
      tokens.append(Token(.error, range))
      i = range.end
      return
    }
    let range = SourceRange(start, i)
    if let k = Keyword(rawValue: file.text(range)) {
      tokens.append(Token(.keyword(k), range))
    } else {
      tokens.append(Token(.identifier, range))
    }
  }

  private func decodeScalar(at p: Int) -> (Unicode.Scalar, Int)? {
    var it = bytes[p..<min(bytes.count, p + 4)].makeIterator()
    var decoder = UTF8()
    switch decoder.decode(&it) {
    case .scalarValue(let s): return (s, UTF8.width(s))
    default: return nil
    }
  }
}

extension String {
  func replacingOccurrences(_ a: Character, _ b: String) -> String {
    var out = ""
    for c in self { if c == a { out += b } else { out.append(c) } }
    return out
  }
}
