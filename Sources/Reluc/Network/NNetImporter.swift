import RelucBase
import RelucIR

/// Reads the NNet format (Reluplex/Marabou): `//` comment lines; then the number of layers, input
/// size, output size and largest layer; the layer sizes; an unused flag; input minimums and
/// maximums; means and ranges (one per input, then one shared by the outputs); then per layer its
/// weight rows (one per neuron) and its biases (one per line). Hidden layers are ReLU, the last is
/// linear. Inputs are normalized as (x - mean) / range (the min/max clamp is the identity inside
/// the bounds, which become the network's input bounds) and outputs as y * range + mean: both go
/// into the network's normalizations, so models speak in the original units. The minimums and
/// maximums are kept exactly as given, however large: the format has no "no bound" convention
/// (files that mean "unbounded" write a large number such as 100000, which is then the bound the
/// network was specified on; dropping it would leave the input unbounded and the model rejected).
public enum NNetImporter {
  /// Parses NNet text.
  public static func parse(_ text: String, name: String = "nnet") throws(ImportError) -> Network {
    var lines: [(Int, [Double])] = []
    for (k, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(" \t\r")
      if line.isEmpty || line.hasPrefix("//") { continue }
      var values: [Double] = []
      for field in line.split(separator: ",") {
        let f = field.trimmingCharacters(" \t\r")
        if f.isEmpty { continue }
        guard let v = Double(f), v.isFinite else {
          throw ImportError("'\(f)' is not a finite number", line: k + 1)
        }
        values.append(v)
      }
      lines.append((k + 1, values))
    }
    var cursor = 0
    func next(_ what: String, count: Int? = nil) throws(ImportError) -> [Double] {
      guard cursor < lines.count else { throw ImportError("the file ends before \(what)") }
      let (line, v) = lines[cursor]
      cursor += 1
      if let count, v.count != count {
        throw ImportError("\(what) has \(v.count) values, expected \(count)", line: line)
      }
      return v
    }
    let header = try next("the header")
    guard header.count >= 3, let layerCount = Int(exactly: header[0]),
      let nIn = Int(exactly: header[1]),
      let nOut = Int(exactly: header[2]), layerCount >= 1, nIn >= 1, nOut >= 1
    else { throw ImportError("bad header", line: lines[0].0) }
    let sizes = try next("the layer sizes", count: layerCount + 1).map { Int(exactly: $0) ?? 0 }
    guard sizes.first == nIn, sizes.last == nOut, sizes.allSatisfy({ $0 >= 1 && $0 <= 10_000_000 })
    else {
      throw ImportError("the layer sizes do not match the header", line: lines[1].0)
    }
    _ = try next("the unused flag")
    let mins = try next("the input minimums", count: nIn)
    let maxs = try next("the input maximums", count: nIn)
    if let j = (0..<nIn).first(where: { mins[$0] > maxs[$0] }) {
      throw ImportError(
        "the bounds of input \(j) cross: minimum \(mins[j]) > maximum \(maxs[j])",
        line: lines[cursor - 1].0)
    }
    let means = try next("the means", count: nIn + 1)
    let ranges = try next("the ranges", count: nIn + 1)
    var layers: [DenseLayer] = []
    for k in 0..<layerCount {
      let (rows, cols) = (sizes[k + 1], sizes[k])
      var w: [Double] = []
      w.reserveCapacity(rows * cols)
      for i in 0..<rows { w += try next("row \(i + 1) of layer \(k + 1)", count: cols) }
      var b: [Double] = []
      for i in 0..<rows { b += try next("bias \(i + 1) of layer \(k + 1)", count: 1) }
      layers.append(
        DenseLayer(
          name: "layer\(k + 1)", inputSize: cols, outputSize: rows, weights: w, bias: b,
          activation: k == layerCount - 1 ? .linear : .relu))
    }
    if cursor < lines.count {
      throw ImportError("unexpected data after the last layer", line: lines[cursor].0)
    }
    if ranges.contains(0) { throw ImportError("a range is zero") }
    return Network(
      name: name, inputName: "x", outputName: "y", layers: layers, inputLower: mins,
      inputUpper: maxs,
      inputNormalization: Normalization(mean: Array(means[0..<nIn]), scale: Array(ranges[0..<nIn])),
      outputNormalization: Normalization(
        mean: [Double](repeating: means[nIn], count: nOut),
        scale: [Double](repeating: ranges[nIn], count: nOut)))
  }
}

extension Substring {
  /// The text without the given characters at either end.
  public func trimmingCharacters(_ set: String) -> String {
    var s = self
    while let c = s.first, set.contains(c) { s.removeFirst() }
    while let c = s.last, set.contains(c) { s.removeLast() }
    return String(s)
  }
}
