import RelucBase

/// The activation applied after a layer's affine map.
public enum Activation: String, Sendable, Equatable, CaseIterable {
  /// max(0, z), elementwise.
  case relu
  /// The identity.
  case linear
}

/// A dense affine layer `z = W h + b` followed by an activation.
public struct DenseLayer: Sendable, Equatable {
  /// The layer's name (from the network file; may be empty).
  public var name: String
  /// Number of inputs (columns of W).
  public var inputSize: Int
  /// Number of outputs (rows of W).
  public var outputSize: Int
  /// W, row-major: `weights[i * inputSize + j]` is the weight from input j to neuron i.
  public var weights: [Double]
  /// b, one per neuron.
  public var bias: [Double]
  /// The activation.
  public var activation: Activation

  /// Creates a layer; `weights` is row-major `outputSize x inputSize`.
  public init(
    name: String = "", inputSize: Int, outputSize: Int, weights: [Double], bias: [Double],
    activation: Activation
  ) {
    precondition(weights.count == inputSize * outputSize && bias.count == outputSize)
    self.name = name
    self.inputSize = inputSize
    self.outputSize = outputSize
    self.weights = weights
    self.bias = bias
    self.activation = activation
  }

  /// The weight from input `j` to neuron `i`.
  @inlinable public func weight(_ i: Int, _ j: Int) -> Double { weights[i * inputSize + j] }
}

/// An affine normalization `v -> (v - mean) / scale` (inputs) or `v -> v * scale + mean` (outputs).
public struct Normalization: Sendable, Equatable {
  /// One mean per component.
  public var mean: [Double]
  /// One scale per component (non-zero).
  public var scale: [Double]

  /// Creates a normalization.
  public init(mean: [Double], scale: [Double]) {
    self.mean = mean
    self.scale = scale
  }
}

/// A feed-forward network: a stack of dense layers, in the units of the model.
public struct Network: Sendable, Equatable {
  /// The network's name.
  public var name: String
  /// Name of the input vector (e.g. `x`).
  public var inputName: String
  /// Name of the output vector (e.g. `y`).
  public var outputName: String
  /// Input dimension.
  public var inputSize: Int
  /// Output dimension.
  public var outputSize: Int
  /// The layers, first to last.
  public var layers: [DenseLayer]
  /// Optional input bounds declared by the network file (in original units).
  public var inputLower: [Double]?
  /// Optional input bounds declared by the network file (in original units).
  public var inputUpper: [Double]?
  /// Input normalization, applied before the first layer; `nil` once folded.
  public var inputNormalization: Normalization?
  /// Output normalization, applied after the last layer; `nil` once folded.
  public var outputNormalization: Normalization?

  /// Creates a network.
  public init(
    name: String = "", inputName: String = "x", outputName: String = "y", layers: [DenseLayer],
    inputLower: [Double]? = nil, inputUpper: [Double]? = nil,
    inputNormalization: Normalization? = nil, outputNormalization: Normalization? = nil
  ) {
    self.name = name
    self.inputName = inputName
    self.outputName = outputName
    self.layers = layers
    self.inputSize = layers.first?.inputSize ?? 0
    self.outputSize = layers.last?.outputSize ?? 0
    self.inputLower = inputLower
    self.inputUpper = inputUpper
    self.inputNormalization = inputNormalization
    self.outputNormalization = outputNormalization
  }

  /// Number of ReLU neurons.
  public var reluCount: Int {
    layers.reduce(0) { $0 + ($1.activation == .relu ? $1.outputSize : 0) }
  }

  /// Number of weights and biases.
  public var parameterCount: Int { layers.reduce(0) { $0 + $1.weights.count + $1.bias.count } }

  /// The same function with the normalizations folded into the first and last layers:
  /// `W1' = W1 diag(1/s)`, `b1' = b1 - W1' m` for inputs; `W' = diag(s) W`, `b' = s b + m` for
  /// outputs (a linear layer is appended when the last layer is a ReLU).
  public func foldingNormalization() -> Network {
    var net = self
    if let n = inputNormalization, var first = net.layers.first {
      for i in 0..<first.outputSize {
        var shift = 0.0
        for j in 0..<first.inputSize {
          let w = first.weights[i * first.inputSize + j] / n.scale[j]
          first.weights[i * first.inputSize + j] = w
          shift += w * n.mean[j]
        }
        first.bias[i] -= shift
      }
      net.layers[0] = first
    }
    if let n = outputNormalization {
      if net.layers.last?.activation == .relu {
        let m = net.outputSize
        var eye = [Double](repeating: 0, count: m * m)
        for i in 0..<m { eye[i * m + i] = 1 }
        net.layers.append(
          DenseLayer(
            name: "output-normalization", inputSize: m, outputSize: m, weights: eye,
            bias: [Double](repeating: 0, count: m), activation: .linear))
      }
      var last = net.layers[net.layers.count - 1]
      for i in 0..<last.outputSize {
        for j in 0..<last.inputSize { last.weights[i * last.inputSize + j] *= n.scale[i] }
        last.bias[i] = last.bias[i] * n.scale[i] + n.mean[i]
      }
      net.layers[net.layers.count - 1] = last
    }
    net.inputNormalization = nil
    net.outputNormalization = nil
    return net
  }

  /// A forward pass (reference implementation, straightforward loops): the outputs at `x`.
  /// Normalizations still present are applied.
  public func evaluate(_ x: [Double]) -> [Double] { forward(x).outputs }

  /// The forward pass at `x` with its intermediate values: the one implementation of `W h + b`
  /// and the activations outside the gradient kernels. Normalizations still present are applied
  /// (the input's before the first layer, the output's to `outputs` only).
  public func forward(_ x: [Double]) -> ForwardPass {
    precondition(x.count == inputSize)
    var h = x
    if let n = inputNormalization {
      for j in 0..<h.count { h[j] = (h[j] - n.mean[j]) / n.scale[j] }
    }
    var pass = ForwardPass(input: h, preactivations: [], activations: [], outputs: [])
    for layer in layers {
      var z = layer.bias
      for i in 0..<layer.outputSize {
        var s = 0.0
        let row = i * layer.inputSize
        for j in 0..<layer.inputSize { s += layer.weights[row + j] * h[j] }
        z[i] += s
      }
      pass.preactivations.append(z)
      if layer.activation == .relu {
        for i in 0..<z.count where z[i] < 0 { z[i] = 0 }
      }
      pass.activations.append(z)
      h = z
    }
    if let n = outputNormalization {
      for i in 0..<h.count { h[i] = h[i] * n.scale[i] + n.mean[i] }
    }
    pass.outputs = h
    return pass
  }
}

/// The values of one forward pass (`Network.forward`).
public struct ForwardPass: Sendable, Equatable {
  /// The first layer's input: `x`, input normalization applied.
  public var input: [Double]
  /// Per layer, the pre-activations `z = W h + b`.
  public var preactivations: [[Double]]
  /// Per layer, the activations: `max(0, z)` for a ReLU layer, `z` for a linear one.
  public var activations: [[Double]]
  /// The network's outputs: the last layer's activations, output normalization applied.
  public var outputs: [Double]

  /// The input of layer `l` (the activations of the layer before it).
  public func layerInput(_ l: Int) -> [Double] { l == 0 ? input : activations[l - 1] }
}
