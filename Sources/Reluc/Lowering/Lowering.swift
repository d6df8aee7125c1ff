import RelucBase
import RelucIR
import RelucXML

#if canImport(Glibc)
  import Glibc
#endif

/// Resolves names, checks dimensions and folds a parsed model into a `Problem`.
///
/// Name resolution: the input and output vectors are named by the network file; index names are
/// bound by quantifiers and sums. Constraints over a single input with a constant coefficient
/// become bounds; the rest become rows of `A x <= b`. Constraints on outputs are rejected
/// (documented): every back end would have to support them.
public struct Lowering {
  let model: ModelSyntax
  let modelDirectory: String
  let reader: NetworkReader
  var diagnostics = DiagnosticBag()
  var network: Network?
  var networkStatement: SourceRange?

  /// Creates a lowering for a parsed model.
  public init(model: ModelSyntax, reader: NetworkReader = NetworkReader()) {
    self.model = model
    self.reader = reader
    let path = model.file.path
    if let slash = path.lastIndex(of: "/") {
      modelDirectory = String(path[..<slash])
    } else {
      modelDirectory = "."
    }
  }

  private var file: SourceFile { model.file }
  private func loc(_ r: SourceRange) -> DiagnosticLocation { .range(file.path, r) }

  /// Lowers the model; command-line option overrides are applied after the file's options.
  /// Returns nil when any error was reported.
  public mutating func lower(overrides: [(String, OptionValue)] = []) -> (Problem?, DiagnosticBag) {
    guard let net = loadNetwork() else { return (nil, diagnostics) }
    network = net
    let objective = lowerObjective(net)
    let polytope = lowerConstraints(net)
    var options = lowerOptions()
    for (name, value) in overrides {
      do throws(OptionError) {
        try options.set(name, value)
      } catch {
        switch error {
        case .unknown(let s):
          diagnostics.report(
            Messages.unknownOption(name, suggestion: s), at: nil,
            notes: [DiagnosticNote("given on the command line")])
        case .badValue(let expected):
          diagnostics.report(
            Messages.badOptionValue(name, value.description, expected), at: nil,
            notes: [DiagnosticNote("given on the command line")])
        }
      }
    }
    guard !diagnostics.hasErrors, let objective, let polytope else { return (nil, diagnostics) }
    return (
      Problem(network: net, polytope: polytope, objective: objective, options: options),
      diagnostics
    )
  }

  // MARK: Network

  /// The path of the network file, as resolved against the model's folder.
  func resolve(_ path: String) -> String {
    path.hasPrefix("/") ? path : (modelDirectory == "." ? path : modelDirectory + "/" + path)
  }

  mutating func loadNetwork() -> Network? {
    var found: (StringLiteral, StringLiteral?, SourceRange)? = nil
    for s in model.statements {
      guard case .network(let path, let digest, let range) = s else { continue }
      if let first = found {
        diagnostics.report(
          Messages.duplicateNetwork, at: loc(range),
          notes: [DiagnosticNote("network declared here", at: loc(first.2))])
      } else {
        found = (path, digest, range)
      }
    }
    guard let (path, digest, range) = found else {
      diagnostics.report(Messages.missingNetwork, at: .range(file.path, SourceRange(0, 0)))
      return nil
    }
    networkStatement = range
    if path.value.hasPrefix("/") {
      diagnostics.report(Messages.absolutePath, at: loc(path.range))
    }
    let resolved = resolve(path.value)
    if let digest {
      guard let actual = sha256(ofFile: resolved) else {
        diagnostics.report(Messages.networkNotFound(resolved), at: loc(path.range))
        return nil
      }
      let expected = digest.value.lowercased()
      if actual != expected {
        diagnostics.report(
          Messages.digestMismatch(expected, actual), at: loc(digest.range),
          notes: [DiagnosticNote("the digest was computed over '\(resolved)'")])
        return nil
      }
    }
    switch reader.read(path: resolved) {
    case .success(let net):
      let largest = net.layers.reduce(0.0) { m, l in
        max(m, l.weights.reduce(0.0) { max($0, abs($1)) }, l.bias.reduce(0.0) { max($0, abs($1)) })
      }
      if largest > 1e9 {
        diagnostics.report(
          Messages.hugeWeight(largest), at: loc(path.range),
          help: "keep the default 'option bounds = lp', which tightens the big-M constants")
      }
      return net
    case .failure(let bag):
      for var d in bag.all {
        if d.id == "network-not-found" {
          d.location = loc(path.range)
        } else {
          d.notes.append(DiagnosticNote("network declared here", at: loc(path.range)))
        }
        diagnostics.add(d)
      }
      return nil
    }
  }

  // MARK: Expressions

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

  func networkNote(_ text: String) -> [DiagnosticNote] {
    guard let r = networkStatement else { return [] }
    return [DiagnosticNote(text, at: loc(r))]
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

  // MARK: Objective

  mutating func lowerObjective(_ net: Network) -> Objective? {
    var found: (Sense, Expr, SourceRange)? = nil
    for s in model.statements {
      guard case .objective(let sense, let e, let range) = s else { continue }
      if let first = found {
        diagnostics.report(
          Messages.duplicateObjective, at: loc(range),
          notes: [DiagnosticNote("first objective here", at: loc(first.2))])
        continue
      }
      found = (sense, e, range)
    }
    guard let (sense, e, _) = found else {
      diagnostics.report(Messages.missingObjective, at: .range(file.path, SourceRange(0, 0)))
      return nil
    }
    guard let v = evaluate(e, Scope(), net) else { return nil }
    guard case .scalar(let a) = v else {
      diagnostics.report(Messages.vectorObjective(v.components.count), at: loc(e.range))
      return nil
    }
    var c = [Double](repeating: 0, count: net.outputSize)
    var d = [Double](repeating: 0, count: net.inputSize)
    for (k, w) in a.y { c[k] = w }
    for (k, w) in a.x { d[k] = w }
    if (c + d).contains(where: { abs($0) > 1e9 }) {
      diagnostics.report(Messages.hugeCoefficient, at: loc(e.range))
    }
    return Objective(sense: sense, outputWeights: c, inputWeights: d, constant: a.constant)
  }

  // MARK: Constraints

  mutating func lowerConstraints(_ net: Network) -> Polytope? {
    let n = net.inputSize
    var lower = net.inputLower ?? [Double](repeating: -.infinity, count: n)
    var upper = net.inputUpper ?? [Double](repeating: .infinity, count: n)
    var lowerFrom = [SourceRange?](repeating: nil, count: n)
    var upperFrom = [SourceRange?](repeating: nil, count: n)
    var matrix: [Double] = []
    var rhs: [Double] = []
    var names: [String] = []
    var seenNames: [String: SourceRange] = [:]
    let errorsBefore = diagnostics.errorCount

    for s in model.statements {
      guard case .constraint(let name, let binders, let rel, let range) = s else { continue }
      if let name {
        if let prev = seenNames[name.name] {
          diagnostics.report(
            Messages.duplicateConstraint(name.name), at: loc(name.range),
            notes: [DiagnosticNote("first defined here", at: loc(prev))])
          continue
        }
        seenNames[name.name] = name.range
      }
      let baseName = name?.name ?? "c\(file.position(of: range.start).line)"
      var reportedOutput = false
      var reportedHuge = false
      _ = forEachAssignment(binders, Scope(), net) { me, scope in
        var values: [Value] = []
        for operand in rel.operands {
          guard let v = me.evaluate(operand, scope, net) else { return false }
          values.append(v)
        }
        let length = values.map { $0.components.count }.max() ?? 1
        for v in values where v.components.count != 1 && v.components.count != length {
          me.diagnostics.report(
            Messages.lengthMismatch(v.components.count, length), at: me.loc(range))
          return false
        }
        let suffix = binders.isEmpty ? "" : "[" + binders.map { String(scope.indices[$0.name.name]!) }.joined(separator: ",") + "]"
        for k in 0..<length {
          func comp(_ v: Value) -> Affine { v.components.count == 1 ? v.components[0] : v.components[k] }
          for (o, op) in rel.operators.enumerated() {
            // lhs op rhs  ->  (lhs - rhs) op 0
            let diff = comp(values[o]) - comp(values[o + 1])
            let rowName = baseName + suffix + (length > 1 ? "{\(k)}" : "")
            if !diff.y.isEmpty {
              if !reportedOutput {
                me.diagnostics.report(Messages.outputConstraint, at: me.loc(range))
                reportedOutput = true
              }
              return false
            }
            if !reportedHuge, diff.x.values.contains(where: { abs($0) > 1e9 }) {
              me.diagnostics.report(Messages.hugeCoefficient, at: me.loc(range))
              reportedHuge = true
            }
            let senses: [Double] = op == .equal ? [1, -1] : (op == .lessEqual ? [1] : [-1])
            for sign in senses {
              let row = diff.scaled(sign)  // row.x . x + row.constant <= 0
              if row.x.isEmpty {
                if row.constant > 1e-12 * max(1, abs(row.constant)) {
                  me.diagnostics.report(
                    Messages.constantConstraintFalse(me.file.text(range)), at: me.loc(range))
                  return false
                }
                if sign == senses[0] {
                  me.diagnostics.report(Messages.constantConstraintTrue, at: me.loc(range))
                }
                continue
              }
              if row.x.count == 1, let (j, a) = row.x.first {
                let bound = -row.constant / a
                if a > 0 {
                  if bound < upper[j] {
                    upper[j] = bound
                    upperFrom[j] = range
                  }
                } else if bound > lower[j] {
                  lower[j] = bound
                  lowerFrom[j] = range
                }
                continue
              }
              if rhs.count >= 10_000_000 {
                me.diagnostics.report(Messages.tooManyRows, at: me.loc(range))
                return false
              }
              var dense = [Double](repeating: 0, count: n)
              for (j, a) in row.x { dense[j] = a }
              matrix.append(contentsOf: dense)
              rhs.append(-row.constant)
              names.append(rowName)
            }
          }
        }
        return true
      }
    }
    guard diagnostics.errorCount == errorsBefore else { return nil }

    // Crossed and missing bounds.
    let inputName = net.inputName
    for j in 0..<n where lower[j] > upper[j] {
      var notes: [DiagnosticNote] = []
      if let r = lowerFrom[j] { notes.append(DiagnosticNote("lower bound set here", at: loc(r))) }
      if let r = upperFrom[j] { notes.append(DiagnosticNote("upper bound set here", at: loc(r))) }
      if lowerFrom[j] == nil || upperFrom[j] == nil {
        notes.append(contentsOf: networkNote("the network file gives bounds too"))
      }
      let at = upperFrom[j] ?? lowerFrom[j] ?? networkStatement ?? SourceRange(0, 0)
      diagnostics.report(
        Messages.boundsCross("\(inputName)[\(j)]", lower[j], upper[j]), at: loc(at), notes: notes)
    }
    for (side, values) in [("lower", lower), ("upper", upper)] {
      let missing = (0..<n).filter { values[$0].isInfinite }
      guard !missing.isEmpty else { continue }
      let list: String
      if missing.count == n, n > 1 {
        list = "\(inputName)[0..\(n - 1)]"
      } else {
        list =
          missing.prefix(4).map { "\(inputName)[\($0)]" }.joined(separator: ", ")
          + (missing.count > 4 ? " and \(missing.count - 4) more" : "")
      }
      diagnostics.report(
        Messages.unbounded(list, side, plural: missing.count > 1),
        at: loc(networkStatement ?? SourceRange(0, 0)))
    }
    guard diagnostics.errorCount == errorsBefore else { return nil }
    return Polytope(
      dimension: n, matrix: matrix, rhs: rhs, rowNames: names, lower: lower, upper: upper)
  }

  // MARK: Options

  mutating func lowerOptions() -> SolveOptions {
    var options = SolveOptions()
    var seen: [String: SourceRange] = [:]
    for s in model.statements {
      guard case .option(let name, let value, let range) = s else { continue }
      do throws(OptionError) {
        try options.set(name.name, value.value)
        if let prev = seen[name.name] {
          diagnostics.report(
            Messages.duplicateOption(name.name), at: loc(range),
            notes: [DiagnosticNote("first set here", at: loc(prev))])
        }
        seen[name.name] = range
      } catch {
        switch error {
        case .unknown(let suggestion):
          diagnostics.report(
            Messages.unknownOption(name.name, suggestion: suggestion), at: loc(name.range))
        case .badValue(let expected):
          diagnostics.report(
            Messages.badOptionValue(name.name, value.text, expected), at: loc(value.range))
        }
      }
    }
    return options
  }
}

/// SHA-256 of a file's bytes, streamed; nil when it cannot be read.
public func sha256(ofFile path: String) -> String? {
  guard let f = fopen(path, "rb") else { return nil }
  defer { fclose(f) }
  var hasher = SHA256()
  var buffer = [UInt8](repeating: 0, count: 1 << 20)
  while true {
    let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
    if n == 0 { break }
    hasher.update(buffer[0..<n])
  }
  if ferror(f) != 0 { return nil }
  return hasher.finalizeHex()
}
