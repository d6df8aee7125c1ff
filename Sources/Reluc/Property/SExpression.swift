import RelucBase

/// An S-expression of a VNN-LIB file: an atom (a symbol or a number, as written) or a
/// parenthesized list, each with its byte range in the file.
public indirect enum SExpression: Sendable, Equatable {
  /// A symbol or number as written.
  case atom(String, SourceRange)
  /// `( ... )`.
  case list([SExpression], SourceRange)

  /// The byte range.
  public var range: SourceRange {
    switch self {
    case .atom(_, let r), .list(_, let r): return r
    }
  }

  /// The head symbol of a list (`assert` in `(assert ...)`), nil otherwise.
  public var head: String? {
    if case .list(let items, _) = self, case .atom(let s, _)? = items.first { return s }
    return nil
  }

  /// A short description for messages: the atom, or `(head ...)`.
  public var shown: String {
    switch self {
    case .atom(let s, _): return "'\(s)'"
    case .list(let items, _):
      if items.isEmpty { return "'()'" }
      return head.map { "'(\($0) ...)'" } ?? "a list"
    }
  }
}

/// Reads the S-expressions of a VNN-LIB file: `;` comments to the end of the line, parentheses,
/// and atoms (maximal runs of other printable characters). Never throws; reports unexpected
/// characters and unmatched parentheses and keeps going (an unclosed list is closed at the end
/// of the file); stops at nesting beyond `maxNesting`.
public enum SExpressionReader {
  /// The deepest nesting accepted (VNN-COMP files nest 3 or 4 levels).
  public static let maxNesting = 256

  /// The top-level expressions of `file`, with the diagnostics.
  public static func read(_ file: SourceFile) -> ([SExpression], DiagnosticBag) {
    var bag = DiagnosticBag()
    let b = file.bytes
    var stack: [(items: [SExpression], start: Int)] = [([], 0)]
    var i = 0
    func loc(_ s: Int, _ e: Int) -> DiagnosticLocation { .range(file.path, SourceRange(s, e)) }
    while i < b.count {
      let c = b[i]
      switch c {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0C:
        i += 1
      case UInt8(ascii: ";"):
        while i < b.count, b[i] != UInt8(ascii: "\n") { i += 1 }
      case UInt8(ascii: "("):
        if stack.count > maxNesting {
          // Stops here: nothing deeper is built (a tree a million levels deep would also be
          // freed recursively).
          bag.report(Messages.vnnlibNestingTooDeep(maxNesting), at: loc(i, i + 1))
          return ([], bag)
        }
        stack.append(([], i))
        i += 1
      case UInt8(ascii: ")"):
        if stack.count == 1 {
          bag.report(Messages.unmatchedBracket, at: loc(i, i + 1))
        } else {
          let top = stack.removeLast()
          stack[stack.count - 1].items.append(.list(top.items, SourceRange(top.start, i + 1)))
        }
        i += 1
      default:
        let start = i
        // An atom: printable ASCII other than parentheses, ';', quotes and bars (SMT-LIB's
        // strings and quoted symbols are not VNN-LIB's), or any UTF-8 sequence (reported).
        while i < b.count, isAtomByte(b[i]) { i += 1 }
        if i == start {
          if bag.errorCount >= VNNLibReader.maxErrors {
            bag.report(Messages.vnnlibTooManyErrors(VNNLibReader.maxErrors), at: loc(i, i + 1))
            return ([], bag)
          }
          var end = i + 1
          while end < b.count, b[end] & 0xC0 == 0x80 { end += 1 }
          bag.report(
            Messages.unexpectedCharacter(String(decoding: b[start..<end], as: UTF8.self)),
            at: loc(start, end))
          i = end
        } else {
          stack[stack.count - 1].items.append(
            .atom(String(decoding: b[start..<i], as: UTF8.self), SourceRange(start, i)))
        }
      }
    }
    while stack.count > 1 {
      let top = stack.removeLast()
      bag.report(Messages.unmatchedBracket, at: loc(top.start, top.start + 1))
      stack[stack.count - 1].items.append(.list(top.items, SourceRange(top.start, b.count)))
    }
    return (stack[0].items, bag)
  }

  static func isAtomByte(_ c: UInt8) -> Bool {
    c > 0x20 && c < 0x7F && c != UInt8(ascii: "(") && c != UInt8(ascii: ")")
      && c != UInt8(ascii: ";") && c != UInt8(ascii: "\"") && c != UInt8(ascii: "|")
  }
}
