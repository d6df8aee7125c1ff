import Reluc
import RelucBase
import RelucIR

#if canImport(Glibc)
  import Glibc
#endif

/// `reluc-bench outputs MODEL.rmod ROWS NAME=VALUE...`: solves the model with output rows added
/// (until the language has them): ROWS is `k:level[,k:level...]`, each the row `y[k] <= level`;
/// the options are `-O` assignments; `obbt_rows=1` puts the rows in the bound LPs,
/// `penalty_mu=V` sets the gradient methods' first penalty multiplier. Prints the solution report's JSON (bench/outputs.py).
func outputsBenchmark(_ args: [String]) -> Never {
  guard args.count >= 4 else { fail("usage: reluc-bench outputs MODEL.rmod k:level NAME=VALUE...") }
  // `obbt_rows=1`: bound LPs with the output rows (a switch, not an option; off by default).
  OBBTSettings.useOutputRows = args.contains("obbt_rows=1")
  // `penalty_mu=V`: the gradient methods' first penalty multiplier (0: restoration alone).
  if let a = args.first(where: { $0.hasPrefix("penalty_mu=") }),
    let v = Double(a.dropFirst("penalty_mu=".count))
  {
    PenaltySettings.initialMultiplier = v
  }
  let overrides = args.dropFirst(4).filter {
    !$0.hasPrefix("obbt_rows=") && !$0.hasPrefix("penalty_mu=")
  }.map {
    a -> OptionAssignment in
    let parts = a.split(separator: "=", maxSplits: 1).map(String.init)
    return OptionAssignment(parts[0], .parse(parts[1]), origin: .commandLine(flag: "-O"))
  }
  let c = Compiler.compile(path: args[2], overrides: overrides)
  guard var p = c.problem else { fail("model does not compile") }
  var rows = OutputConstraints.none(
    inputSize: p.network.inputSize, outputSize: p.network.outputSize)
  for spec in args[3].split(separator: ",") {
    let kv = spec.split(separator: ":")
    guard kv.count == 2, let k = Int(kv[0]), let level = Double(kv[1]), k < p.network.outputSize
    else { fail("bad row \(spec)") }
    var h = [Double](repeating: 0, count: p.network.outputSize)
    h[k] = 1
    rows.append(
      input: [Double](repeating: 0, count: p.network.inputSize), output: h, rhs: level,
      name: "limit\(k)")
  }
  p.outputConstraints = rows
  let report = Solver.solve(p, SolveContext(timeLimit: p.options.timeLimit))
  print(report.json(problem: p).rendered(indent: nil))
  exit(0)
}
