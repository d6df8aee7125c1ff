import RelucBase
import RelucIR

/// The kinds of token of the .rmod language (grammar/rmod.ebnf).
public enum TokenKind: Sendable, Equatable {
  case identifier
  case integer
  case real
  case string
  case keyword(Keyword)
  case plus, minus, star, slash
  case lparen, rparen, lbracket, rbracket
  case colon, comma, assign
  case lessEqual, greaterEqual, equalEqual, less, greater
  case dotdot
  case eof
  /// A character or literal the lexer could not read (a diagnostic was reported).
  case error

  /// How the token kind is named in messages.
  public var description: String {
    switch self {
    case .identifier: return "an identifier"
    case .integer, .real: return "a number"
    case .string: return "a string"
    case .keyword(let k): return "'\(k.rawValue)'"
    case .plus: return "'+'"
    case .minus: return "'-'"
    case .star: return "'*'"
    case .slash: return "'/'"
    case .lparen: return "'('"
    case .rparen: return "')'"
    case .lbracket: return "'['"
    case .rbracket: return "']'"
    case .colon: return "':'"
    case .comma: return "','"
    case .assign: return "'='"
    case .lessEqual: return "'<='"
    case .greaterEqual: return "'>='"
    case .equalEqual: return "'=='"
    case .less: return "'<'"
    case .greater: return "'>'"
    case .dotdot: return "'..'"
    case .eof: return "end of file"
    case .error: return "an invalid token"
    }
  }
}

/// Reserved words.
public enum Keyword: String, Sendable, Equatable, CaseIterable {
  case network, maximize, minimize, constraint, option, sum, `in`

  /// Whether the keyword begins a statement (the parser resynchronises at these).
  public var startsStatement: Bool {
    switch self {
    case .network, .maximize, .minimize, .constraint, .option: return true
    case .sum, .in: return false
    }
  }
}

/// A token: its kind and the bytes it covers. Its text is read from the source when needed.
public struct Token: Sendable, Equatable {
  /// The kind.
  public var kind: TokenKind
  /// The bytes it covers.
  public var range: SourceRange

  /// Creates a token.
  public init(_ kind: TokenKind, _ range: SourceRange) {
    self.kind = kind
    self.range = range
  }
}
