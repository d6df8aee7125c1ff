/// Every message reluc can print, declared once with a stable id. The ids are part of the JSON
/// diagnostics format and are listed in man/reluc.1; do not rename them.
public enum Messages {
  static func didYouMean(_ s: String?) -> String? { s.map { "did you mean '\($0)'?" } }

  // MARK: Lexer and parser

  public static func unexpectedCharacter(_ c: String) -> DiagnosticMessage {
    .init("unexpected-character", .error, "unexpected character '\(c)'")
  }
  public static let unterminatedString = DiagnosticMessage(
    "unterminated-string", .error, "unterminated string literal")
  public static let badEscape = DiagnosticMessage(
    "bad-escape", .error, "unknown escape sequence in string",
    help: "the escapes are \\\\, \\\" , \\n and \\t")
  public static func badNumber(_ t: String) -> DiagnosticMessage {
    .init("bad-number", .error, "malformed number '\(t)'")
  }
  public static func expected(_ what: String, found: String) -> DiagnosticMessage {
    .init("expected", .error, "expected \(what), found \(found)")
  }
  public static func expectedStatement(found: String) -> DiagnosticMessage {
    .init(
      "expected-statement", .error, "expected a statement, found \(found)",
      help: "statements begin with network, maximize, minimize, constraint or option")
  }
  public static let strictInequality = DiagnosticMessage(
    "strict-inequality", .error, "strict inequalities are not supported",
    help: "use '<=' or '>='")
  public static let mixedChain = DiagnosticMessage(
    "mixed-chain", .error, "a two-sided constraint needs two '<=' or two '>='")
  public static let unmatchedBracket = DiagnosticMessage(
    "unmatched", .error, "unmatched bracket")
  public static let badDigest = DiagnosticMessage(
    "bad-digest", .error, "a sha256 digest is 64 hexadecimal digits")

  // MARK: Files and lowering

  public static func modelNotFound(_ p: String) -> DiagnosticMessage {
    .init("model-not-found", .error, "cannot read model file '\(p)'", exit: .noInput)
  }
  public static let notUTF8 = DiagnosticMessage(
    "not-utf8", .error, "the model file is not valid UTF-8")

  public static let missingNetwork = DiagnosticMessage(
    "missing-network", .error, "the model names no network",
    help: "add a line such as: network \"net.xml\"")
  public static let duplicateNetwork = DiagnosticMessage(
    "duplicate-network", .error, "the model names more than one network without an alias",
    help: "give every further network an alias: network NAME \"path\"; its outputs are NAME.y")
  public static func duplicateAlias(_ n: String) -> DiagnosticMessage {
    .init("duplicate-alias", .error, "two networks are called '\(n)'")
  }
  public static func aliasIsInput(_ n: String) -> DiagnosticMessage {
    .init("alias-is-input", .error, "the alias '\(n)' is the name of the decision vector")
  }
  public static func badNetworkInput(_ n: String) -> DiagnosticMessage {
    .init(
      "bad-network-input", .error,
      "a network's input must be bound to the decision vector '\(n)' or a slice '\(n)[a..b]'")
  }
  public static func networkInputSize(_ net: String, _ n: Int, _ got: Int) -> DiagnosticMessage {
    .init(
      "network-input-size", .error,
      "network '\(net)' has \(n) input\(n == 1 ? "" : "s"); its binding has \(got)")
  }
  public static func networkInputsDiffer(_ a: Int, _ b: Int) -> DiagnosticMessage {
    .init(
      "network-input-size", .error,
      "this network has \(b) inputs, another bound to the whole decision vector has \(a)")
  }
  public static func constraintNeverHolds(_ name: String, _ least: Double, _ rhs: Double)
    -> DiagnosticMessage
  {
    .init(
      "constraint-never-holds", .warning,
      "constraint '\(name)' can never hold: written as a row '... <= \(formatNumber(rhs))', its left side is at least \(formatNumber(least)) over the input bounds",
      help: "interval bounds of the network prove it; the problem is infeasible")
  }
  public static let missingObjective = DiagnosticMessage(
    "missing-objective", .error, "the model has no objective",
    help: "add a line such as: maximize y[0]")
  public static let duplicateObjective = DiagnosticMessage(
    "duplicate-objective", .error, "the model has more than one objective")
  public static func digestMismatch(_ expected: String, _ actual: String) -> DiagnosticMessage {
    .init(
      "digest-mismatch", .error,
      "the network file's sha256 is \(actual), not the pinned \(expected)",
      help: "the network changed since the model was written; update the digest if that is intended"
    )
  }
  public static func unknownName(_ n: String, suggestion: String?) -> DiagnosticMessage {
    .init("unknown-name", .error, "unknown name '\(n)'", help: didYouMean(suggestion))
  }
  public static func indexOutOfRange(_ i: some CustomStringConvertible, _ name: String, _ size: Int)
    -> DiagnosticMessage
  {
    .init(
      "index-out-of-range", .error,
      "index \(i) is out of range for '\(name)' of size \(size) (indices 0...\(size - 1))")
  }
  public static func emptySlice(_ a: Int, _ b: Int) -> DiagnosticMessage {
    .init("empty-range", .error, "the range \(a)..\(b) is empty")
  }
  public static let notInteger = DiagnosticMessage(
    "not-integer", .error, "an index or range end must be an integer expression")
  public static let indexNeedsVariable = DiagnosticMessage(
    "not-indexable", .error, "only an input or output vector can be indexed")
  public static let nonlinear = DiagnosticMessage(
    "nonlinear", .error, "the expression is not linear",
    help: "a product needs a constant on one side and a division a constant divisor")
  public static let divisionByZero = DiagnosticMessage(
    "division-by-zero", .error, "division by zero")
  public static func lengthMismatch(_ a: Int, _ b: Int) -> DiagnosticMessage {
    .init(
      "length-mismatch", .error, "vector lengths differ: \(a) on one side, \(b) on the other")
  }
  public static func vectorObjective(_ n: Int) -> DiagnosticMessage {
    .init(
      "vector-objective", .error, "the objective must be a scalar, this has \(n) components",
      help: "pick one component, or use sum(i in a..b) ...")
  }
  public static let vectorInScalarContext = DiagnosticMessage(
    "vector-in-product", .error, "a vector cannot be multiplied by or divide a non-constant")
  public static func constantConstraintFalse(_ text: String) -> DiagnosticMessage {
    .init("infeasible-constant", .error, "the constraint has no variables and is false: \(text)")
  }
  public static let constantConstraintTrue = DiagnosticMessage(
    "constant-constraint", .warning, "the constraint has no variables and is always true")
  public static func unbounded(_ name: String, _ side: String, plural: Bool) -> DiagnosticMessage {
    .init(
      "unbounded-input", .error,
      plural ? "inputs \(name) have no \(side) bound" : "input \(name) has no \(side) bound",
      help: "every method needs a bounded domain: add e.g. 'constraint 0 <= x <= 1'")
  }
  public static func boundsCross(_ name: String, _ lo: Double, _ hi: Double) -> DiagnosticMessage {
    .init(
      "empty-domain", .error,
      "the bounds of \(name) cross: lower \(formatNumber(lo)) > upper \(formatNumber(hi))")
  }
  public static func duplicateConstraint(_ n: String) -> DiagnosticMessage {
    .init("duplicate-constraint", .error, "a constraint named '\(n)' already exists")
  }
  public static func shadowedName(_ n: String) -> DiagnosticMessage {
    .init("shadowed-name", .error, "the index '\(n)' hides a network vector of the same name")
  }
  public static func unknownOption(_ n: String, suggestion: String?) -> DiagnosticMessage {
    .init("unknown-option", .error, "unknown option '\(n)'", help: didYouMean(suggestion))
  }
  public static func badOptionValue(_ n: String, _ v: String, _ expected: String)
    -> DiagnosticMessage
  {
    .init("bad-option-value", .error, "invalid value \(v) for option '\(n)': expected \(expected)")
  }
  public static func duplicateOption(_ n: String) -> DiagnosticMessage {
    .init("duplicate-option", .warning, "option '\(n)' is set more than once; the last one wins")
  }
  public static func hugeWeight(_ w: Double) -> DiagnosticMessage {
    .init(
      "huge-weight", .warning,
      "the network has a weight or bias of magnitude \(formatNumber(w)); big-M constants and LPs may be numerically fragile"
    )
  }
  public static let absolutePath = DiagnosticMessage(
    "absolute-path", .warning,
    "the network path is absolute; a relative path keeps the model portable")
  public static let hugeCoefficient = DiagnosticMessage(
    "huge-coefficient", .warning,
    "a coefficient larger than 1e9 in absolute value makes the LP and MILP numerically fragile")

  // MARK: Network files

  public static func networkNotFound(_ p: String) -> DiagnosticMessage {
    .init("network-not-found", .error, "cannot read network file '\(p)'", exit: .noInput)
  }
  public static func networkTooLarge(_ p: String, _ size: Int, _ limit: Int) -> DiagnosticMessage {
    .init(
      "network-too-large", .error,
      "network file '\(p)' is larger than the limit of \(limit) bytes (read \(size) bytes)",
      help: "raise the limit with --max-network-bytes")
  }
  public static func xmlMalformed(_ m: String) -> DiagnosticMessage {
    .init("xml-malformed", .error, "malformed XML: \(m)")
  }
  public static let xmlDTD = DiagnosticMessage(
    "xml-dtd", .error, "document type declarations (DTD) are not allowed in network files")
  public static let xmlEntity = DiagnosticMessage(
    "xml-entity", .error, "entity references are not allowed in network files")
  public static func xmlUnknownAttribute(_ a: String, _ e: String, suggestion: String?)
    -> DiagnosticMessage
  {
    .init(
      "xml-unknown-attribute", .error, "unknown attribute '\(a)' on <\(e)>",
      help: didYouMean(suggestion))
  }
  public static func xmlMissingAttribute(_ a: String, _ e: String) -> DiagnosticMessage {
    .init("xml-missing-attribute", .error, "<\(e)> needs the attribute '\(a)'")
  }
  public static func xmlBadSize(_ a: String, _ e: String, _ v: String) -> DiagnosticMessage {
    .init(
      "xml-bad-size", .error,
      "attribute '\(a)' of <\(e)> must be an integer from 1 to \(10_000_000), not '\(v)'")
  }
  public static func xmlBadVersion(_ v: String) -> DiagnosticMessage {
    .init(
      "xml-bad-version", .error, "unsupported network format version '\(v)' (this reluc reads 1)")
  }
  public static func xmlWrongRoot(_ n: String) -> DiagnosticMessage {
    .init("xml-wrong-root", .error, "the root element must be <network>, not <\(n)>")
  }
  public static func xmlDuplicate(_ w: String) -> DiagnosticMessage {
    .init("xml-duplicate", .error, "<\(w)> appears more than once")
  }
  public static func xmlOrder(_ a: String, _ b: String) -> DiagnosticMessage {
    .init("xml-order", .error, "<\(a)> must come before the first <\(b)>")
  }
  public static func xmlBadActivation(_ a: String) -> DiagnosticMessage {
    .init("xml-bad-activation", .error, "unknown activation '\(a)' (expected relu or linear)")
  }
  public static func xmlLayerMismatch(_ k: Int, _ got: Int, _ what: String, _ exp: Int)
    -> DiagnosticMessage
  {
    .init(
      "xml-layer-mismatch", .error,
      "layer \(k) has inputs=\"\(got)\" but \(what) is \(exp)")
  }
  public static func xmlUnknownElement(_ n: String, _ p: String, suggestion: String?)
    -> DiagnosticMessage
  {
    .init(
      "xml-unknown-element", .error, "unknown element <\(n)> in <\(p)>",
      help: didYouMean(suggestion))
  }
  public static func xmlBadName(_ n: String, _ e: String) -> DiagnosticMessage {
    .init("xml-bad-name", .error, "'\(n)' is not a valid identifier for the name of <\(e)>")
  }
  public static func xmlUnexpectedText(_ e: String) -> DiagnosticMessage {
    .init("xml-unexpected-text", .error, "unexpected text inside <\(e)>")
  }
  public static func xmlBadNumber(_ t: String, _ e: String) -> DiagnosticMessage {
    .init("xml-bad-number", .error, "'\(t)' in <\(e)> is not a number")
  }
  public static func xmlNonFinite(_ e: String, _ k: Int) -> DiagnosticMessage {
    .init("xml-non-finite", .error, "entry \(k) of <\(e)> is not finite (NaN or infinity)")
  }
  public static func xmlTooManyRows(_ l: Int, _ n: Int) -> DiagnosticMessage {
    .init("xml-too-many-rows", .error, "layer \(l) has more than its \(n) rows")
  }
  public static func xmlRowLength(_ r: Int, _ l: Int, _ got: Int, _ exp: Int) -> DiagnosticMessage {
    .init("xml-row-length", .error, "row \(r) of layer \(l) has \(got) entries, expected \(exp)")
  }
  public static func xmlVectorLength(_ n: String, _ owner: String, _ got: Int, _ exp: Int)
    -> DiagnosticMessage
  {
    .init("xml-vector-length", .error, "<\(n)> of \(owner) has \(got) entries, expected \(exp)")
  }
  public static func xmlRowCount(_ l: Int, _ got: Int, _ exp: Int) -> DiagnosticMessage {
    .init(
      "xml-row-count", .error,
      "layer \(l) has \(got) row\(got == 1 ? "" : "s"), expected \(exp) (its outputs)")
  }
  public static func xmlZeroScale(_ owner: String, _ i: Int) -> DiagnosticMessage {
    .init("xml-zero-scale", .error, "entry \(i) of the <scale> of <\(owner)> is zero")
  }
  public static func xmlMissing(_ w: String) -> DiagnosticMessage {
    .init("xml-missing", .error, "the network has no <\(w)>")
  }
  public static func xmlOutputMismatch(_ got: Int, _ exp: Int) -> DiagnosticMessage {
    .init(
      "xml-output-mismatch", .error,
      "the last layer has \(got) outputs but <output> declares size \(exp)")
  }
  public static func xmlSameNames(_ n: String) -> DiagnosticMessage {
    .init("xml-same-names", .error, "the input and the output are both named '\(n)'")
  }
  public static func xmlBoundsCross(_ n: String, _ j: Int, _ lo: Double, _ hi: Double)
    -> DiagnosticMessage
  {
    .init(
      "xml-bounds-cross", .error,
      "input bounds cross at \(n)[\(j)]: lower \(formatNumber(lo)) > upper \(formatNumber(hi))")
  }

  // MARK: Command line, import, solver and output

  public static func notRegularFile(_ p: String) -> DiagnosticMessage {
    .init(
      "not-a-regular-file", .error, "'\(p)' is not a regular file (a directory, FIFO or device)",
      exit: .noInput)
  }
  public static func fileNotFound(_ p: String) -> DiagnosticMessage {
    .init("file-not-found", .error, "cannot read '\(p)'", exit: .noInput)
  }
  public static func badCommandLine(_ m: String) -> DiagnosticMessage {
    .init("bad-command-line", .error, m, exit: .usage)
  }
  public static func importFailed(_ m: String) -> DiagnosticMessage {
    .init("import-failed", .error, m)
  }
  public static func unknownNetworkFormat(_ p: String) -> DiagnosticMessage {
    .init(
      "unknown-network-format", .error, "cannot tell the format of '\(p)'",
      help: "give --format onnx or --format nnet", exit: .usage)
  }
  public static func solverFailed(_ m: String) -> DiagnosticMessage {
    .init("solver-failed", .error, "the solver failed: \(m)", exit: .unavailable)
  }
  public static func cannotWrite(_ p: String, _ reason: String) -> DiagnosticMessage {
    .init("cannot-write", .error, "cannot write '\(p)': \(reason)", exit: .ioError)
  }
  public static func wouldOverwriteInput(_ p: String) -> DiagnosticMessage {
    .init(
      "would-overwrite-input", .error, "refusing to write over the input file '\(p)'",
      help: "choose another output path", exit: .usage)
  }

  // MARK: Front-end limits (nesting, expansion, generated constraints) and interruption

  public static func nestingTooDeep(_ limit: Int) -> DiagnosticMessage {
    .init(
      "nesting-too-deep", .error,
      "the expression nests more than \(limit) levels deep (parentheses, brackets, signs, sums)",
      help: "simplify the expression, or raise the limit with --max-nesting")
  }
  public static func tooManyTerms(_ limit: Int) -> DiagnosticMessage {
    .init(
      "too-many-terms", .error, "the expressions expand to more than \(limit) terms",
      help: "narrow the index ranges, or raise the limit with --max-terms")
  }
  public static func tooManyConstraints(_ limit: Int) -> DiagnosticMessage {
    .init(
      "too-many-constraints", .error, "the constraints expand to more than \(limit) constraints",
      help: "narrow the index ranges, or raise the limit with --max-constraints")
  }
  public static func matrixTooLarge(_ rows: Int, _ inputs: Int, _ limit: Int) -> DiagnosticMessage {
    .init(
      "matrix-too-large", .error,
      "the constraint matrix would have more than \(limit) entries (\(rows) rows of \(inputs) inputs)",
      help:
        "write single-input constraints (they become bounds), or raise the limit with --max-matrix-entries"
    )
  }
  public static let loweringInterrupted = DiagnosticMessage(
    "interrupted", .error, "interrupted while expanding the model", exit: .interrupted)
}

// MARK: Coefficients and answers (issue 19)

extension Messages {
  /// A coefficient or constant of the objective or a constraint that is not a finite double
  /// after evaluation (an overflowing literal such as `1e400`, or arithmetic that overflows).
  public static func nonFiniteCoefficient(_ v: Double) -> DiagnosticMessage {
    .init(
      "non-finite-coefficient", .error,
      "a coefficient or constant of this expression is \(v.isNaN ? "not a number" : "infinite") (it overflows the range of a double, about 1.8e308)",
      help: "rescale the expression so every coefficient is a finite number")
  }
  /// `eval`: the forward pass at the given input overflowed (an output or the objective is
  /// infinite or NaN), so there is no number to print.
  public static func nonFiniteEvaluation(_ output: String) -> DiagnosticMessage {
    .init(
      "non-finite-evaluation", .error,
      "the network's outputs '\(output)' or the objective are not finite at this input (the forward pass overflows)"
    )
  }

  /// The message for a file that could not be read: `missing(path)` when it is absent or
  /// unreadable, `not-a-regular-file`, or `tooLarge(path, size)` (`missing` when not given).
  public static func readFailure(
    _ error: FileReadError, _ path: String, missing: (String) -> DiagnosticMessage,
    tooLarge: ((String, Int) -> DiagnosticMessage)? = nil
  ) -> DiagnosticMessage {
    switch error {
    case .notFound: return missing(path)
    case .notRegular: return notRegularFile(path)
    case .tooLarge(let size): return tooLarge?(path, size) ?? missing(path)
    }
  }
}

// MARK: VNN-LIB properties (issue 16)

extension Messages {
  /// A top-level form other than `(declare-const ...)` and `(assert ...)`.
  public static func vnnlibExpectedCommand(found: String) -> DiagnosticMessage {
    .init(
      "vnnlib-expected-command", .error,
      "expected (declare-const ...) or (assert ...), found \(found)",
      help: "a VNN-LIB property declares X_i and Y_j, then asserts linear conditions on them")
  }
  /// A form reluc does not read (a function, a connective or a type outside VNN-LIB 1.0's
  /// linear subset). Never dropped silently.
  public static func vnnlibUnsupported(_ form: String, _ where_: String) -> DiagnosticMessage {
    .init(
      "vnnlib-unsupported", .error, "unsupported form '\(form)' in \(where_)",
      help:
        "reluc reads declare-const (Real), assert, and, or, <=, >=, +, -, * by a constant, numbers, X_i and Y_j"
    )
  }
  /// `(declare-const NAME TYPE)` malformed.
  public static let vnnlibBadDeclaration = DiagnosticMessage(
    "vnnlib-bad-declaration", .error,
    "a declaration reads (declare-const X_i Real) or (declare-const Y_j Real)")
  /// A declared name that is neither `X_i` nor `Y_j`.
  public static func vnnlibBadName(_ n: String) -> DiagnosticMessage {
    .init(
      "vnnlib-bad-name", .error,
      "'\(n)' is not an input X_i or an output Y_j (i, j decimal, without leading zeros)")
  }
  /// A name declared twice.
  public static func vnnlibDuplicateDeclaration(_ n: String) -> DiagnosticMessage {
    .init("vnnlib-duplicate-declaration", .error, "'\(n)' is declared more than once")
  }
  /// A variable whose index the network does not have (Marabou#372: reject, never answer).
  public static func vnnlibIndexOutOfRange(_ n: String, _ what: String, _ size: Int)
    -> DiagnosticMessage
  {
    .init(
      "vnnlib-index-out-of-range", .error,
      "'\(n)' is beyond the network's \(size) \(what) (\(what == "inputs" ? "X" : "Y")_0 ... \(what == "inputs" ? "X" : "Y")_\(size - 1))"
    )
  }
  /// The property declares a different number of inputs or outputs than the network has.
  public static func vnnlibSizeMismatch(_ what: String, _ declared: Int, _ size: Int)
    -> DiagnosticMessage
  {
    .init(
      "vnnlib-size-mismatch", .error,
      "the property declares \(declared) \(what); the network has \(size)",
      help: "check that the property was written for this network")
  }
  /// An operator applied to the wrong number of arguments.
  public static func vnnlibArity(_ op: String, _ expected: String) -> DiagnosticMessage {
    .init("vnnlib-arity", .error, "'\(op)' takes \(expected)")
  }
  /// A product of two variables (or of a variable with itself).
  public static let vnnlibNonlinear = DiagnosticMessage(
    "vnnlib-nonlinear", .error, "the term is not linear",
    help: "a product needs constants in all but one factor")
  /// An input without a lower or upper bound in some disjunct.
  public static func vnnlibUnboundedInput(_ n: String, _ side: String, disjunct: Int, of: Int)
    -> DiagnosticMessage
  {
    .init(
      "vnnlib-unbounded-input", .error,
      of == 1
        ? "input \(n) has no \(side) bound"
        : "input \(n) has no \(side) bound in disjunct \(disjunct) of \(of)",
      help: "assert (>= \(n) LOW) and (<= \(n) HIGH)")
  }
  /// The disjunctive normal form has too many disjuncts.
  public static func vnnlibTooManyDisjuncts(_ limit: Int) -> DiagnosticMessage {
    .init(
      "vnnlib-too-many-disjuncts", .error,
      "the property expands to more than \(limit) disjuncts (conjunctions of conditions) or a million conditions",
      help: "the asserts' disjunctions multiply; split the property into several files")
  }
  /// A property file that is not UTF-8 text.
  public static let vnnlibNotUTF8 = DiagnosticMessage(
    "not-utf8", .error, "the property file is not valid UTF-8")
  /// A list nested too deeply (hostile input).
  public static func vnnlibNestingTooDeep(_ limit: Int) -> DiagnosticMessage {
    .init("nesting-too-deep", .error, "the property nests more than \(limit) levels deep")
  }
  /// The reader stopped after this many errors.
  public static func vnnlibTooManyErrors(_ n: Int) -> DiagnosticMessage {
    .init(
      "vnnlib-too-many-errors", .error, "more than \(n) errors; the rest of the file is not read",
      help: "is this a VNN-LIB property?")
  }
}
