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
  private let file: SourceFile
  private let tokens: [Token]
  private var p = 0
  private var diagnostics = DiagnosticBag()
  private var statements: [Statement] = []
  private var limits = FrontEndLimits()
  /// The current nesting depth of the expression being parsed.
  private var depth = 0
  /// Set when the nesting limit was passed: the rest of the statement is skipped silently.
  private var abandoned = false

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

  private init(file: SourceFile, tokens: [Token]) {
    self.file = file
    self.tokens = tokens
  }

  // MARK: Token access

  private var current: Token { tokens[min(p, tokens.count - 1)] }
  private func peekKind(_ k: Int) -> TokenKind { tokens[min(p + k, tokens.count - 1)].kind }
  private func text(_ t: Token) -> String { file.text(t.range) }
  private func loc(_ r: SourceRange) -> DiagnosticLocation { .range(file.path, r) }

  @discardableResult
  private mutating func advance() -> Token {
    let t = current
    if p < tokens.count - 1 { p += 1 }
    return t
  }

  private var atStatementBoundary: Bool {
    switch current.kind {
    case .eof: return true
    case .keyword(let k): return k.startsStatement
    default: return false
    }
  }

  private func describe(_ t: Token) -> String {
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
  private mutating func expected(_ what: String) {
    if current.kind != .error, !abandoned {
      diagnostics.report(Messages.expected(what, found: describe(current)), at: loc(current.range))
    }
  }

  private mutating func expect(_ kind: TokenKind, _ what: String) -> Token? {
    if current.kind == kind { return advance() }
    expected(what)
    return nil
  }

  /// Skips to the next statement keyword.
  private mutating func synchronize() {
    while !atStatementBoundary { advance() }
  }

  // MARK: Statements

  private mutating func parseModel() {
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

  private mutating func parseStatement() -> Statement? {
    let start = current.range.start
    switch current.kind {
    case .keyword(.network):
      advance()
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
      let end = (digest?.range ?? path.range).end
      return .network(path: path, digest: digest, range: SourceRange(start, end))
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

  private mutating func parseString(_ what: String) -> StringLiteral? {
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

  private mutating func parseOptionValue() -> OptionLiteral? {
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

  private mutating func parseConstraint() -> Statement? {
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
  private mutating func parseBinderList(close: TokenKind, _ closeText: String) -> [Binder]? {
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

  private mutating func expectedClosing(_ what: String, open: Token) {
    if current.kind != .error, !abandoned {
      diagnostics.report(
        Messages.expected(what, found: describe(current)), at: loc(current.range),
        notes: [DiagnosticNote("'\(text(open))' opened here", at: loc(open.range))])
    }
  }

  private mutating func parseRelation() -> Relation? {
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
        Messages.expected("end of the constraint", found: describe(current)), at: loc(current.range),
        help: "a constraint compares at most three expressions")
      return nil
    }
    return Relation(operands: operands, operators: ops, operatorRanges: ranges)
  }

  // MARK: Expressions

  /// Enters one nesting level at `t`; false (after reporting `nesting-too-deep` once) when that
  /// passes the limit. Every successful call is paired with `depth -= 1`.
  private mutating func enter(_ t: Token) -> Bool {
    if abandoned { return false }
    if depth >= limits.maxNesting {
      diagnostics.report(Messages.nestingTooDeep(limits.maxNesting), at: loc(t.range))
      abandoned = true
      return false
    }
    depth += 1
    return true
  }

  /// expression = term { ("+" | "-") term }
  private mutating func parseExpression() -> Expr {
    let first = parseTerm()
    var links: [ChainLink] = []
    while current.kind == .plus || current.kind == .minus {
      let op: BinaryOperator = advance().kind == .plus ? .add : .subtract
      links.append(ChainLink(op, parseTerm()))
    }
    guard let last = links.last else { return first }
    return .chain(first, links, first.range.union(last.operand.range))
  }

  /// term = unary { ("*" | "/") unary }
  private mutating func parseTerm() -> Expr {
    let first = parseUnary()
    var links: [ChainLink] = []
    while current.kind == .star || current.kind == .slash {
      let op: BinaryOperator = advance().kind == .star ? .multiply : .divide
      links.append(ChainLink(op, parseUnary()))
    }
    guard let last = links.last else { return first }
    return .chain(first, links, first.range.union(last.operand.range))
  }

  /// unary = ("-" | "+") unary | primary. The signs are read in a loop; each '-' is a nesting
  /// level (a `.negate` node), a '+' is dropped.
  private mutating func parseUnary() -> Expr {
    var minuses: [Token] = []
    while current.kind == .minus || current.kind == .plus {
      let t = advance()
      if t.kind == .minus {
        guard enter(t) else {
          depth -= minuses.count
          return .missing(t.range)
        }
        minuses.append(t)
      }
    }
    var e = parsePrimary()
    for t in minuses.reversed() { e = .negate(e, t.range.union(e.range)) }
    depth -= minuses.count
    return e
  }

  /// Whether a token can follow a complete operand: then a keyword before it is a name.
  private func canFollowOperand(_ k: TokenKind) -> Bool {
    switch k {
    case .plus, .minus, .star, .slash, .rparen, .lbracket, .rbracket, .comma, .dotdot,
      .lessEqual, .greaterEqual, .equalEqual, .less, .greater, .assign, .eof:
      return true
    case .keyword(let k): return k.startsStatement
    default: return false
    }
  }

  private mutating func parsePrimary() -> Expr {
    let t = current
    if abandoned { return .missing(SourceRange(t.range.start, t.range.start)) }
    switch t.kind {
    case .integer, .real:
      advance()
      let v = Double(text(t).replacingOccurrences("_", "")) ?? .nan
      return .number(v, text: text(t), t.range)
    case .identifier:
      return parseReference()
    case .keyword where canFollowOperand(peekKind(1)):
      // A keyword in operand position followed by what may follow an operand is a name (the
      // network may call its input `sum` or `maximize`); `sum(` is always a sum.
      return parseReference()
    case .lparen:
      let open = advance()
      guard enter(open) else { return .missing(open.range) }
      defer { depth -= 1 }
      let e = parseExpression()
      guard current.kind == .rparen else {
        expectedClosing("')'", open: open)
        return .missing(open.range.union(e.range))
      }
      let close = advance()
      return .paren(e, open.range.union(close.range))
    case .keyword(.sum):
      advance()
      guard current.kind == .lparen else {
        expected("'(' after 'sum'")
        return .missing(t.range)
      }
      // A sum counts two levels: lowering it recurses through the loop over its indices too.
      guard enter(t) else { return .missing(t.range) }
      guard enter(t) else {
        depth -= 1
        return .missing(t.range)
      }
      defer { depth -= 2 }
      if peekKind(1) == .identifier, peekKind(2) == .keyword(.in) {
        guard let binders = parseBinderList(close: .rparen, "')'") else {
          return .missing(t.range)
        }
        let body = parseUnaryTerm()
        return .sum(binders, body, t.range.union(body.range))
      }
      let open = advance()
      let e = parseExpression()
      guard current.kind == .rparen else {
        expectedClosing("')'", open: open)
        return .missing(t.range.union(e.range))
      }
      let close = advance()
      return .sum([], e, t.range.union(close.range))
    default:
      expected("an expression")
      return .missing(SourceRange(t.range.start, t.range.start))
    }
  }

  /// A name, possibly subscripted (`x`, `x[3]`, `x[0..4]`); the name token is current.
  private mutating func parseReference() -> Expr {
    let t = advance()
    let id = Identifier(name: text(t), range: t.range)
    guard current.kind == .lbracket else { return .reference(id, nil, t.range) }
    let open = advance()
    guard enter(open) else { return .missing(t.range.union(open.range)) }
    defer { depth -= 1 }
    let lo = parseExpression()
    var hi: Expr? = nil
    if current.kind == .dotdot {
      advance()
      hi = parseExpression()
    }
    guard current.kind == .rbracket else {
      expectedClosing("']'", open: open)
      return .missing(t.range.union(current.range))
    }
    let close = advance()
    let sub = Subscript(lower: lo, upper: hi, range: open.range.union(close.range))
    return .reference(id, sub, t.range.union(close.range))
  }

  /// The body of an indexed sum: a product of unary factors (binds tighter than + and -).
  private mutating func parseUnaryTerm() -> Expr { parseTerm() }
}
