/// Text from a model or a network file made safe to print on a terminal: control characters (C0
/// except tab, DEL, C1) are escaped as `\u{1B}`, and invisible or bidirectional formatting
/// characters (zero-width spaces, joiners, direction marks, embeddings, overrides and isolates,
/// the byte order mark, variation selectors, tag characters) are named by code point
/// (`<U+202E>`). A model can then neither send terminal control sequences nor hide or reorder
/// text in a diagnostic.
public enum DisplayText {
  /// The escape that shows `scalar`, or nil when it is shown as itself.
  public static func escape(_ scalar: Unicode.Scalar) -> String? {
    let v = scalar.value
    if v == 9 { return nil }
    if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) {
      return "\\u{" + String(v, radix: 16, uppercase: true) + "}"
    }
    if isInvisible(v) {
      let hex = String(v, radix: 16, uppercase: true)
      return "<U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + ">"
    }
    return nil
  }

  /// Whether a code point prints as nothing, or changes how the text around it is shown.
  public static func isInvisible(_ v: UInt32) -> Bool {
    switch v {
    case 0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B...0x180F,
      0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0x3164, 0xFE00...0xFE0F, 0xFEFF,
      0xFFA0, 0xFFF0...0xFFFB, 0xE0000...0xE0FFF:
      return true
    default:
      return false
    }
  }

  /// The text with every control and invisible character escaped.
  public static func sanitize(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: { escape($0) != nil }) else { return s }
    var out = ""
    for u in s.unicodeScalars {
      if let e = escape(u) { out += e } else { out.unicodeScalars.append(u) }
    }
    return out
  }

  /// The widest source line shown in a diagnostic, in displayed characters; a longer line is
  /// clipped around the caret, with `...` where text was left out.
  public static let excerptWidth = 160

  /// A source line and the marker line under it: the line escaped (and clipped around the
  /// range when long), and the caret and tildes under the range of `width` scalars starting at
  /// the 1-based scalar `column`. Tabs before the caret are kept so the caret lines up under
  /// the same text.
  public static func excerpt(_ line: String, column: Int, width: Int) -> (
    text: String, marker: (prefix: String, length: Int)
  ) {
    // Each scalar as shown, with its displayed width (one per character; escapes are wider).
    var pieces: [(text: String, width: Int, tab: Bool)] = []
    for u in line.unicodeScalars {
      if let e = escape(u) {
        pieces.append((e, e.count, false))
      } else {
        pieces.append((String(u), 1, u == "\t"))
      }
    }
    let first = max(0, column - 1)
    let count = max(1, width)
    // Displayed columns where the range starts and ends (past the end of the line: one each).
    var start = 0
    for k in 0..<min(first, pieces.count) { start += pieces[k].width }
    if first > pieces.count { start += first - pieces.count }
    var length = 0
    for k in first..<(first + count) { length += k < pieces.count ? pieces[k].width : 1 }
    let total = pieces.reduce(0) { $0 + $1.width }
    // The window shown: the whole line when it fits, else `excerptWidth` columns that hold the
    // range's start (centred on it when it is far from the line's start).
    var from = 0
    if total > excerptWidth, start + min(length, excerptWidth / 2) > excerptWidth {
      from = max(0, start - excerptWidth / 2)
    }
    let to = from + excerptWidth
    var text = from > 0 ? "..." : ""
    var prefix = from > 0 ? "   " : ""
    var position = 0
    var clippedEnd = false
    for (k, p) in pieces.enumerated() {
      defer { position += p.width }
      if position < from { continue }
      if position + p.width > to {
        clippedEnd = true
        break
      }
      text += p.text
      if k < first { prefix += p.tab ? "\t" : String(repeating: " ", count: p.width) }
    }
    if clippedEnd { text += "..." }
    if first > pieces.count { prefix += String(repeating: " ", count: first - pieces.count) }
    // A range cut by the right edge is marked only up to the edge.
    let shownLength = max(1, min(length, to - start))
    return (text, (prefix, shownLength))
  }
}
