import RelucBase
import RelucIR
import RelucXML

/// What `reluc verify` is asked to do.
public struct VerifyRequest: Sendable {
  /// The VNN-LIB property file.
  public var property: String
  /// The network: ONNX, NNet or reluc XML.
  public var network: String
  /// Seconds for the whole run.
  public var timeout: Double = 60
  /// A file that receives the answer (and witness) too.
  public var output: String?
  /// One line per disjunct and phase on standard error.
  public var verbose = false
  /// Largest network file read.
  public var maxNetworkBytes = NetworkReader.defaultMaxBytes

  /// A request with the defaults.
  public init(property: String, network: String) {
    self.property = property
    self.network = network
  }
}

/// The answer of `reluc verify`, in VNN-COMP's words.
public enum VerifyAnswer: String, Sendable {
  case sat, unsat, unknown, timeout
}

/// Decides a property: the witness search on every disjunct, then each prover in turn on the
/// disjuncts still open; `sat` as soon as a point checks, `unsat` when every disjunct is proven
/// empty.
public struct Verifier: Sendable {
  /// The share of each disjunct's time its provers get in the first round when a property has
  /// several disjuncts (`verify`).
  static let firstRound = 0.1
  /// The witness search's share of the time limit (at most `searchSeconds`). Short: on ACAS Xu
  /// the witnesses it finds come in under a second, and the provers (bab's own incumbents
  /// included) do better with the time (1_1 property 3: unsat in 5.2 s with 5 s of search,
  /// 1.2 s with 1 s).
  public static let searchShare = 0.05
  /// The longest witness search, in seconds.
  public static let searchSeconds = 1.0
  /// The search's first part, in seconds, before the quick proofs (`quickProvers`, for
  /// `quickProofSeconds`); the rest of the search follows on the disjuncts still open. Most
  /// witnesses come sooner, and most unsat answers need a fraction of the search's second: on
  /// ACAS Xu, 114 of the 138 unsat instances took 1.0-1.5 s, nearly all of it the search's.
  public static let quickSearchSeconds = 0.1
  /// The quick proofs' time, shared by the disjuncts.
  public static let quickProofSeconds = 0.25
  /// The provers of the quick proofs (cheap to start; the MILP is not).
  public static let quickProvers: Set<String> = ["interval", "bab"]
  /// VNN-COMP's absolute tolerance for a counterexample's output conditions
  /// (`COUNTEREXAMPLE_ATOL` of its scoring scripts, 2023): a witness's output rows must hold
  /// within it at the double-precision forward pass; its inputs lie in the box exactly.
  public static let outputTolerance = 1e-4
  /// The share of a disjunct's time a prover gets when another one follows it (the last one
  /// gets what is left). bab, whose input splitting decides every ACAS Xu instance (the slowest
  /// in 9.5 s of VNN-COMP's 116), took all of it before, and the MILP never ran: on a 6-input
  /// network with 20 ReLUs and weights of scale 3 (bench/differential/verify_campaign.py,
  /// problem 398) bab's bound was still 1.46 after 10 s and 29,755 boxes, where the MILP proves
  /// the largest margin -1.14 in 0.14 s.
  public static let leadingProverShare = 0.5

  /// The provers tried on each disjunct, in order.
  public var provers: [(name: String, prove: DisjunctProver)] = [
    ("interval", SpecNetworkProver.interval), ("bab", SpecNetworkProver.bab),
    ("milp", SpecNetworkProver.milp),
  ]
  /// Notes for `--verbose`.
  public var log: (@Sendable (String) -> Void)? = nil

  /// A verifier with the built-in provers.
  public init() {}

  /// The answer and, for `sat`, the checked witness `(x, y)`.
  public func verify(_ disjuncts: [PropertyDisjunct], context: SolveContext)
    -> (VerifyAnswer, witness: (x: [Double], y: [Double])?)
  {
    let live = disjuncts.compactMap { d in d.problem.map { (d.index, $0) } }
    for d in disjuncts where d.problem == nil {
      log?("disjunct \(d.index): unsat (its input bounds cross)")
    }
    // The search: cheap, on every disjunct before any proof; its first part, then the quick
    // proofs, then the rest on the disjuncts still open.
    let limit = context.deadline - context.start
    let searchEnd = context.start + min(Self.searchSeconds, Self.searchShare * limit)
    let quickSearchEnd = min(searchEnd, context.start + Self.quickSearchSeconds)
    var bestPoints = [(point: [Double]?, margin: Double)](
      repeating: (nil, -.infinity), count: live.count)
    var open = Array(live.indices)
    /// The search on the open disjuncts until `end` (`seed`: the part's random stream);
    /// a checked witness when one is found.
    func search(until end: Double, seed: UInt64) -> (x: [Double], y: [Double])? {
      for (position, k) in open.enumerated() {
        let (index, problem) = live[k]
        let share = (end - monotonicSeconds()) / Double(open.count - position)
        var searcher = MarginSearch(problem: problem)
        searcher.seed = seed
        let (x, margin) = searcher.run(until: monotonicSeconds() + share)
        log?("disjunct \(index): search margin \(formatNumber(margin))")
        if let x, margin >= 0, let w = Self.check(problem, x) { return w }
        if margin > bestPoints[k].margin { bestPoints[k] = (x, margin) }
      }
      return nil
    }
    /// The provers that said `unknown` on a disjunct (not `timeout`: more time would not change
    /// their answer), per live disjunct: not run on it again.
    var settled = [Set<String>](repeating: [], count: live.count)
    /// One prover on the live disjunct `k` until `deadline`, the search's best point its first
    /// incumbent; logged (after `label`). A prover settled on the disjunct is not run again.
    func attempt(
      _ prover: (name: String, prove: DisjunctProver), _ k: Int, until deadline: Double,
      label: String = ""
    ) -> DisjunctAnswer {
      if settled[k].contains(prover.name) { return .unknown("as before") }
      var c = context
      c.deadline = deadline
      c.userStarts = bestPoints[k].point.map { [$0] } ?? []
      let answer = prover.prove(live[k].1, c)
      log?("disjunct \(live[k].0): \(label)\(prover.name): \(Self.describe(answer))")
      if case .unknown = answer { settled[k].insert(prover.name) }
      return answer
    }
    if let w = search(until: quickSearchEnd, seed: 1) { return (.sat, w) }
    if quickSearchEnd < searchEnd {
      // The quick proofs: the cheap provers, briefly, on every disjunct.
      let end = min(context.deadline, monotonicSeconds() + Self.quickProofSeconds)
      var still: [Int] = []
      for (position, k) in open.enumerated() {
        var proven = false
        for prover in provers where Self.quickProvers.contains(prover.name) {
          let share = (end - monotonicSeconds()) / Double(open.count - position)
          let answer = attempt(prover, k, until: monotonicSeconds() + share, label: "quick ")
          if case .sat(let x) = answer, let w = Self.check(live[k].1, x) { return (.sat, w) }
          if case .unsat = answer {
            proven = true
            break
          }
        }
        if !proven { still.append(k) }
      }
      open = still
      if open.isEmpty { return (.unsat, nil) }
      if let w = search(until: searchEnd, seed: 2) { return (.sat, w) }
    }
    // Each prover on every disjunct still open, cheap provers first: the time of the later
    // (exact) ones is shared among fewer disjuncts. With several disjuncts, a first round gives
    // them `firstRound` of their shares, so that an easy one (a witness the search missed) is
    // not kept waiting behind a hard one; the second round starts again with the time left.
    var timedOut = false
    for fraction in live.count > 1 ? [Self.firstRound, 1] : [1.0] {
      timedOut = false
      for (rank, prover) in provers.enumerated() {
        // This prover's time on the disjuncts open: in the last round, a share when another
        // prover follows (in a first round, bab's restarts would cost more: ACAS Xu 1_1 property
        // 6, two disjuncts, took 22.2 s instead of 9.5 s).
        let part = rank < provers.count - 1 && fraction == 1 ? Self.leadingProverShare : 1
        let roundEnd = monotonicSeconds() + part * fraction * context.remaining
        var still: [Int] = []
        for (position, k) in open.enumerated() {
          let (index, problem) = live[k]
          if context.shouldStop {
            timedOut = true
            still += open[position...]
            break
          }
          // The disjuncts left share the time left evenly; one that ends early leaves its share.
          let share = (roundEnd - monotonicSeconds()) / Double(open.count - position)
          let answer = attempt(prover, k, until: monotonicSeconds() + max(0, share))
          switch answer {
          case .sat(let x):
            if let w = Self.check(problem, x) { return (.sat, w) }
            log?("disjunct \(index): \(prover.name)'s point failed the check; not a witness")
            still.append(k)
          case .unsat: break
          case .timeout:
            timedOut = true
            still.append(k)
          case .unknown: still.append(k)
          }
        }
        open = still
        if open.isEmpty { return (.unsat, nil) }
      }
      if context.shouldStop { break }
    }
    return (timedOut || context.shouldStop ? .timeout : .unknown, nil)
  }

  static func describe(_ a: DisjunctAnswer) -> String {
    switch a {
    case .sat: return "sat"
    case .unsat(let why): return "unsat (\(why))"
    case .unknown(let why): return "unknown (\(why))"
    case .timeout(let state): return "timeout (\(state))"
    }
  }

  /// The witness `(x, y)` when `x`, clamped into the disjunct's box, satisfies its input rows and
  /// output rows within `outputTolerance` (absolute) at a double-precision forward pass; nil
  /// otherwise.
  public static func check(_ problem: Problem, _ point: [Double]) -> (x: [Double], y: [Double])? {
    let p = problem.polytope
    guard point.count == p.dimension, point.allSatisfy(\.isFinite) else { return nil }
    let x = p.clamped(point)
    if p.maxViolation(x) > outputTolerance { return nil }
    let y = problem.network.forward(x).outputs
    guard y.allSatisfy(\.isFinite) else { return nil }
    let rows = problem.outputConstraints
    for r in 0..<rows.rowCount where !(rows.lhs(r, x: x, y: y) - rows.rhs[r] <= outputTolerance) {
      return nil
    }
    return (x, y)
  }

  /// The witness as VNN-COMP writes a counterexample: `((X_0 v) (X_1 v) ... (Y_0 v) ...)`, one
  /// pair per line, every number with the shortest decimal form that reads back to the same
  /// double.
  public static func witnessText(x: [Double], y: [Double]) -> String {
    let pairs =
      x.enumerated().map { "(X_\($0) \(number($1)))" }
      + y.enumerated().map { "(Y_\($0) \(number($1)))" }
    return "(" + pairs.joined(separator: "\n ") + ")"
  }

  /// `Double`'s shortest round-trip form (`0.6`, `1e-07`, `-3.25`).
  static func number(_ v: Double) -> String { v == 0 ? "0.0" : "\(v)" }
}

extension Commands {
  /// `reluc verify`: reads the network and the property, decides, prints the answer (and a
  /// witness after `sat`) to standard output and, with `-o`, to a file too.
  public static func verify(_ r: VerifyRequest, console: Console) -> RelucExit {
    RunSignals.installInterruptHandler()
    let start = monotonicSeconds()
    let (loaded, netBag, netSources) = loadNetwork(r.network, maxBytes: r.maxNetworkBytes)
    guard let net = loaded else { return console.report(netBag, sources: netSources) }
    let (property, bag, sources) = VNNLibReader.read(
      path: r.property, inputSize: net.inputSize, outputSize: net.outputSize)
    guard let property else { return console.report(bag, sources: sources) }
    let (disjuncts, lowering) = property.problems(network: net)
    if lowering.hasErrors { return console.report(lowering, sources: sources) }
    console.report(bag, sources: sources)
    if let refused = console.refuseOverwriting(r.output, inputs: [r.property, r.network]) {
      return refused
    }
    RunSignals.installCrashGuard()
    var context = SolveContext(timeLimit: r.timeout)
    context.start = start
    context.deadline = start + r.timeout
    var verifier = Verifier()
    if r.verbose { verifier.log = { [console] in console.stderr("verify: \($0)\n") } }
    var (answer, witness) = verifier.verify(disjuncts, context: context)
    // Interrupted: not a timeout (VNN-COMP's word for the time limit), so unknown.
    if Interrupt.requested, answer != .sat { answer = .unknown }
    var text = answer.rawValue + "\n"
    if let witness { text += witnessText(witness) + "\n" }
    if r.verbose {
      console.stderr(
        "verify: \(answer.rawValue) in \(formatNumber(((monotonicSeconds() - start) * 1000).rounded() / 1000)) s\n"
      )
    }
    let shown = console.emit(text, to: nil)
    if shown != .ok { return shown }
    if let path = r.output {
      let written = console.emit(text, to: path, inputs: [r.property, r.network])
      if written != .ok { return written }
    }
    return Interrupt.requested ? .interrupted : .ok
  }

  static func witnessText(_ w: (x: [Double], y: [Double])) -> String {
    Verifier.witnessText(x: w.x, y: w.y)
  }

  /// A network from an ONNX (`.onnx`, or bytes that look like one), NNet (`.nnet`) or reluc XML
  /// file, normalizations folded.
  static func loadNetwork(_ path: String, maxBytes: Int)
    -> (Network?, DiagnosticBag, SourceManager)
  {
    var bag = DiagnosticBag()
    var sources = SourceManager()
    let bytes: [UInt8]
    switch readRegularFile(path, limit: maxBytes) {
    case .success(let b): bytes = b
    case .failure(let e):
      bag.report(
        Messages.readFailure(
          e, path, missing: Messages.networkNotFound,
          tooLarge: { Messages.networkTooLarge($0, $1, maxBytes) }), at: .file(path))
      return (nil, bag, sources)
    }
    let stem =
      String(path.split(separator: "/").last ?? "net").split(separator: ".").first.map(String.init)
      ?? "net"
    let net: Network
    if path.hasSuffix(".onnx") || path.hasSuffix(".nnet") || Lowering.looksLikeONNX(bytes) {
      do {
        net =
          path.hasSuffix(".nnet")
          ? try NNetImporter.parse(String(decoding: bytes, as: UTF8.self), name: stem)
          : try ONNXImporter.parse(bytes, name: stem)
      } catch {
        let at: DiagnosticLocation =
          error.line.map { .at(path, line: $0, column: 1) } ?? .file(path)
        bag.report(Messages.importFailed(error.message), at: at)
        sources.attach(path: path, bytes: bytes)
        return (nil, bag, sources)
      }
    } else {
      switch NetworkReader(maxBytes: maxBytes).parse(bytes, path: path) {
      case .success(let n): net = n
      case .failure(let d):
        sources.attach(path: path, bytes: bytes)
        return (nil, d, sources)
      }
    }
    return (net.foldingNormalization(), bag, sources)
  }
}
