import RelucBase
import RelucIR

/// Expressions: linear forms over the inputs and outputs, indices, sums and quantifiers.
extension Lowering {

  struct Scope {
    var indices: [String: Int] = [:]
  }

  /// Evaluates an expression to a scalar or vector linear form; nil after reporting an error.
  mutating func evaluate(_ e: Expr, _ scope: Scope, _ net: Network) -> Value? {
    switch e {
    case .number(let v, _, _):
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
    case .binary(let op, let a, let b, let range):
      guard let va = evaluate(a, scope, net), let vb = evaluate(b, scope, net) else { return nil }
      switch op {
      case .add, .subtract:
        return zip(va, vb, range) { op == .add ? $0 + $1 : $0 - $1 }
      case .multiply:
        if case .scalar(let s) = vb, s.isConstant { return map(va) { $0.scaled(s.constant) } }
        if case .scalar(let s) = va, s.isConstant { return map(vb) { $0.scaled(s.constant) } }
        if va.isConstant, vb.isConstant {
          return zip(va, vb, range) { .constant($0.constant * $1.constant) }
        }
        diagnostics.report(Messages.nonlinear, at: loc(range))
        return nil
      case .divide:
        guard case .scalar(let s) = vb, s.isConstant else {
          diagnostics.report(Messages.nonlinear, at: loc(range))
          return nil
        }
        guard s.constant != 0 else {
          diagnostics.report(Messages.divisionByZero, at: loc(b.range))
          return nil
        }
        return map(va) { $0.scaled(1 / s.constant) }
      }
    case .sum(let binders, let body, _):
      if binders.isEmpty {
        guard let v = evaluate(body, scope, net) else { return nil }
        return .scalar(v.components.reduce(Affine(), +))
      }
      var total: Value? = .scalar(Affine())
      let ok = forEachAssignment(binders, scope, net) { me, inner in
        guard let v = me.evaluate(body, inner, net), let t = total else {
          total = nil
          return false
        }
        total = me.zip(t, v, body.range, +)
        return total != nil
      }
      return ok ? total : nil
    }
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

  /// Evaluates an integer expression (indices, ranges).
  mutating func integer(_ e: Expr, _ scope: Scope, _ net: Network) -> Int? {
    guard let v = evaluate(e, scope, net) else { return nil }
    guard case .scalar(let a) = v, a.isConstant, a.constant == a.constant.rounded(),
      abs(a.constant) < 1e15
    else {
      diagnostics.report(Messages.notInteger, at: loc(e.range))
      return nil
    }
    return Int(a.constant)
  }

  mutating func reference(_ id: Identifier, _ sub: Subscript?, _ scope: Scope, _ net: Network)
    -> Value?
  {
    if let i = scope.indices[id.name] {
      if let sub {
        diagnostics.report(Messages.indexNeedsVariable, at: loc(sub.range))
        return nil
      }
      return .scalar(.constant(Double(i)))
    }
    let isInput = id.name == net.inputName
    guard isInput || id.name == net.outputName else {
      let candidates = [net.inputName, net.outputName] + Array(scope.indices.keys)
      diagnostics.report(
        Messages.unknownName(id.name, suggestion: closestMatch(to: id.name, among: candidates)),
        at: loc(id.range),
        notes: networkNote(
          "the network names its input '\(net.inputName)' and its output '\(net.outputName)'"))
      return nil
    }
    let size = isInput ? net.inputSize : net.outputSize
    func element(_ k: Int) -> Affine {
      isInput ? Affine(x: [k: 1]) : Affine(y: [k: 1])
    }
    guard let sub else { return .vector((0..<size).map(element)) }
    guard let lo = integer(sub.lower, scope, net) else { return nil }
    guard (0..<size).contains(lo) else {
      diagnostics.report(
        Messages.indexOutOfRange(lo, id.name, size), at: loc(sub.lower.range),
        notes: networkNote("'\(id.name)' is declared by the network"))
      return nil
    }
    guard let upperExpr = sub.upper else { return .scalar(element(lo)) }
    guard let hi = integer(upperExpr, scope, net) else { return nil }
    guard (0..<size).contains(hi) else {
      diagnostics.report(
        Messages.indexOutOfRange(hi, id.name, size), at: loc(upperExpr.range),
        notes: networkNote("'\(id.name)' is declared by the network"))
      return nil
    }
    guard lo <= hi else {
      diagnostics.report(Messages.emptySlice(lo, hi), at: loc(sub.range))
      return nil
    }
    return .vector((lo...hi).map(element))
  }

  /// Calls `body` for every assignment of the binders (row-major); false stops early.
  mutating func forEachAssignment(
    _ binders: [Binder], _ scope: Scope, _ net: Network,
    _ body: (inout Lowering, Scope) -> Bool
  ) -> Bool {
    guard let first = binders.first else { return body(&self, scope) }
    if scope.indices[first.name.name] != nil || first.name.name == net.inputName
      || first.name.name == net.outputName
    {
      diagnostics.report(Messages.shadowedName(first.name.name), at: loc(first.name.range))
      return false
    }
    guard let lo = integer(first.lower, scope, net), let hi = integer(first.upper, scope, net)
    else { return false }
    guard lo <= hi else {
      diagnostics.report(Messages.emptySlice(lo, hi), at: loc(first.range))
      return false
    }
    guard hi - lo < 10_000_000 else {
      diagnostics.report(Messages.tooManyRows, at: loc(first.range))
      return false
    }
    for i in lo...hi {
      var inner = scope
      inner.indices[first.name.name] = i
      if !forEachAssignment(Array(binders.dropFirst()), inner, net, body) { return false }
    }
    return true
  }
}
