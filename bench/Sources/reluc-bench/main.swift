// reluc-bench: micro-benchmarks driven by bench/run.py (release build).
//   reluc-bench xml NET.xml            -> seconds to read and check the network file
//   reluc-bench grad MODEL.rmod ITERS  -> projected-gradient iterations per second (one start)
//   reluc-bench gradb MODEL.rmod ITERS B [single] -> batched: points x iterations per second, B
//     points, in double (or single) precision
//   reluc-bench outputs MODEL.rmod k:level NAME=VALUE... -> a solve with rows y[k] <= level
//   reluc-bench bandwidth MB           -> GB/s of a streaming read (sum) over MB megabytes
import Reluc
import RelucBLAS
import RelucBase
import RelucIR
import RelucXML

#if canImport(Glibc)
  import Glibc
#endif

let args = CommandLine.arguments
func fail(_ s: String) -> Never {
  print(s)
  exit(64)
}
guard args.count >= 3 else { fail("usage: reluc-bench xml|grad|bandwidth ...") }

switch args[1] {
case "xml":
  let t0 = monotonicSeconds()
  switch NetworkReader(maxBytes: 1 << 31).read(path: args[2]) {
  case .success(let net):
    let dt = monotonicSeconds() - t0
    print("{\"seconds\": \(dt), \"parameters\": \(net.parameterCount)}")
  case .failure(let bag): fail("\(bag.all.map(\.message))")
  }
case "grad":
  let c = Compiler.compile(path: args[2])
  guard let p = c.problem else { fail("model does not compile") }
  let iters = Int(args.count > 3 ? args[3] : "1000") ?? 1000
  let k = NetworkKernel(problem: p)
  let n = p.network.inputSize
  var x = (0..<n).map { j in (p.polytope.lower[j] + p.polytope.upper[j]) / 2 }
  var g = [Double](repeating: 0, count: n)
  let eta = 1e-3
  var checksum = 0.0
  let t0 = monotonicSeconds()
  for _ in 0..<iters {
    checksum += x.withUnsafeBufferPointer { k.forward($0.baseAddress!) }
    g.withUnsafeMutableBufferPointer { k.gradient(into: $0.baseAddress!) }
    for j in 0..<n { x[j] = min(max(x[j] + eta * g[j], p.polytope.lower[j]), p.polytope.upper[j]) }
  }
  let dt = monotonicSeconds() - t0
  print("{\"iterations_per_second\": \(Double(iters) / dt), \"checksum\": \(checksum)}")
case "gradb":
  // Batched: `batch` points per iteration through BatchKernel; reports points x iterations / s.
  let c = Compiler.compile(path: args[2])
  guard let p = c.problem else { fail("model does not compile") }
  let iters = Int(args.count > 3 ? args[3] : "100") ?? 100
  let batch = Int(args.count > 4 ? args[4] : "64") ?? 64
  if args.count > 5 && args[5] == "single" {
    batchedBenchmark(p, Float.self, iters: iters, batch: batch)
  } else {
    batchedBenchmark(p, Double.self, iters: iters, batch: batch)
  }
case "outputs":
  outputsBenchmark(args)
case "bandwidth":
  let mb = Int(args[2]) ?? 256
  let count = mb * 1024 * 1024 / 8
  let a = [Double](repeating: 1, count: count)
  var best = 0.0
  for _ in 0..<5 {
    let t0 = monotonicSeconds()
    var s = SIMD4<Double>()
    a.withUnsafeBufferPointer { p in
      let base = UnsafeRawPointer(p.baseAddress!)
      var i = 0
      while i + 4 <= count {
        s += base.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self)
        i += 4
      }
    }
    let dt = monotonicSeconds() - t0
    if s.sum() < 0 { print("") }
    best = max(best, Double(count * 8) / dt / 1e9)
  }
  print("{\"gigabytes_per_second\": \(best)}")
default:
  fail("unknown benchmark \(args[1])")
}

/// `gradb`: points x iterations per second of `BatchKernel<Scalar>` (forward, backward, a clamped
/// step), and of the same products alone (the gemm bound).
func batchedBenchmark<Scalar: BLASScalar>(
  _ p: Problem, _: Scalar.Type, iters: Int, batch: Int
) {
  let k = BatchKernel<Scalar>(problem: p, batch: batch)
  let n = p.network.inputSize
  var x = [Double](repeating: 0.5, count: n * batch)
  var g = [Double](repeating: 0, count: n * batch)
  let t0 = monotonicSeconds()
  for _ in 0..<iters {
    x.withUnsafeBufferPointer { k.forward($0.baseAddress!) }
    g.withUnsafeMutableBufferPointer { k.gradient(into: $0.baseAddress!) }
    for j in 0..<(n * batch) { x[j] = min(max(x[j] + 1e-3 * g[j], 0), 1) }
  }
  let dt = monotonicSeconds() - t0
  // The gemm bound: the same products (W H forward, W^T G backward, per layer) and nothing else.
  let widest = p.network.layers.map { max($0.inputSize, $0.outputSize) }.max() ?? 1
  let a = [Scalar](repeating: 0.5, count: widest * batch)
  var out = [Scalar](repeating: 0, count: widest * batch)
  let weights = p.network.layers.map { $0.weights.map { Scalar($0) } }
  let t1 = monotonicSeconds()
  for _ in 0..<iters {
    for (l, layer) in p.network.layers.enumerated() {
      weights[l].withUnsafeBufferPointer { w in
        a.withUnsafeBufferPointer { h in
          out.withUnsafeMutableBufferPointer { o in
            Scalar.gemm(
              transposeA: false, m: layer.outputSize, n: batch, k: layer.inputSize,
              a: w.baseAddress!, b: h.baseAddress!, beta: 0, c: o.baseAddress!)
            Scalar.gemm(
              transposeA: true, m: layer.inputSize, n: batch, k: layer.outputSize,
              a: w.baseAddress!, b: h.baseAddress!, beta: 0, c: o.baseAddress!)
          }
        }
      }
    }
  }
  let bound = monotonicSeconds() - t1
  print(
    "{\"point_iterations_per_second\": \(Double(iters * batch) / dt), "
      + "\"dgemm_bound_point_iterations_per_second\": \(Double(iters * batch) / bound)}")
}
