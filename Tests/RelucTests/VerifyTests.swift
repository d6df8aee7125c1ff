import Foundation
import RelucBase
import RelucIR
import Testing

@testable import Reluc

/// `reluc verify` on small networks whose answers were computed independently
/// (Fixtures/vnnlib/make_fixtures.py: every activation pattern enumerated, an LP per pattern).
@Suite struct VerifyTests {
  static let folder = "vnnlib/verify/"
  static let properties = Fixtures.files("vnnlib/verify", ext: "vnnlib")

  static func network(for name: String) -> String {
    Fixtures.path(folder + "net_\(name.prefix(1)).xml")
  }

  /// The answer, witness and disjuncts of a fixture, decided within `seconds`.
  /// The largest margin of each disjunct of a fixture, by enumeration (its second line).
  static func margins(_ name: String) -> [Double] {
    let header = Fixtures.read(Fixtures.path(folder + name)).split(separator: "\n")[1]
    return header.split(separator: ":").last!.split(separator: " ").compactMap {
      Double(String($0))
    }
  }

  static func decide(_ name: String, seconds: Double = 30) throws
    -> (VerifyAnswer, (x: [Double], y: [Double])?, [PropertyDisjunct], Network)
  {
    let (net, netBag, _) = Commands.loadNetwork(network(for: name), maxBytes: 1 << 20)
    #expect(!netBag.hasErrors)
    let network = try #require(net)
    let (p, bag, _) = VNNLibReader.read(
      path: Fixtures.path(folder + name), inputSize: network.inputSize,
      outputSize: network.outputSize)
    #expect(!bag.hasErrors)
    let (disjuncts, lowering) = try #require(p).problems(network: network)
    #expect(!lowering.hasErrors)
    let (answer, witness) = Verifier().verify(
      disjuncts, context: SolveContext(timeLimit: seconds))
    return (answer, witness, disjuncts, network)
  }

  /// bab leaves the MILP its share (`Verifier.leadingProverShare`): on a 6-input network with
  /// weights of scale 3 (the differential campaign's problem 398) input splitting does not
  /// close in 4 s, where the MILP proves the largest margin (-1.14, by enumeration) negative in
  /// a fraction of a second. bab took all the time before: `timeout`.
  @Test func babLeavesTheMILPItsShare() throws {
    let folder = "vnnlib/prover_share/"
    let (net, netBag, _) = Commands.loadNetwork(
      Fixtures.path(folder + "net.xml"), maxBytes: 1 << 20)
    #expect(!netBag.hasErrors)
    let network = try #require(net)
    let (p, bag, _) = VNNLibReader.read(
      path: Fixtures.path(folder + "prop.vnnlib"), inputSize: network.inputSize,
      outputSize: network.outputSize)
    #expect(!bag.hasErrors)
    let (disjuncts, _) = try #require(p).problems(network: network)
    let (answer, witness) = Verifier().verify(disjuncts, context: SolveContext(timeLimit: 4))
    #expect(answer == .unsat)
    #expect(witness == nil)
  }

  /// The quick proofs (`Verifier.quickProvers`, between the two parts of the search) decide the
  /// unsat fixtures, and nothing after them runs; the answers stay the enumeration's.
  @Test func quickProofsDecideTheEasyFixtures() throws {
    final class Lines: @unchecked Sendable {
      let lock = NSLock()
      var lines: [String] = []
      func add(_ s: String) { lock.withLock { lines.append(s) } }
    }
    var quick = 0
    for name in Self.properties where name.hasSuffix("_unsat.vnnlib") {
      let (_, _, disjuncts, _) = try Self.decide(name, seconds: 0)
      let log = Lines()
      var verifier = Verifier()
      verifier.log = { log.add($0) }
      let (answer, _) = verifier.verify(disjuncts, context: SolveContext(timeLimit: 30))
      #expect(answer == .unsat, "\(name): \(answer)")
      let proofs = log.lines.filter { $0.contains(": unsat") }
      if !proofs.isEmpty, proofs.allSatisfy({ $0.contains(": quick ") }) {
        quick += 1
        // Nothing after the quick proofs: no second search, no other prover.
        #expect(log.lines.last?.contains(": quick ") == true, "\(name): \(log.lines)")
      }
    }
    #expect(quick >= 3, "the quick proofs decided \(quick) of the 4 unsat fixtures")
  }

  @Test func everyAnswerIsKnown() {
    #expect(Self.properties.count == 14)
    for name in Self.properties {
      let expect = Fixtures.read(Fixtures.path(Self.folder + name)).split(separator: "\n")[0]
      #expect(expect == "; expect: sat" || expect == "; expect: unsat", "\(name)")
    }
  }

  @Test(arguments: properties)
  func answerMatchesTheEnumeration(_ name: String) throws {
    let expected =
      Fixtures.read(Fixtures.path(Self.folder + name)).hasPrefix("; expect: sat")
      ? VerifyAnswer.sat : .unsat
    let (answer, witness, disjuncts, network) = try Self.decide(name)
    #expect(answer == expected, "\(name)")
    guard expected == .sat else {
      #expect(witness == nil)
      return
    }
    // The witness: in some disjunct's box exactly, its rows holding, y the network's outputs.
    let w = try #require(witness)
    #expect(w.y == network.evaluate(w.x))
    let inside = disjuncts.contains { d in
      guard let p = d.problem else { return false }
      let inBox = (0..<w.x.count).allSatisfy {
        p.polytope.lower[$0] <= w.x[$0] && w.x[$0] <= p.polytope.upper[$0]
      }
      let rows = p.outputConstraints
      return inBox && p.polytope.maxViolation(w.x) <= 1e-9
        && (0..<rows.rowCount).allSatisfy { rows.lhs($0, x: w.x, y: w.y) <= rows.rhs[$0] + 1e-4 }
    }
    #expect(inside, "\(name): the witness lies in no disjunct")
  }

  /// Each prover on each disjunct against the disjunct's largest margin from the enumeration
  /// (the fixture's second line): never `unsat` where it is >= 0, never `sat` where it is < 0;
  /// the MILP decides every one, and so does bab on the networks whose inputs it splits.
  @Test(arguments: properties)
  func proversAgreeWithTheEnumerationPerDisjunct(_ name: String) throws {
    let margins = Self.margins(name)
    let (_, _, disjuncts, _) = try Self.decide(name, seconds: 0)
    #expect(margins.count == disjuncts.count)
    for (d, margin) in zip(disjuncts, margins) {
      let problem = try #require(d.problem)
      let context = SolveContext(timeLimit: 20)
      let interval = SpecNetworkProver.interval(problem, context)
      let milp = SpecNetworkProver.milp(problem, context)
      let bab = SpecNetworkProver.bab(problem, context)
      if problem.network.inputSize > BaBBackend.maxInputs {
        // bab bounds the root box only: it may leave the disjunct open, with a bound of it.
        Self.expectConsistent(bab, margin: margin, "\(name) \(d.index)")
      } else if margin >= 0 {
        // bab decides every disjunct of the fixtures with few inputs.
        if case .sat(let x) = bab {
          #expect(Verifier.check(problem, x) != nil)
        } else {
          Issue.record("\(name) \(d.index): bab says \(bab), not sat")
        }
      } else if case .unsat = bab {
      } else {
        Issue.record("\(name) \(d.index): bab says \(bab), not unsat")
      }
      if margin >= 0 {
        if case .unsat = interval { Issue.record("\(name) \(d.index): interval says unsat") }
        guard case .sat(let x) = milp else {
          Issue.record("\(name) \(d.index): milp says \(milp), not sat")
          continue
        }
        #expect(Verifier.check(problem, x) != nil)
      } else {
        if case .sat = interval { Issue.record("\(name) \(d.index): interval says sat") }
        guard case .unsat = milp else {
          Issue.record("\(name) \(d.index): milp says \(milp), not unsat")
          continue
        }
      }
    }
  }

  /// Stopped at once, bab answers `timeout` with where it stood, a bound that is at least the
  /// disjunct's largest margin from the enumeration, or decides the disjunct as the enumeration
  /// does (a root bound can decide it).
  @Test(arguments: properties)
  func babTimeoutSaysWhereItStood(_ name: String) throws {
    let (_, _, disjuncts, _) = try Self.decide(name, seconds: 0)
    for (d, margin) in zip(disjuncts, Self.margins(name)) {
      let problem = try #require(d.problem)
      switch SpecNetworkProver.bab(problem, SolveContext(timeLimit: 0)) {
      case .timeout(let state) where !state.hasPrefix("root bound "):
        // "bab bound B, best margin M, N boxes, K open"
        let words = state.split(separator: " ")
        #expect(
          words.first == "bab" && state.contains("boxes") && state.contains("open"), "\(state)")
        let bound = try #require(Double(words[2].dropLast()), "\(state)")
        #expect(bound >= margin - 1e-9, "\(name) \(d.index): bound \(bound) < margin \(margin)")
      case let answer: Self.expectConsistent(answer, margin: margin, "\(name) \(d.index)")
      }
    }
  }

  /// A bab answer against the disjunct's largest margin from the enumeration: `sat` only where
  /// it is >= 0, `unsat` only where it is < 0; `unknown` or `timeout` only on more inputs than
  /// bab splits (its root box only), with the root box's bound, which must be at least the
  /// margin and not negative.
  static func expectConsistent(_ answer: DisjunctAnswer, margin: Double, _ what: String) {
    let note: String
    switch answer {
    case .sat:
      #expect(margin >= 0, "\(what): sat")
      return
    case .unsat:
      #expect(margin < 0, "\(what): unsat")
      return
    case .timeout(let state): note = state
    case .unknown(let why): note = why
    }
    // "root bound B >= 0; N inputs: bab bounds the root box only" (unknown), "root bound B >= 0,
    // not refined" or "..., refined in part" (timeout)
    let words = note.split(separator: " ")
    guard note.hasPrefix("root bound "), words.count > 2, let bound = Double(words[2]) else {
      Issue.record("\(what): \(answer)")
      return
    }
    #expect(bound >= margin - 1e-9, "\(what): root bound \(bound) < margin \(margin)")
    #expect(bound >= 0, "\(what): undecided with a negative bound \(bound)")
  }

  /// A prover that said `unknown` on a disjunct is not asked again in the second round (more
  /// time would not change its answer); one that said `timeout` is.
  @Test func aProverThatSaidUnknownIsNotAskedAgain() throws {
    final class Count: @unchecked Sendable {
      let lock = NSLock()
      var n = 0
      func add() { lock.withLock { n += 1 } }
    }
    let (_, _, disjuncts, _) = try Self.decide("a_disjunction_unsat.vnnlib", seconds: 0)
    let live = disjuncts.filter { $0.problem != nil }.count
    let (unknowns, timeouts) = (Count(), Count())
    var verifier = Verifier()
    verifier.provers = [
      (
        "never",
        { _, _ in
          unknowns.add()
          return .unknown("cannot tell")
        }
      ),
      (
        "later",
        { _, _ in
          timeouts.add()
          return .timeout("stopped")
        }
      ),
    ]
    let (answer, _) = verifier.verify(disjuncts, context: SolveContext(timeLimit: 2))
    #expect(answer == .timeout)
    #expect(live > 1 && unknowns.n == live, "\(unknowns.n) calls on \(live) disjuncts")
    #expect(timeouts.n == 2 * live, "\(timeouts.n) calls on \(live) disjuncts")
  }

  /// The spec network's output is the smallest row margin, at random points of the box, and
  /// the rows network's outputs (bab's) are the rows' margins.
  @Test func specNetworkComputesTheMargin() throws {
    let (_, _, disjuncts, _) = try Self.decide("a_conjunction_unsat.vnnlib", seconds: 0)
    let problem = try #require(disjuncts.first?.problem)
    let spec = try #require(SpecNetworkProver.specNetwork(problem))
    let margins = try #require(SpecNetworkProver.marginRowsNetwork(problem))
    #expect(margins.outputSize == problem.outputConstraints.rowCount)
    var rng = Xoshiro256(seed: 3)
    let rows = problem.outputConstraints
    for _ in 0..<200 {
      let x = (0..<2).map { _ in -1 + 2 * rng.unit() }
      let y = problem.network.evaluate(x)
      let each = (0..<rows.rowCount).map { rows.rhs[$0] - rows.lhs($0, x: x, y: y) }
      #expect(close(spec.evaluate(x)[0], each.min()!, abs: 1e-12, rel: 1e-12))
      for (a, b) in zip(margins.evaluate(x), each) { #expect(close(a, b, abs: 1e-12, rel: 1e-12)) }
    }
  }

  /// Three rows (an odd one passes through a level of the tree) on a network whose last layer
  /// is a ReLU (the rows are appended, not merged), with a row naming only some outputs.
  @Test func specNetworkWithOddRowsAndAReluLastLayer() throws {
    var rng = Xoshiro256(seed: 5)
    func layer(_ n: Int, _ m: Int, _ a: Activation) -> DenseLayer {
      DenseLayer.random(n, m, a, &rng)
    }
    let net = Network(layers: [layer(3, 7, .relu), layer(7, 4, .relu)])
    var rows = OutputConstraints.none(inputSize: 3, outputSize: 4)
    rows.append(input: [0, 0, 0], output: [1, -1, 0, 0], rhs: 0.1, name: "a")
    rows.append(input: [0, 0, 0], output: [0, 0, 2, 0], rhs: 0.3, name: "b")
    rows.append(input: [0, 0, 0], output: [-1, 0, 0, 1], rhs: -0.2, name: "c")
    let problem = Problem(
      network: net, polytope: Polytope(dimension: 3, lower: [-1, -1, -1], upper: [1, 1, 1]),
      objective: Objective(
        sense: .maximize, outputWeights: [0, 0, 0, 0], inputWeights: [0, 0, 0]),
      options: SolveOptions(), outputConstraints: rows)
    let spec = try #require(SpecNetworkProver.specNetwork(problem))
    #expect(spec.outputSize == 1)
    for _ in 0..<300 {
      let x = (0..<3).map { _ in -1 + 2 * rng.unit() }
      let y = net.evaluate(x)
      let margin = min(0.1 - (y[0] - y[1]), 0.3 - 2 * y[2], -0.2 - (y[3] - y[0]))
      #expect(close(spec.evaluate(x)[0], margin, abs: 1e-12, rel: 1e-12))
    }
  }

  /// Rows naming inputs and outputs: the margin network carries the inputs (one neuron per
  /// input and layer, `q = x - lower + 1`) and computes every row's margin `h - G x - H y`
  /// exactly, on a network with a linear last layer, one with a ReLU last layer and one without
  /// hidden layers; the carried neurons are stable (their interval lower bound is positive).
  @Test(arguments: [[Activation.relu, .linear], [.relu, .relu], [.linear]])
  func marginRowsCarryTheInputs(_ activations: [Activation]) throws {
    var rng = Xoshiro256(seed: 9)
    let sizes = [3] + (activations.count == 1 ? [] : [6]) + [2]
    let net = Network(
      layers: activations.indices.map {
        DenseLayer.random(sizes[$0], sizes[$0 + 1], activations[$0], &rng)
      })
    var rows = OutputConstraints.none(inputSize: 3, outputSize: 2)
    rows.append(input: [0.5, 0, -2], output: [1, -1], rhs: 0.1, name: "a")
    rows.append(input: [0, 0, 0], output: [0, 2], rhs: 0.3, name: "b")
    rows.append(input: [1, 1, 0], output: [0, 0], rhs: -0.2, name: "c")
    let (lower, upper) = ([-1.0, 0.5, -3], [1.0, 2, -1])
    let problem = Problem(
      network: net, polytope: Polytope(dimension: 3, lower: lower, upper: upper),
      objective: Objective(sense: .maximize, outputWeights: [0, 0], inputWeights: [0, 0, 0]),
      options: SolveOptions(), outputConstraints: rows)
    let margins = try #require(SpecNetworkProver.marginRowsNetwork(problem))
    let spec = try #require(SpecNetworkProver.specNetwork(problem))
    #expect(margins.outputSize == 3)
    for _ in 0..<300 {
      let x = (0..<3).map { lower[$0] + (upper[$0] - lower[$0]) * rng.unit() }
      let y = net.evaluate(x)
      let each = [
        0.1 - (0.5 * x[0] - 2 * x[2] + y[0] - y[1]), 0.3 - 2 * y[1], -0.2 - (x[0] + x[1]),
      ]
      for (a, b) in zip(margins.evaluate(x), each) { #expect(close(a, b, abs: 1e-12, rel: 1e-12)) }
      #expect(close(spec.evaluate(x)[0], each.min()!, abs: 1e-12, rel: 1e-12))
    }
    let b = intervalBounds(margins, lower: lower, upper: upper)
    for l in 0..<(margins.layers.count - 1) where margins.layers[l].outputSize > sizes[l + 1] {
      for j in sizes[l + 1]..<margins.layers[l].outputSize { #expect(b.lower[l][j] > 0) }
    }
  }

  /// No point of an unsat fixture passes the witness check; the sat fixture's witness does.
  @Test func witnessCheckRejectsPointsOutsideTheSet() throws {
    let (_, _, disjuncts, _) = try Self.decide("a_conjunction_unsat.vnnlib", seconds: 0)
    let problem = try #require(disjuncts.first?.problem)
    var rng = Xoshiro256(seed: 9)
    for _ in 0..<2000 {
      let x = (0..<2).map { _ in -1.2 + 2.4 * rng.unit() }
      #expect(Verifier.check(problem, x) == nil)
    }
    let (answer, witness, satDisjuncts, _) = try Self.decide("a_conjunction_sat.vnnlib")
    #expect(answer == .sat)
    let w = try #require(witness)
    let satProblem = try #require(satDisjuncts.first?.problem)
    let checked = try #require(Verifier.check(satProblem, w.x))
    #expect(checked.x == w.x && checked.y == w.y)
  }

  @Test func commandLinePrintsTheAnswerAndTheWitness() throws {
    let out = NSTemporaryDirectory() + "reluc-verify-\(getpid()).txt"
    defer { unlink(out) }
    let (code, stdout, _) = try Executable.run([
      "verify", Fixtures.path(Self.folder + "a_single_sat.vnnlib"), "--network",
      Self.network(for: "a"), "--timeout", "10", "-o", out,
    ])
    #expect(code == 0)
    let lines = stdout.split(separator: "\n").map(String.init)
    #expect(lines.first == "sat")
    // ((X_0 v) (X_1 v) (Y_0 v) (Y_1 v) (Y_2 v)), one pair per line.
    #expect(lines.count == 6)
    #expect(
      lines[1].hasPrefix("((X_0 ") && lines[5].hasPrefix(" (Y_2 ") && lines[5].hasSuffix("))"))
    #expect(Fixtures.read(out) == stdout)
    let values = lines.dropFirst().map { line in
      Double(
        line.split(separator: " ").last!.trimmingCharacters(in: CharacterSet(charactersIn: ")")))!
    }
    #expect(values.count == 5)
    let (net, _, _) = Commands.loadNetwork(Self.network(for: "a"), maxBytes: 1 << 20)
    #expect(try #require(net).evaluate(Array(values[0..<2])) == Array(values[2...]))
  }

  @Test func commandLineUnsat() throws {
    let (code, stdout, _) = try Executable.run([
      "verify", Fixtures.path(Self.folder + "b_difference_unsat.vnnlib"), "--network",
      Self.network(for: "b"), "--timeout", "20",
    ])
    #expect(code == 0)
    #expect(stdout == "unsat\n")
  }

  @Test func commandLineRejectsAPropertyForAnotherNetwork() throws {
    let (code, stdout, stderr) = try Executable.run([
      "verify", Fixtures.path("vnnlib/broken/index_beyond.vnnlib"), "--network",
      Self.network(for: "a"), "--diagnostics-format", "json",
    ])
    #expect(code == 65)
    #expect(stdout.isEmpty)
    #expect(stderr.contains("\"vnnlib-index-out-of-range\""))
  }

  @Test func missingFilesExit66() throws {
    let (code, _, stderr) = try Executable.run([
      "verify", "/nonexistent.vnnlib", "--network", Self.network(for: "a"),
    ])
    #expect(code == 66)
    #expect(stderr.contains("cannot read"))
  }

  /// `reluc import` of a property with four disjuncts: four models, the first compared with its
  /// golden text (models with output constraints cannot be compiled until the language has
  /// them; re-record with RELUC_RECORD=1).
  @Test func importWritesOneModelPerDisjunct() throws {
    let dir = NSTemporaryDirectory() + "reluc-import-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.copyItem(
      atPath: Self.network(for: "a"), toPath: dir + "/net_a.xml")
    try FileManager.default.copyItem(
      atPath: Fixtures.path(Self.folder + "a_disjunction_sat.vnnlib"), toPath: dir + "/p.vnnlib")
    let (code, _, stderr) = try Executable.run(
      ["import", "p.vnnlib", "--network", "net_a.xml", "-o", "out/model.rmod"], directory: dir)
    // The output folder does not exist: a write failure, exit 74.
    #expect(code == 74, "\(stderr)")
    try FileManager.default.createDirectory(
      atPath: dir + "/out", withIntermediateDirectories: true)
    let (code2, _, stderr2) = try Executable.run(
      ["import", "p.vnnlib", "--network", "net_a.xml", "-o", "out/model.rmod"], directory: dir)
    #expect(code2 == 0, "\(stderr2)")
    for k in 1...4 { #expect(FileManager.default.fileExists(atPath: dir + "/out/model.\(k).rmod")) }
    let text = Fixtures.read(dir + "/out/model.2.rmod")
    let golden = Fixtures.path("vnnlib/import/model.2.rmod")
    if ProcessInfo.processInfo.environment["RELUC_RECORD"] == "1" {
      try FileManager.default.createDirectory(
        atPath: Fixtures.path("vnnlib/import"), withIntermediateDirectories: true)
      try text.write(toFile: golden, atomically: true, encoding: .utf8)
    }
    #expect(text == Fixtures.read(golden))
    #expect(text.contains("network \"../net_a.xml\""))
  }
}
