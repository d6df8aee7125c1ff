import RelucBase
import RelucIR

/// A network of the model as loaded: its alias, its layers (normalizations folded), the
/// decision-vector entries its inputs are bound to, and where its outputs are among the
/// combined outputs.
struct ModelNetwork {
  /// The `network` statement.
  var declaration: NetworkDeclaration
  /// The network, normalizations folded.
  var network: Network
  /// The decision-vector index of each of the network's inputs.
  var inputColumns: [Int]
  /// The position of its first output among the combined outputs.
  var outputOffset: Int

  var alias: String? { declaration.alias?.name }

  /// The name a layer is referred to by: its name in the file when that is an identifier (and
  /// not the network's input or output name), else `layer<k>` (0-based). Both are accepted.
  func layerIndex(named name: String) -> Int? {
    for (k, l) in network.layers.enumerated() where l.name == name { return k }
    if name.hasPrefix("layer"), let k = Int(name.dropFirst(5)), k >= 0, k < network.layers.count,
      String(k) == name.dropFirst(5)
    {
      return k
    }
    return nil
  }

  /// The names of the layers, for messages.
  var layerNames: [String] {
    network.layers.enumerated().map { k, l in l.name.isEmpty ? "layer\(k)" : l.name }
  }
}

/// A hidden neuron's post-activation exposed as an extra output of the combined network: the
/// network, the layer (a ReLU layer that is not the last) and the neuron.
struct Exposure: Hashable {
  var network: Int
  var layer: Int
  var neuron: Int
}

/// The names a model's expressions can use: the decision vector, every network's output vector
/// and layers, and the hidden values exposed so far (in `Lowering.exposures`).
struct Symbols {
  /// The decision vector's name (the first network's input name) and size.
  var inputName: String
  var inputSize: Int
  /// The networks, in statement order.
  var networks: [ModelNetwork]
  /// The network without alias, whose vectors are named without qualification, if any.
  var unaliased: Int?
  /// Number of network outputs (before exposures).
  var outputCount: Int

  /// What a (possibly qualified) vector name means.
  enum Meaning {
    case input
    case output(network: Int)
    case layer(network: Int, layer: Int, pre: Bool)
  }

  /// Resolves a vector name: `x`, `y`, `cost.y`, `cost.hidden1`, `cost.hidden1.pre`,
  /// `hidden1` (for the unaliased network).
  func resolve(_ name: String) -> Meaning? {
    if name == inputName { return .input }
    var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    var index: Int? = unaliased
    if parts.count >= 2, let k = networks.firstIndex(where: { $0.alias == parts[0] }) {
      index = k
      parts.removeFirst()
    }
    guard let k = index, !parts.isEmpty, parts.count <= 2 else { return nil }
    let net = networks[k]
    let pre = parts.count == 2
    if pre, parts[1] != "pre" { return nil }
    if !pre, parts[0] == net.network.outputName { return .output(network: k) }
    guard let layer = net.layerIndex(named: parts[0]) else { return nil }
    return .layer(network: k, layer: layer, pre: pre)
  }

  /// The names of vectors that exist, for suggestions.
  var knownNames: [String] {
    var names = [inputName]
    for (k, net) in networks.enumerated() {
      let prefix = k == unaliased ? "" : (net.alias.map { $0 + "." } ?? "")
      names.append(prefix + net.network.outputName)
      for l in net.layerNames { names += [prefix + l, prefix + l + ".pre"] }
    }
    return names
  }

  /// Whether `name` is a vector name (an index may not hide one).
  func isVector(_ name: String) -> Bool { resolve(name) != nil }
}

extension Lowering {

  /// The forms of a vector's components: input entries, outputs, hidden values (exposing the
  /// hidden post-activations it needs). `count` is the number of components; `element(k)`
  /// builds one.
  mutating func vectorSize(_ meaning: Symbols.Meaning, _ symbols: Symbols) -> Int {
    switch meaning {
    case .input: return symbols.inputSize
    case .output(let k): return symbols.networks[k].network.outputSize
    case .layer(let k, let l, _): return symbols.networks[k].network.layers[l].outputSize
    }
  }

  mutating func element(_ meaning: Symbols.Meaning, _ i: Int, _ symbols: Symbols) -> Affine {
    switch meaning {
    case .input:
      return Affine(x: [i: 1])
    case .output(let k):
      return Affine(y: [symbols.networks[k].outputOffset + i: 1])
    case .layer(let k, let l, let pre):
      return pre ? preactivation(k, l, i, symbols) : postactivation(k, l, i, symbols)
    }
  }

  /// Neuron `i` of layer `l`'s post-activation: an output when `l` is the last layer, an
  /// exposed hidden value for a ReLU layer, its pre-activation for a linear one.
  mutating func postactivation(_ k: Int, _ l: Int, _ i: Int, _ symbols: Symbols) -> Affine {
    let net = symbols.networks[k]
    if l == net.network.layers.count - 1 { return Affine(y: [net.outputOffset + i: 1]) }
    if net.network.layers[l].activation == .linear { return preactivation(k, l, i, symbols) }
    let key = Exposure(network: k, layer: l, neuron: i)
    if let slot = exposureSlot[key] { return Affine(y: [slot: 1]) }
    let slot = symbols.outputCount + exposures.count
    exposures.append(key)
    exposureSlot[key] = slot
    return Affine(y: [slot: 1])
  }

  /// Neuron `i` of layer `l`'s pre-activation `W h + b`: affine in the inputs for the first
  /// layer, in the previous layer's post-activations otherwise.
  mutating func preactivation(_ k: Int, _ l: Int, _ i: Int, _ symbols: Symbols) -> Affine {
    let net = symbols.networks[k]
    let layer = net.network.layers[l]
    var a = Affine.constant(layer.bias[i])
    for j in 0..<layer.inputSize {
      let w = layer.weights[i * layer.inputSize + j]
      guard w != 0 else { continue }
      let h = l == 0 ? Affine(x: [net.inputColumns[j]: 1]) : postactivation(k, l - 1, j, symbols)
      a.add(h, times: w)
    }
    a.prune()
    return a
  }
}
