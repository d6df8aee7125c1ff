import RelucBase
import RelucIR

/// A JSON value, written with stable key order (the order given) for diff-friendly output.
public indirect enum JSON: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case int(Int)
  case string(String)
  case array([JSON])
  case object([(String, JSON)])

  public static func == (a: JSON, b: JSON) -> Bool { a.rendered() == b.rendered() }

  /// The value as text; `indent` nil writes one line.
  public func rendered(indent: Int? = 2) -> String {
    var out = ""
    write(&out, indent: indent, level: 0)
    return out
  }

  private func write(_ out: inout String, indent: Int?, level: Int) {
    let nl = indent == nil ? "" : "\n"
    let pad = { (l: Int) in String(repeating: " ", count: (indent ?? 0) * l) }
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .number(let d):
      if d.isFinite { out += formatNumber(d) } else { out += "null" }
    case .string(let s): out += JSON.quote(s)
    case .array(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      // Arrays of numbers (and of scalars with a number, such as a trace's entries) stay on
      // one line.
      let scalar = items.allSatisfy {
        switch $0 {
        case .number, .int, .string, .bool, .null: return true
        default: return false
        }
      }
      let flat =
        scalar
        && items.contains {
          if case .number = $0 { return true }
          if case .int = $0 { return true }
          return false
        }
      if flat || indent == nil {
        out += "["
        for (k, v) in items.enumerated() {
          if k > 0 { out += indent == nil ? "," : ", " }
          v.write(&out, indent: indent, level: level + 1)
        }
        out += "]"
        return
      }
      out += "[" + nl
      for (k, v) in items.enumerated() {
        out += pad(level + 1)
        v.write(&out, indent: indent, level: level + 1)
        out += (k + 1 < items.count ? "," : "") + nl
      }
      out += pad(level) + "]"
    case .object(let fields):
      if fields.isEmpty {
        out += "{}"
        return
      }
      out += "{" + nl
      for (k, (key, v)) in fields.enumerated() {
        out += pad(level + 1) + JSON.quote(key) + (indent == nil ? ":" : ": ")
        v.write(&out, indent: indent, level: level + 1)
        out += (k + 1 < fields.count ? "," : "") + nl
      }
      out += pad(level) + "}"
    }
  }

  static func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where u.value < 0x20:
        let hex = String(u.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(u)
      }
    }
    return out + "\""
  }
}
