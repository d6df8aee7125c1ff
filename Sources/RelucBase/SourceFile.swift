/// A half-open range of UTF-8 byte offsets into a source file.
public struct SourceRange: Sendable, Equatable, Hashable {
  /// First byte of the range.
  public var start: Int
  /// One past the last byte of the range.
  public var end: Int

  /// Creates a range from `start` (inclusive) to `end` (exclusive).
  public init(_ start: Int, _ end: Int) {
    self.start = start
    self.end = max(start, end)
  }

  /// The smallest range that covers both ranges.
  public func union(_ other: SourceRange) -> SourceRange {
    SourceRange(min(start, other.start), max(end, other.end))
  }
}

/// A line and column, both 1-based; the column counts Unicode scalars.
public struct LineColumn: Sendable, Equatable, Hashable, Comparable {
  /// 1-based line number.
  public var line: Int
  /// 1-based column, in Unicode scalars.
  public var column: Int

  /// Creates a position.
  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }

  public static func < (a: LineColumn, b: LineColumn) -> Bool {
    (a.line, a.column) < (b.line, b.column)
  }
}

/// The text of one source file, with its line table. Line and column are computed on demand.
public struct SourceFile: Sendable, Equatable {
  /// The path as the user gave it (used in diagnostics).
  public let path: String
  /// The file's bytes (UTF-8).
  public let bytes: [UInt8]
  /// Byte offset of the first byte of every line.
  public let lineStarts: [Int]

  /// Creates a source file from its path and bytes.
  public init(path: String, bytes: [UInt8]) {
    self.path = path
    self.bytes = bytes
    var starts = [0]
    for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
    self.lineStarts = starts
  }

  /// Creates a source file from a string.
  public init(path: String, text: String) {
    self.init(path: path, bytes: Array(text.utf8))
  }

  /// The 0-based index of the line that holds `offset`.
  public func lineIndex(of offset: Int) -> Int {
    var lo = 0
    var hi = lineStarts.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
    }
    return lo
  }

  /// Line and column (both 1-based) of a byte offset.
  public func position(of offset: Int) -> LineColumn {
    let clamped = min(max(0, offset), bytes.count)
    let li = lineIndex(of: clamped)
    let start = lineStarts[li]
    var column = 1
    var i = start
    while i < clamped {
      // Count Unicode scalars: every byte that is not a UTF-8 continuation byte starts one.
      if bytes[i] & 0xC0 != 0x80 { column += 1 }
      i += 1
    }
    return LineColumn(line: li + 1, column: column)
  }

  /// The text of a 1-based line, without its line break.
  public func lineText(_ line: Int) -> String {
    guard line >= 1, line <= lineStarts.count else { return "" }
    let start = lineStarts[line - 1]
    var end = line < lineStarts.count ? lineStarts[line] : bytes.count
    while end > start, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r")
    {
      end -= 1
    }
    return String(decoding: bytes[start..<end], as: UTF8.self)
  }

  /// The source text of a range.
  public func text(_ range: SourceRange) -> String {
    let s = min(range.start, bytes.count)
    let e = min(range.end, bytes.count)
    return String(decoding: bytes[s..<e], as: UTF8.self)
  }
}

/// The byte range of 1-based line `line` of `bytes`, without its line break; nil when the bytes
/// have fewer lines. For files kept as raw bytes (a network file), where no `SourceFile` with its
/// line table is built.
public func lineRange(_ line: Int, in bytes: [UInt8]) -> Range<Int>? {
  var start = 0
  for _ in 1..<max(1, line) {
    guard let newline = bytes[start...].firstIndex(of: 10) else { return nil }
    start = newline + 1
  }
  return start..<(bytes[start...].firstIndex(of: 10) ?? bytes.count)
}
