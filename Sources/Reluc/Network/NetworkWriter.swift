import RelucBase
import RelucIR

/// Writes a network in the reluc XML format (grammar/network.xsd). Numbers are written in the
/// shortest form that reads back to the same double, so a write-read round trip is exact.
public enum NetworkWriter {
  /// The XML text of a network (normalizations and bounds included as they are).
  public static func xml(_ net: Network) -> String {
    var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    out += "<network name=\"\(escape(net.name))\" version=\"1\">\n"
    out += "  <input name=\"\(net.inputName)\" size=\"\(net.inputSize)\">\n"
    if let l = net.inputLower { out += "    <lower>\(numbers(l))</lower>\n" }
    if let u = net.inputUpper { out += "    <upper>\(numbers(u))</upper>\n" }
    if let n = net.inputNormalization {
      out += "    <mean>\(numbers(n.mean))</mean>\n    <scale>\(numbers(n.scale))</scale>\n"
    }
    out += "  </input>\n"
    out += "  <output name=\"\(net.outputName)\" size=\"\(net.outputSize)\">\n"
    if let n = net.outputNormalization {
      out += "    <mean>\(numbers(n.mean))</mean>\n    <scale>\(numbers(n.scale))</scale>\n"
    }
    out += "  </output>\n"
    for (k, layer) in net.layers.enumerated() {
      let name = layer.name.isEmpty ? "L\(k + 1)" : layer.name
      out +=
        "  <layer name=\"\(escape(name))\" inputs=\"\(layer.inputSize)\" outputs=\"\(layer.outputSize)\" activation=\"\(layer.activation.rawValue)\">\n"
      for i in 0..<layer.outputSize {
        let row = layer.weights[(i * layer.inputSize)..<((i + 1) * layer.inputSize)]
        out += "    <row>\(numbers(row))</row>\n"
      }
      out += "    <bias>\(numbers(layer.bias))</bias>\n  </layer>\n"
    }
    return out + "</network>\n"
  }

  static func numbers<C: Collection>(_ v: C) -> String where C.Element == Double {
    v.map { "\($0)" }.joined(separator: " ")
  }

  static func escape(_ s: String) -> String {
    var o = ""
    for c in s {
      switch c {
      case "&": o += "&amp;"
      case "<": o += "&lt;"
      case ">": o += "&gt;"
      case "\"": o += "&quot;"
      default: o.append(c)
      }
    }
    return o
  }
}
