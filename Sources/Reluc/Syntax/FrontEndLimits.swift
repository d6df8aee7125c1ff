import RelucBase
import RelucIR

/// The front end's resource limits: how deep expressions may nest, how many terms the sums may
/// expand to, how many constraints the quantifiers may generate and how large the constraint
/// matrix may grow. Each limit passed is a diagnostic naming it (`nesting-too-deep`,
/// `too-many-terms`, `too-many-constraints`, `matrix-too-large`), reported before the work or
/// the memory is spent. `Compiler.parse`, `Compiler.compile`, `Parser.parse` and `Lowering` take
/// one (the defaults below when not given).
public struct FrontEndLimits: Sendable, Equatable {
  /// The deepest nesting of parentheses, brackets, unary signs and sums in one expression.
  /// Parsing, lowering and formatting recurse once per level; they run on a thread with a
  /// 64 MiB stack (`onLargeStack`), far more than the default needs (a debug build uses about
  /// 5-8 KiB per level); flat chains (`a + b + c ...`) do not nest.
  public var maxNesting: Int
  /// The most terms the expressions of the model may expand to (sums, vectors, quantified
  /// constraints), counted from the index ranges before expanding.
  public var maxExpandedTerms: Int
  /// The most constraints the quantifiers of the model may generate (all statements together),
  /// counted from the index ranges before generating them.
  public var maxConstraints: Int
  /// The most entries of the dense constraint matrix (rows times inputs), checked before each
  /// row is allocated: 8 bytes each.
  public var maxMatrixEntries: Int

  /// The default nesting limit: 256 levels.
  public static let defaultMaxNesting = 256
  /// The default expansion limit: 10,000,000 terms.
  public static let defaultMaxExpandedTerms = 10_000_000
  /// The default constraint limit: 1,000,000 constraints.
  public static let defaultMaxConstraints = 1_000_000
  /// The default matrix limit: 50,000,000 entries (400 MB).
  public static let defaultMaxMatrixEntries = 50_000_000

  /// Creates limits (the defaults for those not given).
  public init(
    maxNesting: Int = defaultMaxNesting, maxExpandedTerms: Int = defaultMaxExpandedTerms,
    maxConstraints: Int = defaultMaxConstraints, maxMatrixEntries: Int = defaultMaxMatrixEntries
  ) {
    self.maxNesting = maxNesting
    self.maxExpandedTerms = maxExpandedTerms
    self.maxConstraints = maxConstraints
    self.maxMatrixEntries = maxMatrixEntries
  }
}
