import RelucBase
import RelucIR

/// Expressions: linear forms over the inputs and outputs, indices, sums and quantifiers.
extension Lowering {

  struct Scope {
    var indices: [String: Int] = [:]
  }

  /// Evaluates an expression to a scalar or vector linear form; nil after reporting an error.
  /// Recursion is per nesting level only: chains and sums are accumulated in place in a loop.
  mutating func evaluate(_ e: Expr, _ scope: Scope, _ net: Symbols) -> Value? {
    if halted { return nil }
    switch e {
    case .number(let v, _, let range):
      guard countTerms(1, at: range) else { return nil }
      return .scalar(.constant(v))
    case .missing:
      return nil
    case .paren(let inner, _):
      return evaluate(inner, scope, net)
    case .negate(let inner, _):
      guard let v = evaluate(inner, scope, net) else { return nil }
      return map(v) { $0.scaled(-1) }
    case .reference(let id, let sub, _):
      return reference(id, sub, scope, net)
    case .chain(let first, let links, _):
      guard var acc = evaluate(first, scope, net) else { return nil }
      let additive = links.first.map { $0.op == .add || $0.op == .subtract } ?? true
      for link in links {
        guard let v = evaluate(link.operand, scope, net) else { return nil }
        // The range of the operation, as if the chain were nested to the left.
        let range = first.range.union(link.operand.range)
        if additive {
          guard accumulate(&acc, v, times: link.op == .add ? 1 : -1, range) else { return nil }
        } else {
          guard let r = multiply(acc, link.op, v, range, rhsRange: link.operand.range) else {
            return nil
          }
          acc = r
        }
      }
      if additive {
        acc = map(acc) {
          var a = $0
          a.prune()
          return a
        }
      }
      return acc
    case .sum(let binders, let body, _):
      if binders.isEmpty {
        guard let v = evaluate(body, scope, net) else { return nil }
        var total = Affine()
        for c in v.components { total.add(c) }
        total.prune()
        return .scalar(total)
      }
      var total: Value = .scalar(Affine())
      let ok = forEachAssignment(binders, scope, net, generating: .terms) { me, inner in
        guard let v = me.evaluate(body, inner, net) else { return false }
        return me.accumulate(&total, v, times: 1, body.range)
      }
      guard ok else { return nil }
      return map(total) {
        var a = $0
        a.prune()
        return a
      }
    }
  }

  /// `acc += s * v` in place (a scalar broadcasts over a vector); false after reporting a
  /// length mismatch.
  mutating func accumulate(_ acc: inout Value, _ v: Value, times s: Double, _ range: SourceRange)
    -> Bool
  {
    switch (acc, v) {
    case (.scalar(var a), .scalar(let b)):
      acc = .scalar(Affine())  // drop the reference so that `a` is modified in place
      a.add(b, times: s)
      acc = .scalar(a)
    case (.scalar(let a), .vector(let bs)):
      acc = .vector(
        bs.map {
          var r = a
          r.add($0, times: s)
          return r
        })
    case (.vector(var xs), .scalar(let b)):
      acc = .scalar(Affine())
      for k in xs.indices { xs[k].add(b, times: s) }
      acc = .vector(xs)
    case (.vector(var xs), .vector(let ys)):
      guard xs.count == ys.count else {
        diagnostics.report(Messages.lengthMismatch(xs.count, ys.count), at: loc(range))
        return false
      }
      acc = .scalar(Affine())
      for k in xs.indices { xs[k].add(ys[k], times: s) }
      acc = .vector(xs)
    }
    return true
  }

  /// `va * vb` or `va / vb` (one side constant, or a constant divisor).
  mutating func multiply(
    _ va: Value, _ op: BinaryOperator, _ vb: Value, _ range: SourceRange, rhsRange: SourceRange
  ) -> Value? {
    if op == .multiply {
      if case .scalar(let s) = vb, s.isConstant { return map(va) { $0.scaled(s.constant) } }
      if case .scalar(let s) = va, s.isConstant { return map(vb) { $0.scaled(s.constant) } }
      if va.isConstant, vb.isConstant {
        return zip(va, vb, range) { .constant($0.constant * $1.constant) }
      }
      diagnostics.report(Messages.nonlinear, at: loc(range))
      return nil
    }
    guard case .scalar(let s) = vb, s.isConstant else {
      diagnostics.report(Messages.nonlinear, at: loc(range))
      return nil
    }
    guard s.constant != 0 else {
      diagnostics.report(Messages.divisionByZero, at: loc(rhsRange))
      return nil
    }
    return map(va) { $0.scaled(1 / s.constant) }
  }

  func map(_ v: Value, _ f: (Affine) -> Affine) -> Value {
    switch v {
    case .scalar(let a): return .scalar(f(a))
    case .vector(let c): return .vector(c.map(f))
    }
  }

  mutating func zip(_ a: Value, _ b: Value, _ range: SourceRange, _ f: (Affine, Affine) -> Affine)
    -> Value?
  {
    switch (a, b) {
    case (.scalar(let x), .scalar(let y)): return .scalar(f(x, y))
    case (.scalar(let x), .vector(let ys)): return .vector(ys.map { f(x, $0) })
    case (.vector(let xs), .scalar(let y)): return .vector(xs.map { f($0, y) })
    case (.vector(let xs), .vector(let ys)):
      guard xs.count == ys.count else {
        diagnostics.report(Messages.lengthMismatch(xs.count, ys.count), at: loc(range))
        return nil
      }
      return .vector(Swift.zip(xs, ys).map(f))
    }
  }

  /// Evaluates an integer expression (indices, ranges). An integral value too large for an
  /// index is returned as nil by `integer` after `index-out-of-range`-style handling by the
  /// caller: see `integralValue`.
  mutating func integer(_ e: Expr, _ scope: Scope, _ net: Symbols) -> Int? {
    guard let v = integralValue(e, scope, net) else { return nil }
    guard abs(v) < 1e15 else {
      diagnostics.report(Messages.notInteger, at: loc(e.range))
      return nil
    }
    return Int(v)
  }

  /// The value of an integer expression, possibly too large for an `Int`; nil after reporting
  /// `not-integer` (a fraction, a vector or a form that depends on the variables).
  mutating func integralValue(_ e: Expr, _ scope: Scope, _ net: Symbols) -> Double? {
    guard let v = evaluate(e, scope, net) else { return nil }
    guard case .scalar(let a) = v, a.isConstant, a.constant == a.constant.rounded() else {
      diagnostics.report(Messages.notInteger, at: loc(e.range))
      return nil
    }
    return a.constant
  }

  /// An index into a vector of `size` entries; nil after reporting `index-out-of-range` (also
  /// for indices too large for an integer, such as 99999999999999999999).
  mutating func index(_ e: Expr, _ scope: Scope, _ net: Symbols, _ name: String, _ size: Int)
    -> Int?
  {
    guard let v = integralValue(e, scope, net) else { return nil }
    guard v >= 0, v < Double(size) else {
      let shown: String = abs(v) < 1e15 ? String(Int(v)) : formatNumber(v)
      diagnostics.report(
        Messages.indexOutOfRange(shown, name, size), at: loc(e.range),
        notes: networkNote("'\(name)' is declared by the network"))
      return nil
    }
    return Int(v)
  }

  mutating func reference(_ id: Identifier, _ sub: Subscript?, _ scope: Scope, _ net: Symbols)
    -> Value?
  {
    if let i = scope.indices[id.name] {
      if let sub {
        diagnostics.report(Messages.indexNeedsVariable, at: loc(sub.range))
        return nil
      }
      guard countTerms(1, at: id.range) else { return nil }
      return .scalar(.constant(Double(i)))
    }
    guard let meaning = net.resolve(id.name) else {
      let candidates = net.knownNames + Array(scope.indices.keys)
      let prefix = id.name.split(separator: ".").first.map(String.init)
      if id.name.contains("."), let m = net.networks.first(where: { $0.alias == prefix }) {
        let layers = m.layerNames.joined(separator: ", ")
        diagnostics.report(
          Messages.unknownName(id.name, suggestion: closestMatch(to: id.name, among: candidates)),
          at: loc(id.range),
          notes: [
            DiagnosticNote(
              "network '\(prefix!)' has the output '\(m.network.outputName)' and the layers \(layers) (each also LAYER.pre)",
              at: loc(m.declaration.range))
          ])
        return nil
      }
      diagnostics.report(
        Messages.unknownName(id.name, suggestion: closestMatch(to: id.name, among: candidates)),
        at: loc(id.range),
        notes: networkNote(
          net.networks.count == 1
            ? "the network names its input '\(net.inputName)' and its output '\(net.networks[0].network.outputName)'"
            : "the decision vector is '\(net.inputName)'; a network's outputs are ALIAS.\(net.networks[0].network.outputName)"
        ))
      return nil
    }
    let size = vectorSize(meaning, net)
    let whole = sub.map { $0.range } ?? id.range
    guard let sub else {
      guard countTerms(size, at: whole) else { return nil }
      var v: [Affine] = []
      v.reserveCapacity(size)
      for k in 0..<size { v.append(element(meaning, k, net)) }
      return .vector(v)
    }
    guard let lo = index(sub.lower, scope, net, id.name, size) else { return nil }
    guard let upperExpr = sub.upper else {
      guard countTerms(1, at: whole) else { return nil }
      return .scalar(element(meaning, lo, net))
    }
    guard let hi = index(upperExpr, scope, net, id.name, size) else { return nil }
    guard lo <= hi else {
      diagnostics.report(Messages.emptySlice(lo, hi), at: loc(sub.range))
      return nil
    }
    guard countTerms(hi - lo + 1, at: whole) else { return nil }
    var v: [Affine] = []
    for k in lo...hi { v.append(element(meaning, k, net)) }
    return .vector(v)
  }

  /// What the assignments of a binder list generate: terms of a sum, or constraints.
  enum Generating { case terms, constraints }

  /// Calls `body` for every assignment of the binders (row-major); false stops early.
  ///
  /// Before iterating a binder, the number of assignments it multiplies the enclosing expansion
  /// into is checked against the limit (`maxExpandedTerms` for sums, `maxConstraints` for
  /// quantified constraints), so a huge range is an error at once, not hours or gigabytes later.
  mutating func forEachAssignment(
    _ binders: [Binder], _ scope: Scope, _ net: Symbols, generating: Generating,
    _ body: (inout Lowering, Scope) -> Bool
  ) -> Bool {
    guard let first = binders.first else { return body(&self, scope) }
    if halted { return false }
    if scope.indices[first.name.name] != nil || net.isVector(first.name.name) {
      diagnostics.report(Messages.shadowedName(first.name.name), at: loc(first.name.range))
      return false
    }
    guard let loValue = integralValue(first.lower, scope, net),
      let hiValue = integralValue(first.upper, scope, net)
    else { return false }
    let limit = generating == .terms ? limits.maxExpandedTerms : limits.maxConstraints
    let tooMany =
      generating == .terms ? Messages.tooManyTerms(limit) : Messages.tooManyConstraints(limit)
    if abs(loValue) >= 1e15 || abs(hiValue) >= 1e15 {
      // Too large for an index: an error either way, naming the limit when that is the cause.
      if hiValue - loValue + 1 > Double(limit) {
        halt(tooMany, at: first.range)
      } else {
        let bad = abs(loValue) >= 1e15 ? first.lower : first.upper
        diagnostics.report(Messages.notInteger, at: loc(bad.range))
      }
      return false
    }
    guard loValue <= hiValue else {
      diagnostics.report(Messages.emptySlice(Int(loValue), Int(hiValue)), at: loc(first.range))
      return false
    }
    let total = Double(expansion) * (hiValue - loValue + 1)
    guard total <= Double(limit) else {
      halt(tooMany, at: first.range)
      return false
    }
    let (lo, hi) = (Int(loValue), Int(hiValue))
    let outer = expansion
    expansion = Int(total)
    defer { expansion = outer }
    let rest = Array(binders.dropFirst())
    for i in lo...hi {
      var inner = scope
      inner.indices[first.name.name] = i
      if !forEachAssignment(rest, inner, net, generating: generating, body) { return false }
    }
    return true
  }
}
