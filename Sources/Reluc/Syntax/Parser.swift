import RelucBase
import RelucIR

/// Recursive-descent parser for the .rmod language; follows grammar/rmod.ebnf.
///
/// Chains of one precedence level (`a + b + ...`, `2 * x * ...`) are parsed in a loop into one
/// `.chain` node; the parser recurses only per nesting level (parentheses, brackets, unary signs,
/// sums), and nesting deeper than `FrontEndLimits.maxNesting` is a `nesting-too-deep` error at the
/// token that passes the limit, after which the statement is abandoned.
///
/// Never throws on user errors: it records a diagnostic, inserts a `.missing` node where an
/// expression was expected, and resynchronises at the next statement keyword, so one run reports
/// every independent error.
public struct Parser {
  let file: SourceFile
  let tokens: [Token]
  var p = 0
  var diagnostics = DiagnosticBag()
  var statements: [Statement] = []
  var limits = FrontEndLimits()
  /// The current nesting depth of the expression being parsed.
  var depth = 0
  /// Set when the nesting limit was passed: the rest of the statement is skipped silently.
  var abandoned = false

  /// Parses a file; the result holds the syntax tree and all lexical and syntax diagnostics.
  /// Runs on a thread of its own with a large stack (`onLargeStack`), so the nesting limit
  /// holds whatever thread calls it.
  public static func parse(_ file: SourceFile, limits: FrontEndLimits = FrontEndLimits())
    -> (ModelSyntax, DiagnosticBag)
  {
    onLargeStack { parseOnThisThread(file, limits: limits) }
  }

  static func parseOnThisThread(_ file: SourceFile, limits: FrontEndLimits)
    -> (ModelSyntax, DiagnosticBag)
  {
    let lexer = Lexer(file)
    var parser = Parser(file: file, tokens: lexer.tokens)
    parser.limits = limits
    parser.diagnostics = lexer.diagnostics
    parser.parseModel()
    return (
      ModelSyntax(file: file, statements: parser.statements, comments: lexer.comments),
      parser.diagnostics
    )
  }

  init(file: SourceFile, tokens: [Token]) {
    self.file = file
    self.tokens = tokens
  }

  // MARK: Token access

  var current: Token { tokens[min(p, tokens.count - 1)] }
  func peekKind(_ k: Int) -> TokenKind { tokens[min(p + k, tokens.count - 1)].kind }
  func text(_ t: Token) -> String { file.text(t.range) }
  func loc(_ r: SourceRange) -> DiagnosticLocation { .range(file.path, r) }

  @discardableResult
  mutating func advance() -> Token {
    let t = current
    if p < tokens.count - 1 { p += 1 }
    return t
  }

  var atStatementBoundary: Bool {
    switch current.kind {
    case .eof: return true
    case .keyword(let k): return k.startsStatement
    default: return false
    }
  }

  func describe(_ t: Token) -> String {
    switch t.kind {
    case .identifier: return "identifier '\(text(t))'"
    case .integer, .real: return "number '\(text(t))'"
    case .eof: return "end of file"
    case .keyword(let k): return "'\(k.rawValue)'"
    case .error: return "'\(text(t))'"
    default: return t.kind.description
    }
  }

  /// Reports "expected X" at the current token unless it is an error token (already reported).
  mutating func expected(_ what: String) {
    if current.kind != .error, !abandoned {
      diagnostics.report(Messages.expected(what, found: describe(current)), at: loc(current.range))
    }
  }

  mutating func expect(_ kind: TokenKind, _ what: String) -> Token? {
    if current.kind == kind { return advance() }
    expected(what)
    return nil
  }

  /// Skips to the next statement keyword.
  mutating func synchronize() {
    while !atStatementBoundary { advance() }
  }

  // MARK: Statements

  mutating func parseModel() {
    while current.kind != .eof {
      let before = p
      let errorsBefore = diagnostics.errorCount
      depth = 0
      abandoned = false
      if let s = parseStatement() {
        statements.append(s)
        if !atStatementBoundary, current.kind != .error, diagnostics.errorCount == errorsBefore {
          diagnostics.report(
            Messages.expectedStatement(found: describe(current)), at: loc(current.range))
        }
      }
      if diagnostics.errorCount > errorsBefore || !atStatementBoundary {
        if p == before { advance() }
        synchronize()
      }
    }
  }

  mutating func parseStatement() -> Statement? {
    let start = current.range.start
    switch current.kind {
    case .keyword(.network):
      advance()
      var alias: Identifier? = nil
      if current.kind == .identifier {
        alias = Identifier(name: text(current), range: current.range)
        advance()
      }
      guard let path = parseString("the network file path, a string") else { return nil }
      var digest: StringLiteral? = nil
      if current.kind == .identifier, text(current) == "sha256" {
        advance()
        guard let d = parseString("the sha256 digest, a string") else { return nil }
        let hex = d.value.lowercased()
        if hex.count != 64 || !hex.allSatisfy({ $0.isHexDigit }) {
          diagnostics.report(Messages.badDigest, at: loc(d.range))
        }
        digest = d
      }
      var input: Expr? = nil
      if current.kind == .identifier, text(current) == "input" {
        advance()
        input = parseExpression()
      }
      let end = (input?.range ?? digest?.range ?? path.range).end
      return .network(
        NetworkDeclaration(
          alias: alias, path: path, digest: digest, input: input, range: SourceRange(start, end)))
    case .keyword(.maximize), .keyword(.minimize):
      let sense: Sense = current.kind == .keyword(.maximize) ? .maximize : .minimize
      advance()
      let e = parseExpression()
      return .objective(sense, e, range: SourceRange(start, e.range.end))
    case .keyword(.constraint):
      return parseConstraint()
    case .keyword(.option):
      advance()
      guard let nameTok = expect(.identifier, "an option name") else { return nil }
      let name = Identifier(name: text(nameTok), range: nameTok.range)
      guard expect(.assign, "'=' after the option name") != nil else { return nil }
      guard let v = parseOptionValue() else { return nil }
      return .option(name: name, value: v, range: SourceRange(start, v.range.end))
    default:
      if current.kind != .error {
        diagnostics.report(
          Messages.expectedStatement(found: describe(current)), at: loc(current.range))
      }
      return nil
    }
  }

  mutating func parseString(_ what: String) -> StringLiteral? {
    guard current.kind == .string else {
      expected(what)
      return nil
    }
    let t = advance()
    let raw = Array(file.bytes[(t.range.start + 1)..<(t.range.end - 1)])
    var out: [UInt8] = []
    var k = 0
    while k < raw.count {
      if raw[k] == UInt8(ascii: "\\"), k + 1 < raw.count {
        switch raw[k + 1] {
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "t"): out.append(9)
        default: out.append(raw[k + 1])
        }
        k += 2
      } else {
        out.append(raw[k])
        k += 1
      }
    }
    return StringLiteral(value: String(decoding: out, as: UTF8.self), range: t.range)
  }

  mutating func parseOptionValue() -> OptionLiteral? {
    let start = current.range.start
    var sign = 1.0
    if current.kind == .minus || current.kind == .plus {
      if current.kind == .minus { sign = -1 }
      advance()
    }
    let t = current
    switch t.kind {
    case .integer, .real:
      advance()
      let r = SourceRange(start, t.range.end)
      let v = Double(text(t).replacingOccurrences("_", "")) ?? .nan
      return OptionLiteral(value: .number(sign * v), text: file.text(r), range: r)
    case .identifier where sign == 1, .keyword where sign == 1:
      advance()
      return OptionLiteral(value: .identifier(text(t)), text: text(t), range: t.range)
    case .string where sign == 1:
      guard let s = parseString("a value") else { return nil }
      return OptionLiteral(value: .string(s.value), text: file.text(s.range), range: s.range)
    default:
      expected("an option value (a number, a name or a string)")
      return nil
    }
  }

  mutating func parseConstraint() -> Statement? {
    let start = advance().range.start
    var name: Identifier? = nil
    var binders: [Binder] = []
    // Label forms: `name:`, `name[i in a..b]:`, `[i in a..b]:`.
    if current.kind == .identifier, peekKind(1) == .colon {
      name = Identifier(name: text(current), range: current.range)
      advance()
      advance()
    } else if current.kind == .identifier, peekKind(1) == .lbracket, peekKind(2) == .identifier,
      peekKind(3) == .keyword(.in)
    {
      name = Identifier(name: text(current), range: current.range)
      advance()
      guard let b = parseBinderList(close: .rbracket, "']'") else { return nil }
      binders = b
      guard expect(.colon, "':' after the constraint's label") != nil else { return nil }
    } else if current.kind == .lbracket, peekKind(1) == .identifier, peekKind(2) == .keyword(.in) {
      guard let b = parseBinderList(close: .rbracket, "']'") else { return nil }
      binders = b
      guard expect(.colon, "':' after the constraint's label") != nil else { return nil }
    }
    guard let rel = parseRelation() else { return nil }
    return .constraint(
      name: name, binders: binders, rel,
      range: SourceRange(start, rel.operands.last!.range.end))
  }

  /// Parses `( i in a..b, j in c..d )` or the bracketed form, the opener being current.
  mutating func parseBinderList(close: TokenKind, _ closeText: String) -> [Binder]? {
    let open = advance()
    var binders: [Binder] = []
    repeat {
      if current.kind == .comma { advance() }
      let bstart = current.range.start
      guard let nameTok = expect(.identifier, "an index name") else { return nil }
      guard expect(.keyword(.in), "'in'") != nil else { return nil }
      let lo = parseExpression()
      guard expect(.dotdot, "'..' in the index range") != nil else { return nil }
      let hi = parseExpression()
      binders.append(
        Binder(
          name: Identifier(name: text(nameTok), range: nameTok.range), lower: lo, upper: hi,
          range: SourceRange(bstart, hi.range.end)))
    } while current.kind == .comma
    guard current.kind == close else {
      expectedClosing(closeText, open: open)
      return nil
    }
    advance()
    return binders
  }

  mutating func expectedClosing(_ what: String, open: Token) {
    if current.kind != .error, !abandoned {
      diagnostics.report(
        Messages.expected(what, found: describe(current)), at: loc(current.range),
        notes: [DiagnosticNote("'\(text(open))' opened here", at: loc(open.range))])
    }
  }

  mutating func parseRelation() -> Relation? {
    let first = parseExpression()
    if case .missing = first { return nil }
    var operands = [first]
    var ops: [RelationOperator] = []
    var ranges: [SourceRange] = []
    while ops.count < 2 {
      let t = current
      let op: RelationOperator
      switch t.kind {
      case .lessEqual: op = .lessEqual
      case .greaterEqual: op = .greaterEqual
      case .equalEqual: op = .equal
      case .less, .greater:
        diagnostics.report(Messages.strictInequality, at: loc(t.range))
        return nil
      case .assign:
        diagnostics.report(
          Messages.expected("a comparison ('<=', '>=' or '==')", found: "'='"), at: loc(t.range),
          help: "write '==' for an equality")
        return nil
      default:
        if ops.isEmpty {
          expected("a comparison ('<=', '>=' or '==')")
          return nil
        }
        return Relation(operands: operands, operators: ops, operatorRanges: ranges)
      }
      advance()
      ops.append(op)
      ranges.append(t.range)
      let next = parseExpression()
      if case .missing = next { return nil }
      operands.append(next)
    }
    let valid = ops.count == 1 || (ops[0] == ops[1] && ops[0] != .equal)
    if !valid {
      diagnostics.report(Messages.mixedChain, at: loc(ranges[0].union(ranges[1])))
      return nil
    }
    if [TokenKind.lessEqual, .greaterEqual, .equalEqual, .less, .greater].contains(current.kind) {
      diagnostics.report(
        Messages.expected("end of the constraint", found: describe(current)),
        at: loc(current.range),
        help: "a constraint compares at most three expressions")
      return nil
    }
    return Relation(operands: operands, operators: ops, operatorRanges: ranges)
  }
}
