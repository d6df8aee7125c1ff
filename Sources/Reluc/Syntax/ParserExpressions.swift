import RelucBase
import RelucIR

/// Expressions: chains of one precedence level in a loop, recursion per nesting level only.
extension Parser {

  /// Enters one nesting level at `t`; false (after reporting `nesting-too-deep` once) when that
  /// passes the limit. Every successful call is paired with `depth -= 1`.
  mutating func enter(_ t: Token) -> Bool {
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
  mutating func parseExpression() -> Expr {
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
  mutating func parseTerm() -> Expr {
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
  mutating func parseUnary() -> Expr {
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
  func canFollowOperand(_ k: TokenKind) -> Bool {
    switch k {
    case .plus, .minus, .star, .slash, .rparen, .lbracket, .rbracket, .comma, .dotdot,
      .lessEqual, .greaterEqual, .equalEqual, .less, .greater, .assign, .eof:
      return true
    case .keyword(let k): return k.startsStatement
    default: return false
    }
  }

  mutating func parsePrimary() -> Expr {
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
  mutating func parseReference() -> Expr {
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
  mutating func parseUnaryTerm() -> Expr { parseTerm() }
}
