import RelucBase
import RelucIR

/// Several networks and the hidden values a model names, compiled into one network.
///
/// The combined network's input is the decision vector; its outputs are every network's outputs
/// (in statement order) followed by the exposed hidden post-activations (in order of first use).
/// Its layer `k` stacks, for each network, either that network's layer or a passthrough:
///
/// - Networks are aligned at their last layer. A shallower network starts later: before its
///   first layer its inputs are carried as `relu(x_j - lower_j + 1)` and `relu(lower_j - 1 -
///   x_j)`, whose difference is `x_j - lower_j + 1` at every x, and its first layer adds
///   `W (lower - 1)` to its bias. On the domain the first is strictly active and the second
///   strictly inactive (no binary, no region change, no pre-activation at 0); the second keeps
///   `reluc eval` exact outside the domain (with `relu(x_j - lower_j)` alone, a point below a
///   lower bound was evaluated as if it were on it).
/// - An exposed hidden value is a ReLU post-activation, nonnegative, so it is carried to the
///   output by identity neurons, exactly (stably active too).
/// - With several networks, a linear hidden layer is composed with the next layer, and when the
///   last layers' activations differ an identity linear layer is appended to the ones ending in
///   a ReLU, so that every combined layer has one activation.
///
/// One network bound to the whole decision vector with no hidden value named is returned as it
/// is, so such models mean exactly what they meant before.
extension Lowering {

  /// The combined network and the names of its output blocks. `lower` are the decision
  /// vector's lower bounds (finite).
  func combinedNetwork(_ symbols: Symbols, lower: [Double]) -> (Network, [OutputGroup]) {
    var groups: [OutputGroup] = []
    for (k, m) in symbols.networks.enumerated() {
      let name =
        (k == symbols.unaliased ? "" : (m.alias.map { $0 + "." } ?? "")) + m.network.outputName
      groups.append(
        OutputGroup(name: name, range: m.outputOffset..<(m.outputOffset + m.network.outputSize)))
    }
    for (q, e) in exposures.enumerated() {
      let m = symbols.networks[e.network]
      let prefix = e.network == symbols.unaliased ? "" : (m.alias.map { $0 + "." } ?? "")
      let slot = symbols.outputCount + q
      groups.append(
        OutputGroup(
          name: "\(prefix)\(m.layerNames[e.layer])[\(e.neuron)]", range: slot..<(slot + 1),
          isResult: false))
    }
    let only = symbols.networks[0]
    if symbols.networks.count == 1, exposures.isEmpty,
      only.inputColumns == Array(0..<symbols.inputSize)
    {
      return (only.network, groups)
    }

    // Each network's layers, aligned (see above), and where each original ReLU layer went.
    var stacks: [[DenseLayer]] = []
    var placed: [[Int: Int]] = []
    for m in symbols.networks {
      var layers: [DenseLayer] = []
      var map: [Int: Int] = [:]
      for (l, layer) in m.network.layers.enumerated() {
        if symbols.networks.count > 1, let prev = layers.last, prev.activation == .linear {
          layers[layers.count - 1] = composed(prev, then: layer)
        } else {
          layers.append(layer)
        }
        if layer.activation == .relu { map[l] = layers.count - 1 }
      }
      stacks.append(layers)
      placed.append(map)
    }
    if symbols.networks.count > 1,
      Set(stacks.map { $0.last!.activation }).count > 1
    {
      for k in stacks.indices where stacks[k].last!.activation == .relu {
        let m = stacks[k].last!.outputSize
        var eye = [Double](repeating: 0, count: m * m)
        for i in 0..<m { eye[i * m + i] = 1 }
        stacks[k].append(
          DenseLayer(
            name: "identity", inputSize: m, outputSize: m, weights: eye,
            bias: [Double](repeating: 0, count: m), activation: .linear))
      }
    }
    let depth = stacks.map(\.count).max()!
    let starts = stacks.map { depth - $0.count }

    enum Slot: Hashable {
      case neuron(network: Int, index: Int)
      /// `relu(x_j - lower_j + 1)` (`below` false) or `relu(lower_j - 1 - x_j)`.
      case pass(network: Int, column: Int, below: Bool)
      case carry(Int)
    }
    var previous: [Slot: Int] = [:]
    var width = symbols.inputSize
    var layers: [DenseLayer] = []
    for k in 0..<depth {
      var rows: [(entries: [(Int, Double)], bias: Double)] = []
      var slots: [Slot: Int] = [:]
      var activation: Activation = .relu
      for (i, m) in symbols.networks.enumerated() {
        let columns = Array(Set(m.inputColumns)).sorted()
        if k < starts[i] {
          for col in columns {
            for below in [false, true] {
              let slot = Slot.pass(network: i, column: col, below: below)
              slots[slot] = rows.count
              rows.append(
                k == 0
                  ? ([(col, below ? -1 : 1)], below ? lower[col] - 1 : 1 - lower[col])
                  : ([(previous[slot]!, 1)], 0))
            }
          }
          continue
        }
        let l = k - starts[i]
        let layer = stacks[i][l]
        activation = layer.activation
        for r in 0..<layer.outputSize {
          var entries: [(Int, Double)] = []
          var bias = layer.bias[r]
          for j in 0..<layer.inputSize {
            let w = layer.weights[r * layer.inputSize + j]
            guard w != 0 else { continue }
            if l > 0 {
              entries.append((previous[.neuron(network: i, index: j)]!, w))
            } else if starts[i] == 0 {
              entries.append((m.inputColumns[j], w))
            } else {
              let col = m.inputColumns[j]
              entries.append((previous[.pass(network: i, column: col, below: false)]!, w))
              entries.append((previous[.pass(network: i, column: col, below: true)]!, -w))
              bias += w * (lower[col] - 1)
            }
          }
          slots[.neuron(network: i, index: r)] = rows.count
          rows.append((entries, bias))
        }
      }
      for (q, e) in exposures.enumerated() {
        let at = starts[e.network] + placed[e.network][e.layer]!
        guard at < k else { continue }
        let source: Slot = at == k - 1 ? .neuron(network: e.network, index: e.neuron) : .carry(q)
        slots[.carry(q)] = rows.count
        rows.append(([(previous[source]!, 1)], 0))
      }
      var weights = [Double](repeating: 0, count: rows.count * width)
      for (r, row) in rows.enumerated() {
        for (j, w) in row.entries { weights[r * width + j] += w }
      }
      let name = k == depth - 1 ? "output" : "combined\(k)"
      layers.append(
        DenseLayer(
          name: name, inputSize: width, outputSize: rows.count, weights: weights,
          bias: rows.map(\.bias), activation: activation))
      previous = slots
      width = rows.count
    }
    let net = Network(
      name: only.network.name, inputName: symbols.inputName, outputName: only.network.outputName,
      layers: layers)
    return (net, groups)
  }

  /// The linear layer `a` followed by `b`, as one layer: `W_b W_a h + (W_b b_a + b_b)`.
  func composed(_ a: DenseLayer, then b: DenseLayer) -> DenseLayer {
    var w = [Double](repeating: 0, count: b.outputSize * a.inputSize)
    var bias = b.bias
    for i in 0..<b.outputSize {
      for k in 0..<b.inputSize {
        let v = b.weights[i * b.inputSize + k]
        guard v != 0 else { continue }
        bias[i] += v * a.bias[k]
        for j in 0..<a.inputSize { w[i * a.inputSize + j] += v * a.weights[k * a.inputSize + j] }
      }
    }
    return DenseLayer(
      name: b.name, inputSize: a.inputSize, outputSize: b.outputSize, weights: w, bias: bias,
      activation: b.activation)
  }
}
