import RelucBase
import RelucIR

/// A name as written, with its range.
public struct Identifier: Sendable, Equatable {
  /// The name.
  public var name: String
  /// Where it is.
  public var range: SourceRange
}

/// Binary arithmetic operators.
public enum BinaryOperator: String, Sendable, Equatable {
  case add = "+"
  case subtract = "-"
  case multiply = "*"
  case divide = "/"
}

/// One link of a chain: an operator and its right operand.
public struct ChainLink: Sendable, Equatable {
  /// The operator (`+`/`-` or `*`/`/`, never mixed within a chain).
  public var op: BinaryOperator
  /// The right operand.
  public var operand: Expr

  /// Creates a link.
  public init(_ op: BinaryOperator, _ operand: Expr) {
    self.op = op
    self.operand = operand
  }
}

/// An index binder `i in lo..hi` (quantifiers and sums).
public struct Binder: Sendable, Equatable {
  /// The index name.
  public var name: Identifier
  /// First value (inclusive).
  public var lower: Expr
  /// Last value (inclusive).
  public var upper: Expr
  /// The whole binder.
  public var range: SourceRange
}

/// A subscript: one index, or a range `lo..hi` (inclusive) selecting a slice.
public struct Subscript: Sendable, Equatable {
  /// The index, or the start of the slice.
  public var lower: Expr
  /// The end of the slice, if any.
  public var upper: Expr?
  /// The brackets and what is between.
  public var range: SourceRange
}

/// An expression of the language.
public indirect enum Expr: Sendable, Equatable {
  /// A numeric literal with its source text.
  case number(Double, text: String, SourceRange)
  /// A name, possibly subscripted: `x`, `x[3]`, `x[0..4]`, `i`.
  case reference(Identifier, Subscript?, SourceRange)
  /// Unary minus.
  case negate(Expr, SourceRange)
  /// A chain of binary operations of one precedence level, left to right: `a + b - c` is
  /// `.chain(a, [+ b, - c])`, `2 * x / 3` is `.chain(2, [* x, / 3])`. Flat, so that a long
  /// chain costs no recursion (parsing, lowering, formatting and destroying walk it in a loop).
  case chain(Expr, [ChainLink], SourceRange)
  /// Parentheses (kept so that `fmt` prints what the user wrote).
  case paren(Expr, SourceRange)
  /// `sum(i in a..b, ...) term`, or `sum(vector)` when there are no binders.
  case sum([Binder], Expr, SourceRange)
  /// A placeholder inserted after a syntax error.
  case missing(SourceRange)

  /// The source range.
  public var range: SourceRange {
    switch self {
    case .number(_, _, let r), .reference(_, _, let r), .negate(_, let r), .chain(_, _, let r),
      .paren(_, let r), .sum(_, _, let r), .missing(let r):
      return r
    }
  }
}

/// A comparison operator.
public enum RelationOperator: String, Sendable, Equatable {
  case lessEqual = "<="
  case greaterEqual = ">="
  case equal = "=="
}

/// `e0 op e1 [op e2]`.
public struct Relation: Sendable, Equatable {
  /// The operands (two or three).
  public var operands: [Expr]
  /// The operators (one or two).
  public var operators: [RelationOperator]
  /// Where each operator is.
  public var operatorRanges: [SourceRange]
}

/// A string literal: its decoded value and range.
public struct StringLiteral: Sendable, Equatable {
  /// The decoded value.
  public var value: String
  /// Where it is, quotes included.
  public var range: SourceRange
}

/// The value of an option as written.
public struct OptionLiteral: Sendable, Equatable {
  /// The value.
  public var value: OptionValue
  /// Its source text.
  public var text: String
  /// Where it is.
  public var range: SourceRange
}

/// `network [alias] "path" [sha256 "digest"] [input expr]`: a network file, the name its
/// vectors are qualified with (`alias.y`), and what its input is bound to (the decision vector,
/// or a slice of it).
public struct NetworkDeclaration: Sendable, Equatable {
  /// The alias, if any.
  public var alias: Identifier?
  /// The file's path.
  public var path: StringLiteral
  /// The pinned digest, if any.
  public var digest: StringLiteral?
  /// The input binding (`input x[2..5]`), if any.
  public var input: Expr?
  /// The whole statement.
  public var range: SourceRange

  /// Creates a declaration.
  public init(
    alias: Identifier? = nil, path: StringLiteral, digest: StringLiteral? = nil, input: Expr? = nil,
    range: SourceRange
  ) {
    self.alias = alias
    self.path = path
    self.digest = digest
    self.input = input
    self.range = range
  }
}

/// A statement of a model file.
public enum Statement: Sendable, Equatable {
  /// `network [alias] "path" [sha256 "digest"] [input expr]`.
  case network(NetworkDeclaration)
  /// `maximize expr` or `minimize expr`.
  case objective(Sense, Expr, range: SourceRange)
  /// `constraint [name] [[i in a..b, ...]] : relation`, or `constraint relation`.
  case constraint(name: Identifier?, binders: [Binder], Relation, range: SourceRange)
  /// `option name = value`.
  case option(name: Identifier, value: OptionLiteral, range: SourceRange)

  /// The whole statement's range.
  public var range: SourceRange {
    switch self {
    case .network(let d): return d.range
    case .objective(_, _, let r), .constraint(_, _, _, let r), .option(_, _, let r):
      return r
    }
  }
}

/// A parsed model file.
public struct ModelSyntax: Sendable, Equatable {
  /// The source.
  public var file: SourceFile
  /// The statements, in order.
  public var statements: [Statement]
  /// The comments, in order.
  public var comments: [SourceRange]
}
