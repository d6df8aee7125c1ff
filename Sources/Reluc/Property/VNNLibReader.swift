import RelucBase
import RelucIR

/// One linear condition of a property, `input . x + output . y <= rhs` (dense, the network's
/// sizes), with the place it was written.
public struct PropertyCondition: Sendable, Equatable {
  /// Coefficients of the inputs X_0 ... X_{n-1}.
  public var input: [Double]
  /// Coefficients of the outputs Y_0 ... Y_{m-1}.
  public var output: [Double]
  /// The right-hand side.
  public var rhs: Double
  /// The atom (`(<= ...)` or `(>= ...)`) it came from.
  public var range: SourceRange

  /// Whether it names an output.
  public var namesOutput: Bool { output.contains { $0 != 0 } }
}

/// A VNN-LIB property read against a network's sizes and normalized: the unsafe set as a
/// disjunction of conjunctions of linear conditions (`disjuncts`); `sat` means a point of one of
/// them exists. An empty list of disjuncts is the empty set (an `(or)`, or conditions without
/// variables that are false).
public struct VNNProperty: Sendable {
  /// The property's file.
  public var file: SourceFile
  /// The network's input size (X_0 ... X_{n-1}).
  public var inputSize: Int
  /// The network's output size (Y_0 ... Y_{m-1}).
  public var outputSize: Int
  /// The disjuncts; each a conjunction of conditions.
  public var disjuncts: [[PropertyCondition]]
}

/// Reads VNN-LIB 1.0 as VNN-COMP writes it: `(declare-const X_i Real)`, `(declare-const Y_j
/// Real)`, `(assert F)` where F nests `and`, `or`, `<=`, `>=` (chains allowed) over linear terms
/// (numbers, variables, `+`, `-`, `*` by constants). Every other form is an error; the asserts'
/// conjunction is expanded to disjunctive normal form (at most `maxDisjuncts` disjuncts).
public struct VNNLibReader {
  /// The most disjuncts the expansion may produce.
  public static let maxDisjuncts = 10_000
  /// The most conditions (atoms, summed over the disjuncts) the expansion may produce.
  public static let maxConditions = 1_000_000
  /// Errors reported before the reader gives up.
  public static let maxErrors = 20
  /// The largest property file read: 256 MiB.
  public static let maxFileBytes = 256 << 20

  /// A variable: an input (`X_i`) or an output (`Y_j`).
  struct Variable: Hashable {
    var output: Bool
    var index: Int
    var name: String { (output ? "Y_" : "X_") + String(index) }
  }

  /// A linear term: `terms . v + constant`.
  struct Linear {
    var terms: [Variable: Double] = [:]
    var constant = 0.0

    static func + (a: Linear, b: Linear) -> Linear {
      var r = a
      for (v, c) in b.terms { r.terms[v, default: 0] += c }
      r.constant += b.constant
      return r
    }
    func scaled(_ k: Double) -> Linear {
      Linear(terms: terms.mapValues { $0 * k }, constant: constant * k)
    }
    /// The first coefficient or constant that is not finite (a sum or product that overflowed),
    /// nil when all are.
    var nonFinite: Double? {
      ([constant] + terms.values).first { !$0.isFinite }
    }
  }

  /// `l`, or nil (reported at `range`) when a coefficient or its constant overflowed: a sum of
  /// two terms near 1.8e308 is infinite, and infinite terms of both signs add up to NaN.
  mutating func finite(_ l: Linear, _ range: SourceRange) -> Linear? {
    guard let bad = l.nonFinite else { return l }
    bag.report(Messages.nonFiniteCoefficient(bad), at: loc(range))
    return nil
  }

  /// A formula over linear atoms `linear <= 0`.
  indirect enum Formula {
    case atom(Linear, SourceRange)
    case and([Formula])
    case or([Formula])
  }

  let file: SourceFile
  let inputSize: Int
  let outputSize: Int
  var bag = DiagnosticBag()
  /// Declared names, with where.
  var declared: [String: (Variable, SourceRange)] = [:]
  /// Declared names whose index the network lacks (reported once, at the declaration).
  var outOfRange: Set<String> = []

  func loc(_ r: SourceRange) -> DiagnosticLocation { .range(file.path, r) }

  /// Reads the property file at `path` against a network of the given sizes.
  public static func read(path: String, inputSize: Int, outputSize: Int)
    -> (VNNProperty?, DiagnosticBag, SourceManager)
  {
    var bag = DiagnosticBag()
    var sources = SourceManager()
    let bytes: [UInt8]
    switch readRegularFile(path, limit: maxFileBytes) {
    case .success(let b): bytes = b
    case .failure(let e):
      bag.report(Messages.readFailure(e, path, missing: Messages.fileNotFound), at: .file(path))
      return (nil, bag, sources)
    }
    let file = SourceFile(path: path, bytes: bytes)
    sources.add(file)
    if String(validating: bytes, as: UTF8.self) == nil {
      bag.report(Messages.vnnlibNotUTF8, at: .file(path))
      return (nil, bag, sources)
    }
    let (p, d) = parse(file, inputSize: inputSize, outputSize: outputSize)
    return (p, d, sources)
  }

  /// Parses a loaded property against a network of the given sizes; nil with errors.
  public static func parse(_ file: SourceFile, inputSize: Int, outputSize: Int)
    -> (VNNProperty?, DiagnosticBag)
  {
    var r = VNNLibReader(file: file, inputSize: inputSize, outputSize: outputSize)
    let (forms, lexical) = SExpressionReader.read(file)
    r.bag.add(contentsOf: lexical)
    var asserts: [Formula] = []
    for form in forms {
      // A file that is not a property (a network given in its place) would get an error per
      // word: stop after `maxErrors`.
      if r.bag.errorCount >= maxErrors {
        r.bag.report(Messages.vnnlibTooManyErrors(maxErrors), at: r.loc(form.range))
        break
      }
      switch form.head {
      case "declare-const": r.declare(form)
      case "assert":
        guard case .list(let items, _) = form, items.count == 2 else {
          r.bag.report(Messages.vnnlibArity("assert", "one formula"), at: r.loc(form.range))
          continue
        }
        if let f = r.formula(items[1]) { asserts.append(f) }
      default:
        r.bag.report(Messages.vnnlibExpectedCommand(found: form.shown), at: r.loc(form.range))
      }
    }
    r.checkSizes()
    guard !r.bag.hasErrors else { return (nil, r.bag) }
    guard let dnf = r.disjunctiveNormalForm(.and(asserts)) else { return (nil, r.bag) }
    let property = VNNProperty(
      file: file, inputSize: inputSize, outputSize: outputSize,
      disjuncts: dnf.compactMap { r.conditions($0) })
    return (property, r.bag)
  }

  // MARK: Declarations

  mutating func declare(_ form: SExpression) {
    guard case .list(let items, let range) = form, items.count == 3,
      case .atom(let name, let nameRange) = items[1], case .atom(let type, let typeRange) = items[2]
    else {
      bag.report(Messages.vnnlibBadDeclaration, at: loc(form.range))
      return
    }
    guard type == "Real" else {
      bag.report(Messages.vnnlibUnsupported(type, "a declaration (only Real)"), at: loc(typeRange))
      return
    }
    guard let v = Self.variable(name) else {
      bag.report(Messages.vnnlibBadName(name), at: loc(nameRange))
      return
    }
    if let previous = declared[name] {
      bag.report(
        Messages.vnnlibDuplicateDeclaration(name), at: loc(nameRange),
        notes: [DiagnosticNote("first declared here", at: loc(previous.1))])
      return
    }
    declared[name] = (v, range)
    let size = v.output ? outputSize : inputSize
    if v.index >= size {
      outOfRange.insert(name)
      bag.report(
        Messages.vnnlibIndexOutOfRange(name, v.output ? "outputs" : "inputs", size),
        at: loc(nameRange))
    }
  }

  /// `X_i` or `Y_j` with a decimal index without leading zeros.
  static func variable(_ name: String) -> Variable? {
    let u = Array(name.utf8)
    guard u.count >= 3, u[0] == UInt8(ascii: "X") || u[0] == UInt8(ascii: "Y"),
      u[1] == UInt8(ascii: "_"), u[2...].allSatisfy({ $0 >= 48 && $0 <= 57 }),
      u.count == 3 || u[2] != 48, u.count <= 12,
      let i = Int(String(decoding: u[2...], as: UTF8.self))
    else { return nil }
    return Variable(output: u[0] == UInt8(ascii: "Y"), index: i)
  }

  /// The declared inputs and outputs must be the network's (Marabou#372: a property written for
  /// another network is rejected rather than answered).
  mutating func checkSizes() {
    let ok = declared.values.filter { !outOfRange.contains($0.0.name) }
    let inputs = ok.filter { !$0.0.output }.count
    let outputs = ok.filter { $0.0.output }.count
    let at = DiagnosticLocation.file(file.path)
    if bag.hasErrors { return }
    if inputs != inputSize {
      bag.report(Messages.vnnlibSizeMismatch("inputs (X_i)", inputs, inputSize), at: at)
    }
    if outputs != outputSize {
      bag.report(Messages.vnnlibSizeMismatch("outputs (Y_j)", outputs, outputSize), at: at)
    }
  }

  // MARK: Formulas and terms

  mutating func formula(_ e: SExpression) -> Formula? {
    guard case .list(let items, let range) = e, let op = e.head else {
      bag.report(Messages.vnnlibUnsupported(Self.text(e), "a formula"), at: loc(e.range))
      return nil
    }
    let args = Array(items.dropFirst())
    switch op {
    case "and", "or":
      var parts: [Formula] = []
      var failed = false
      for a in args {
        if let f = formula(a) { parts.append(f) } else { failed = true }
      }
      if failed { return nil }
      return op == "and" ? .and(parts) : .or(parts)
    case "<=", ">=":
      guard args.count >= 2 else {
        bag.report(Messages.vnnlibArity(op, "two or more terms"), at: loc(range))
        return nil
      }
      var terms: [Linear] = []
      var failed = false
      for a in args {
        if let t = term(a) { terms.append(t) } else { failed = true }
      }
      if failed { return nil }
      // A chain `(<= a b c)` is `a <= b` and `b <= c`; each becomes `lhs - rhs <= 0`.
      var atoms: [Formula] = []
      for k in 0..<(terms.count - 1) {
        let (small, large) = op == "<=" ? (terms[k], terms[k + 1]) : (terms[k + 1], terms[k])
        guard let l = finite(small + large.scaled(-1), range) else { return nil }
        atoms.append(.atom(l, range))
      }
      return atoms.count == 1 ? atoms[0] : .and(atoms)
    case "<", ">":
      bag.report(Messages.strictInequality, at: loc(items[0].range))
      return nil
    default:
      bag.report(Messages.vnnlibUnsupported(op, "a formula"), at: loc(items[0].range))
      return nil
    }
  }

  mutating func term(_ e: SExpression) -> Linear? {
    switch e {
    case .atom(let s, let r):
      if let v = declared[s] { return Linear(terms: [v.0: 1]) }
      if let x = Self.number(s) {
        guard x.isFinite else {
          bag.report(Messages.nonFiniteCoefficient(x), at: loc(r))
          return nil
        }
        return Linear(constant: x)
      }
      if Self.looksNumeric(s) {
        bag.report(Messages.badNumber(s), at: loc(r))
      } else {
        bag.report(
          Messages.unknownName(s, suggestion: closestMatch(to: s, among: declared.keys.sorted())),
          at: loc(r))
      }
      return nil
    case .list(let items, let range):
      guard let op = e.head else {
        bag.report(Messages.vnnlibUnsupported(Self.text(e), "a term"), at: loc(range))
        return nil
      }
      var args: [Linear] = []
      for a in items.dropFirst() {
        guard let t = term(a) else { return nil }
        args.append(t)
      }
      switch op {
      case "+":
        guard !args.isEmpty else {
          bag.report(Messages.vnnlibArity("+", "one or more terms"), at: loc(range))
          return nil
        }
        return finite(args.dropFirst().reduce(args[0], +), range)
      case "-":
        guard !args.isEmpty else {
          bag.report(Messages.vnnlibArity("-", "one or more terms"), at: loc(range))
          return nil
        }
        if args.count == 1 { return args[0].scaled(-1) }
        return finite(args.dropFirst().reduce(args[0]) { $0 + $1.scaled(-1) }, range)
      case "*":
        guard !args.isEmpty else {
          bag.report(Messages.vnnlibArity("*", "one or more terms"), at: loc(range))
          return nil
        }
        var product = Linear(constant: 1)
        for a in args {
          if a.terms.isEmpty {
            product = product.scaled(a.constant)
          } else if product.terms.isEmpty {
            product = a.scaled(product.constant)
          } else {
            bag.report(Messages.vnnlibNonlinear, at: loc(range))
            return nil
          }
        }
        return finite(product, range)
      default:
        bag.report(Messages.vnnlibUnsupported(op, "a term"), at: loc(items[0].range))
        return nil
      }
    }
  }

  /// A decimal number as VNN-COMP writes it (`3`, `-0.5`, `1.5e-05`); nil for other atoms.
  static func number(_ s: String) -> Double? {
    guard looksNumeric(s) else { return nil }
    let u = Array(s.utf8)
    let digits = u.filter { $0 >= 48 && $0 <= 57 }.count
    guard digits > 0, let d = Double(s) else { return nil }
    // Double() also reads "inf", "nan" and hexadecimal; looksNumeric excluded their letters.
    return d
  }

  /// Whether an atom is made of the characters of a decimal number.
  static func looksNumeric(_ s: String) -> Bool {
    guard let f = s.utf8.first, (f >= 48 && f <= 57) || f == 45 || f == 43 || f == 46 else {
      return false
    }
    return s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || "+-.eE".utf8.contains($0) }
      && !(s.count == 1 && (f == 45 || f == 43))
  }

  /// The source text of an expression, for messages (cut at 40 characters).
  func text(_ e: SExpression) -> String { Self.cut(file.text(e.range)) }
  static func text(_ e: SExpression) -> String {
    if case .atom(let s, _) = e { return cut(s) }
    return e.head.map { "(\($0) ...)" } ?? "()"
  }
  static func cut(_ s: String) -> String { s.count > 40 ? String(s.prefix(37)) + "..." : s }

  // MARK: Normal form

  /// The formula as a list of conjunctions of atoms; nil (reported) beyond `maxDisjuncts`.
  mutating func disjunctiveNormalForm(_ f: Formula) -> [[(Linear, SourceRange)]]? {
    switch f {
    case .atom(let l, let r): return [[(l, r)]]
    case .or(let parts):
      var out: [[(Linear, SourceRange)]] = []
      for p in parts {
        guard let d = disjunctiveNormalForm(p) else { return nil }
        out += d
        if out.count > Self.maxDisjuncts { return tooMany() }
      }
      return out
    case .and(let parts):
      var out: [[(Linear, SourceRange)]] = [[]]
      for p in parts {
        guard let d = disjunctiveNormalForm(p) else { return nil }
        if d.count * out.count > Self.maxDisjuncts { return tooMany() }
        // The conditions the product holds, counted before it is built.
        let atoms =
          d.count * out.reduce(0) { $0 + $1.count } + out.count * d.reduce(0) { $0 + $1.count }
        if atoms > Self.maxConditions { return tooMany() }
        out = out.flatMap { a in d.map { a + $0 } }
      }
      return out
    }
  }

  mutating func tooMany() -> [[(Linear, SourceRange)]]? {
    bag.report(Messages.vnnlibTooManyDisjuncts(Self.maxDisjuncts), at: .file(file.path))
    return nil
  }

  /// A conjunction's atoms as dense conditions; nil when an atom without variables is false
  /// (the conjunction is empty). Atoms without variables that hold are dropped.
  func conditions(_ atoms: [(Linear, SourceRange)]) -> [PropertyCondition]? {
    var out: [PropertyCondition] = []
    for (l, r) in atoms {
      var c = PropertyCondition(
        input: [Double](repeating: 0, count: inputSize),
        output: [Double](repeating: 0, count: outputSize), rhs: -l.constant, range: r)
      var any = false
      for (v, k) in l.terms where k != 0 {
        if v.output { c.output[v.index] += k } else { c.input[v.index] += k }
        any = true
      }
      if !any {
        if c.rhs < 0 { return nil }
        continue
      }
      out.append(c)
    }
    return out
  }
}
