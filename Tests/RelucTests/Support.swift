import Foundation
import Reluc
import RelucBase
import RelucIR

/// Paths of the test fixtures.
enum Fixtures {
  static let root: String = {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    return here.appendingPathComponent("Fixtures").path
  }()
  static let repository: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().path
  }()

  static func path(_ relative: String) -> String { root + "/" + relative }

  static func files(_ folder: String, ext: String) -> [String] {
    let dir = path(folder)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return names.filter { $0.hasSuffix("." + ext) }.sorted()
  }

  static func read(_ path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
  }

  /// Compiles a model; fails the test's expectations in the caller if it does not compile.
  static func problem(_ path: String, overrides: [(String, OptionValue)] = []) -> Problem? {
    Compiler.compile(
      path: path,
      overrides: overrides.map { OptionAssignment($0.0, $0.1, origin: .commandLine(flag: "-O")) }
    ).problem
  }

  /// The `# expect: ...` header of a fixture.
  static func expectation(_ path: String) -> String? {
    for line in read(path).split(separator: "\n") where line.hasPrefix("# expect: ") {
      return String(line.dropFirst("# expect: ".count))
    }
    return nil
  }
}

/// |a - b| <= abs + rel max(|a|, |b|).
func close(_ a: Double, _ b: Double, abs: Double = 1e-6, rel: Double = 1e-6) -> Bool {
  Swift.abs(a - b) <= abs + rel * max(Swift.abs(a), Swift.abs(b))
}

/// The built `reluc` executable, run as a child process.
enum Executable {
  /// The debug build's binary (`swift build` makes it before the tests run).
  static let path = Fixtures.repository + "/.build/debug/reluc"

  /// Runs `reluc args` (or `program args` for another program, e.g. `/bin/sh -c`), optionally
  /// in `directory` and sending `signal` after `interruptAfter` seconds; returns the exit code,
  /// standard output and standard error. Both pipes are read concurrently, so a long diagnostic
  /// cannot fill one while the other is waited on.
  static func run(
    _ args: [String], program: String = Executable.path, directory: String? = nil,
    interruptAfter: Double? = nil, signal: Int32 = SIGINT
  ) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program)
    p.arguments = args
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    if let t = interruptAfter {
      Thread.sleep(forTimeInterval: t)
      kill(p.processIdentifier, signal)
    }
    let e = StackBox<Data>()
    let group = DispatchGroup()
    group.enter()
    Thread {
      e.value = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return (
      p.terminationStatus, String(decoding: o, as: UTF8.self),
      String(decoding: e.value ?? Data(), as: UTF8.self)
    )
  }
}

/// An independent forward pass (row-major weights, plain loops, not `Network.forward`): every
/// layer's pre-activations and the outputs.
func independentPass(_ net: Network, _ x: [Double]) -> (z: [[Double]], outputs: [Double]) {
  var h = x
  var zs: [[Double]] = []
  for layer in net.layers {
    var z = layer.bias
    for i in 0..<layer.outputSize {
      for j in 0..<layer.inputSize { z[i] += layer.weights[i * layer.inputSize + j] * h[j] }
    }
    zs.append(z)
    h = layer.activation == .relu ? z.map { max($0, 0) } : z
  }
  return (zs, h)
}

extension DenseLayer {
  /// A layer with weights uniform in [-1, 1] and biases uniform in [-0.5, 0.5], drawn from `rng`.
  static func random(_ n: Int, _ m: Int, _ a: Activation, _ rng: inout Xoshiro256) -> DenseLayer {
    DenseLayer(
      inputSize: n, outputSize: m, weights: (0..<(n * m)).map { _ in 2 * rng.unit() - 1 },
      bias: (0..<m).map { _ in rng.unit() - 0.5 }, activation: a)
  }
}

extension Network {
  /// `inputs`-`width`-`width`-`width`-1 with ReLUs and a linear output (`DenseLayer.random`).
  static func randomDeep(inputs: Int, width: Int, _ rng: inout Xoshiro256) -> Network {
    Network(layers: [
      DenseLayer.random(inputs, width, .relu, &rng), DenseLayer.random(width, width, .relu, &rng),
      DenseLayer.random(width, width, .relu, &rng), DenseLayer.random(width, 1, .linear, &rng),
    ])
  }
}
