import Foundation
import RelucBase
import RelucHiGHS
import RelucIR
import Testing

@testable import Reluc

@Suite struct BaBTests {
  /// `bab` proves the optima of the optimization fixtures (enumeration of regions, scipy),
  /// polytope rows included, and its bound is a bound on the optimum.
  /// With `bab_exact_relus = 0` every box is split (no exact boxes), with the default the small
  /// fixtures are mostly closed by exact boxes; `relus` also splits ReLUs (`bab_relu_splits`,
  /// beta-CROWN's bounds), without exact boxes, and `both` with exact boxes of at most 2
  /// unstable ReLUs (regions of ReLU splits solved exactly). The five-input fixture makes the
  /// split choice rank its inputs cheaply before bounding the best (`BaBSearch.rankedInputs`)
  /// and, split only, refine the bounds of deep boxes (`BaBSearch.refineEvery`).
  @Test(
    arguments: OptFixtures.optimal + ["../bab/max_5_6_6_1.rmod"],
    ["split", "exact", "relus", "both"])
  func babMatchesRegionEnumeration(_ name: String, _ mode: String) throws {
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let (p, r) = try #require(
      OptFixtures.solve(
        name,
        [
          ("method", .identifier("bab")),
          ("bab_exact_relus", .number(mode == "exact" ? 8 : mode == "both" ? 2 : 0)),
          ("bab_relu_splits", .number(mode == "relus" || mode == "both" ? 3 : 0)),
        ]))
    #expect(r.status == .optimal, "\(name): \(r.status)")
    let stats = Dictionary(uniqueKeysWithValues: r.statistics.map { ($0.0, $0.1) })
    if mode == "split" || mode == "relus" { #expect(stats["exact_boxes"] == .int(0)) }
    if mode == "split" || mode == "exact" { #expect(stats["relu_split_boxes"] == .int(0)) }
    if name.contains("max_5_") {
      guard case .int(let ranked)? = stats["ranked_splits"] else {
        Issue.record("no ranked_splits statistic")
        return
      }
      #expect(ranked > 0, "the five-input fixture never ranked its split inputs")
      if mode == "split" {
        // Deep enough to refine boxes' bounds (`BaBSearch.refineEvery`).
        guard case .int(let refined)? = stats["refined_boxes"] else {
          Issue.record("no refined_boxes statistic")
          return
        }
        #expect(refined > 0, "the five-input fixture never refined a box's bounds")
      }
    }
    #expect(r.method == .bab)
    let f = try #require(r.objective)
    #expect(close(f, expected, abs: 1e-6, rel: 0), "\(name): \(f) vs \(expected)")
    let b = try #require(r.bound)
    if p.objective.sense == .maximize {
      #expect(b >= expected - 1e-9)
      #expect(b <= f + 1e-6 + 1e-9)
    } else {
      #expect(b <= expected + 1e-9)
      #expect(b >= f - 1e-6 - 1e-9)
    }
  }

  /// The split ranking is trusted only after enough comparisons that agree often enough, and
  /// even then one split in four still compares; disagreements withdraw the trust.
  @Test func splitRankingIsTrustedOnlyWhenItAgrees() {
    let r = SplitRanking()
    for _ in 0..<SplitRanking.trustAfter - 1 {
      #expect(!r.trusted())
      r.record(agreed: true)
    }
    #expect(!r.trusted(), "trusted before enough comparisons")
    r.record(agreed: true)
    let after = (0..<100).map { _ in r.trusted() }
    #expect(after.filter { $0 }.count == 75, "one split in four should still compare")
    // 64 agreements then 8 disagreements: 64 / 72 < 0.9.
    for _ in 0..<8 { r.record(agreed: false) }
    #expect((0..<8).allSatisfy { _ in !r.trusted() }, "trusted at an agreement below 90%")
    #expect(r.tally.compared == 72 && r.tally.agreed == 64)
  }

  /// The exact box solve (`LeafSolver`) on random networks and random sub-boxes: its certified
  /// bound is at least the largest value of an independent forward pass over a dense grid of
  /// the box, and the LP point it returns attains the bound (the box's exact maximum); for the
  /// objective (first output) and for the smallest output (`verify`'s margin).
  @Test(arguments: [false, true])
  func exactBoxesAreSoundAndExact(_ minimum: Bool) throws {
    var rng = Xoshiro256(seed: minimum ? 43 : 41)
    let lp = HighsSolver()
    var solved = 0
    for trial in 0..<12 {
      let sizes = trial % 2 == 0 ? [2, 6, 6, 2] : [2, 5, 4, 3, 2]
      let net = LimitsTests.randomNetwork(sizes, seed: UInt64(100 + trial))
      var p = LimitsTests.problem(net)
      let a = [rng.unit(), rng.unit()]
      let lo = a.map { $0 * 0.5 }
      // The last two boxes are tiny: no unstable ReLU is left (the LP-free vertex path).
      let (least, spread) = trial >= 10 ? (1e-4, 1e-4) : (0.05, 0.45)
      let hi = zip(lo, [rng.unit(), rng.unit()]).map { $0 + least + spread * $1 }
      p.polytope = Polytope(dimension: 2, lower: lo, upper: hi)
      let search = BaBSearch(p, alphaSteps: 0, minimum: minimum)
      let bounds = SymbolicBounder(net).bounds(lower: lo, upper: hi).bounds
      guard bounds.stableCounts(net).unstable <= 10 else { continue }
      let leaf = try #require(
        LeafSolver(search: search).solve(
          lower: lo, upper: hi, bounds: bounds, lp: lp, stop: { false }))
      // An independent forward pass (row-major weights), on a 201 x 201 grid.
      func f(_ x: [Double]) -> Double {
        var h = x
        for layer in net.layers {
          var z = layer.bias
          for i in 0..<layer.outputSize {
            for j in 0..<layer.inputSize { z[i] += layer.weights[i * layer.inputSize + j] * h[j] }
          }
          h = layer.activation == .relu ? z.map { max($0, 0) } : z
        }
        return minimum ? h.min()! : h[0]
      }
      var grid = -Double.infinity
      for i in 0...200 {
        for j in 0...200 {
          let x = [
            lo[0] + (hi[0] - lo[0]) * Double(i) / 200, lo[1] + (hi[1] - lo[1]) * Double(j) / 200,
          ]
          grid = max(grid, f(x))
        }
      }
      #expect(leaf.bound >= grid, "trial \(trial): bound \(leaf.bound) < grid \(grid)")
      let x = try #require(leaf.point)
      let inside = (0..<2).map { min(max(x[$0], lo[$0]), hi[$0]) }
      #expect(
        f(inside) >= leaf.bound - 1e-9 * (1 + abs(leaf.bound)),
        "trial \(trial): point \(f(inside)) < bound \(leaf.bound)")
      solved += 1
    }
    #expect(solved >= 8)
  }

  /// The exact solve of a ReLU-split region: on random networks, for the two best split
  /// candidates of the box's bound and each of their sign combinations, the certified bound is
  /// at least the largest value over the grid points of the box that satisfy the splits (an
  /// independent forward pass; a region without grid points may get any bound), and at most
  /// the whole box's exact bound; the point returned is in the region up to rounding.
  @Test func exactBoxesOfSplitRegions() throws {
    let lp = HighsSolver()
    var checked = 0
    var below = 0
    for trial in 0..<8 {
      let net = LimitsTests.randomNetwork([2, 6, 6, 1], seed: UInt64(300 + trial))
      var p = LimitsTests.problem(net)
      let (lo, hi) = ([0.1, 0.2], [0.5, 0.6])
      p.polytope = Polytope(dimension: 2, lower: lo, upper: hi)
      let search = BaBSearch(p, alphaSteps: 0)
      let bounder = SymbolicBounder(net)
      let whole = bounder.bounds(lower: lo, upper: hi)
      guard whole.bounds.stableCounts(net).unstable <= 10,
        let all = LeafSolver(search: search).solve(
          lower: lo, upper: hi, bounds: whole.bounds, lp: lp, stop: { false })
      else { continue }
      let candidates = bounder.upperBound(
        outputs: [1], inputs: [0, 0], constant: 0, box: whole, candidates: true
      ).candidates
      guard candidates.count == 2 else { continue }
      func pass(_ x: [Double]) -> (z: [[Double]], f: Double) {
        let r = independentPass(net, x)
        return (r.z, r.outputs[0])
      }
      for combination in 0..<4 {
        let splits = candidates.enumerated().map { k, c in
          ReluSplit(layer: c.layer, neuron: c.neuron, active: combination & (1 << k) != 0)
        }
        func inRegion(_ z: [[Double]], _ tolerance: Double) -> Bool {
          splits.allSatisfy { s in
            s.active ? z[s.layer][s.neuron] >= -tolerance : z[s.layer][s.neuron] <= tolerance
          }
        }
        var grid = -Double.infinity
        for i in 0...200 {
          for j in 0...200 {
            let x = [lo[0] + 0.4 * Double(i) / 200, lo[1] + 0.4 * Double(j) / 200]
            let r = pass(x)
            if inRegion(r.z, 0) { grid = max(grid, r.f) }
          }
        }
        let box = bounder.bounds(lower: lo, upper: hi, splits: splits)
        if box.empty {
          #expect(grid == -.infinity, "trial \(trial): a region with grid points called empty")
          continue
        }
        let leaf = try #require(
          LeafSolver(search: search).solve(
            lower: lo, upper: hi, bounds: box.bounds, splits: splits, lp: lp, stop: { false }))
        #expect(leaf.bound >= grid, "trial \(trial): bound \(leaf.bound) < grid \(grid)")
        #expect(leaf.bound <= all.bound + 1e-9)
        if let x = leaf.point {
          #expect(inRegion(pass(x).z, 1e-7), "trial \(trial): the point is outside the region")
        }
        if leaf.bound < all.bound - 1e-6 { below += 1 }
        checked += 1
      }
    }
    #expect(checked >= 12)
    #expect(below > 0, "no region's exact bound was below the whole box's")
  }

  /// The MILP with symbolic bounds (alone, and as OBBT's start) proves the same optima.
  @Test(arguments: OptFixtures.optimal, ["symbolic", "symbolic_lp"])
  func milpWithSymbolicBoundsMatchesRegionEnumeration(_ name: String, _ bounds: String) throws {
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let (_, r) = try #require(
      OptFixtures.solve(
        name, [("method", .identifier("milp")), ("bounds", .identifier(bounds))]))
    #expect(r.status == .optimal, "\(name) \(bounds): \(r.status)")
    let f = try #require(r.objective)
    #expect(close(f, expected, abs: 1e-6, rel: 0), "\(name) \(bounds): \(f) vs \(expected)")
  }

  /// The back end itself proves the infeasible fixture (the driver would answer it first by its
  /// emptiness LP).
  @Test func babProvesInfeasibility() throws {
    let p = try #require(Fixtures.problem(Fixtures.path("opt/infeasible.rmod")))
    let r = BaBBackend().solve(p, SolveContext(timeLimit: 30))
    #expect(r.status == .infeasible)
    #expect(r.point == nil)
    let report = Solver.solve(
      p.with(method: .bab), SolveContext(timeLimit: 30))
    #expect(report.status == .infeasible)
  }

  /// Rows over the outputs: the optimum by enumeration (Fixtures/bab/make_fixtures.py), or
  /// infeasible when no activation pattern admits the rows.
  @Test func outputRowsMatchEnumeration() throws {
    let cases = BaBFixtures.json("output_rows.json")
    #expect(cases.count == 4)
    for c in cases {
      let name = try #require(c["network"] as? String)
      let net = try #require(BaBFixtures.network(name))
      let lo = BaBFixtures.doubles(c["lower_box"])
      let hi = BaBFixtures.doubles(c["upper_box"])
      var rows = OutputConstraints.none(inputSize: net.inputSize, outputSize: net.outputSize)
      let G = BaBFixtures.matrix(c["G"])
      let H = BaBFixtures.matrix(c["H"])
      let h = BaBFixtures.doubles(c["h"])
      for r in 0..<h.count { rows.append(input: G[r], output: H[r], rhs: h[r], name: "r\(r)") }
      var options = SolveOptions()
      options.method = .bab
      options.timeLimit = 60
      let p = Problem(
        network: net, polytope: Polytope(dimension: net.inputSize, lower: lo, upper: hi),
        objective: Objective(
          sense: .maximize, outputWeights: BaBFixtures.doubles(c["c"]),
          inputWeights: BaBFixtures.doubles(c["d"])),
        options: options, outputConstraints: rows)
      let r = Solver.solve(p, SolveContext(timeLimit: 60))
      if let expected = (c["optimum"] as? NSNumber)?.doubleValue {
        #expect(r.status == .optimal, "\(name): \(r.status)")
        let f = try #require(r.objective)
        // A point may violate a row by the feasibility tolerance (PointCheck's rule), so it can
        // pass the strict optimum by about that much times the objective's slope.
        #expect(f >= expected - 1e-6, "\(name): \(f) vs \(expected)")
        #expect(f <= expected + 1e-5, "\(name): \(f) vs \(expected)")
        #expect(try #require(r.bound) >= expected - 1e-9)
        #expect(try #require(r.maxViolation) <= options.feasibilityTolerance)
      } else {
        #expect(r.status == .infeasible, "\(name): \(r.status)")
      }
    }
  }

  /// Issue 17's box: ACAS Xu 1_1 (the ONNX fixture), maximize y0 over VNN-COMP property 1's
  /// input box, whose widths are 0.08, 1, 1, 0.05 and 0.05 while the network's first-layer
  /// weights on the five inputs are alike. `bab` proves the maximum: status optimal (bound within
  /// the default gap of the objective), and the value lies in Marabou's bracket of that maximum,
  /// [-0.01768, -0.0176] (one query each way, quoted in the issue). Comparing the box's widths
  /// relative to the domain (before 2026-11-24) kept halving the three narrow inputs: 83,800
  /// boxes in 30 s left the bound 6.5e-6 above the objective (release); scaled by the weights,
  /// about 500 boxes prove it.
  @Test func babProvesTheACASXuMaximumOfIssue17() throws {
    let net = try ImportTests.importNetwork("ACASXU_run2a_1_1_batch_2000.onnx")
    var options = SolveOptions()
    options.method = .bab
    options.timeLimit = 300
    let p = Problem(
      network: net,
      polytope: Polytope(
        dimension: 5, lower: [0.6, -0.5, -0.5, 0.45, -0.5],
        upper: [0.679857769, 0.5, 0.5, 0.5, -0.45]),
      objective: Objective(
        sense: .maximize, outputWeights: [1, 0, 0, 0, 0],
        inputWeights: [Double](repeating: 0, count: 5)),
      options: options)
    let r = Solver.solve(p, SolveContext(timeLimit: 300))
    #expect(r.status == .optimal, "\(r.status)")
    let f = try #require(r.objective)
    let b = try #require(r.bound)
    #expect(f >= -0.01768 && f <= -0.0176, "\(f)")
    #expect(b >= f && b - f <= 1e-4, "bound \(b), objective \(f)")
    if case .int(let boxes)? = r.statistics.first(where: { $0.0 == "boxes" })?.1 {
      #expect(boxes < 20_000, "\(boxes) boxes")
    } else {
      Issue.record("no boxes statistic")
    }
  }

  /// Outputs that overflow a double inside the box prove nothing. max relu(1e308 x0 + 1e308 x1)
  /// over [0, 1]^2 is 2e308 in the reals, beyond the largest double (about 1.798e308): the
  /// points with a finite value come as close to it as one likes, so no value is provably
  /// optimal. The incumbent's value plus the gap overflowed to infinity and pruned every box,
  /// and bab claimed `optimal` at a value below a point PPGA found; with a second layer of
  /// opposite weights the interval bounds are NaN, which must not prune either.
  @Test(arguments: [false, true])
  func overflowingOutputsAreNeverOptimal(_ nan: Bool) throws {
    let first = DenseLayer(
      inputSize: 2, outputSize: 2, weights: [1e308, 1e308, 1e308, 1e308], bias: [0, 0],
      activation: .relu)
    // y = h0 (or h0 - h1 + x-free 1: the reals' value is 1 everywhere, the bounds NaN).
    let second = DenseLayer(
      inputSize: 2, outputSize: 1, weights: nan ? [1, -1] : [1, 0], bias: [nan ? 1 : 0],
      activation: .linear)
    var options = SolveOptions()
    options.method = .bab
    // A gap of 1%: the incumbent plus the gap overflows as soon as the incumbent is above
    // 1.78e308 (with the default gap, only within 1e-4 of the largest double).
    options.mipGap = 0.01
    let p = Problem(
      network: Network(layers: [first, second]),
      polytope: Polytope(dimension: 2, lower: [0, 0], upper: [1, 1]),
      objective: Objective(sense: .maximize, outputWeights: [1], inputWeights: [0, 0]),
      options: options)
    let r = Solver.solve(p, SolveContext(timeLimit: 0.5))
    // `feasible` (the search ended on boxes too small to halve, their bounds infinite) or
    // `time_limit`, never `optimal`.
    #expect(r.status == .feasible || r.status == .timeLimit, "\(r.status)")
    // The point reported is checked: a finite objective, the forward pass's; a bound, if any,
    // is above it.
    let x = try #require(r.point)
    let f = try #require(r.objective)
    #expect(f.isFinite)
    #expect(f == p.evaluate(x).objective)
    #expect(r.bound.map { $0 >= f } ?? true)
  }

  /// Interval bounds whose sums meet infinities of both signs are infinite, not NaN. At
  /// x = (1, 1): z1 = 1e308 (x0 + x1) and z2 = -1e308 (x0 + x1) overflow to +-infinity, then
  /// h = relu(z1 + z2 + 5) is 5 in the reals and y = h. A NaN bound passed for 0 through
  /// relu, so y was bounded by [0, 0]: bab, the MILP and verify would have proven y <= 0.
  @Test func boundsThatOverflowIntoNaNAreInfinite() throws {
    let first = DenseLayer(
      inputSize: 2, outputSize: 2, weights: [1e308, 1e308, -1e308, -1e308], bias: [0, 0],
      activation: .linear)
    let second = DenseLayer(
      inputSize: 2, outputSize: 1, weights: [1, 1], bias: [5], activation: .relu)
    let third = DenseLayer(
      inputSize: 1, outputSize: 1, weights: [1], bias: [0], activation: .linear)
    let net = Network(layers: [first, second, third])
    let b = intervalBounds(net, lower: [1, 1], upper: [1, 1])
    #expect(b.lower[1] == [-.infinity] && b.upper[1] == [.infinity])
    #expect(b.upper[2] == [.infinity], "y's upper bound: \(b.upper[2])")
    let p = Problem(
      network: net, polytope: Polytope(dimension: 2, lower: [1, 1], upper: [1, 1]),
      objective: Objective(sense: .maximize, outputWeights: [1], inputWeights: [0, 0]),
      options: SolveOptions())
    let box = BaBSearch(p, alphaSteps: 0, minimum: false).bounder.bounds(
      lower: [1, 1], upper: [1, 1], splits: [])
    #expect(box.bounds.upper[2] == [.infinity], "symbolic: \(box.bounds.upper[2])")
  }

  /// Splitting pays only on few inputs: above `BaBBackend.maxInputs` the problem goes to the
  /// MILP, with symbolic bounds, and the statistics say so.
  @Test func manyInputsGoToTheMILP() throws {
    let n = BaBBackend.maxInputs + 1
    let layer = DenseLayer(
      inputSize: n, outputSize: 1, weights: (0..<n).map { Double($0 % 3) - 1 }, bias: [0.5],
      activation: .relu)
    var options = SolveOptions()
    options.method = .bab
    let p = Problem(
      network: Network(layers: [layer]),
      polytope: Polytope(
        dimension: n, lower: [Double](repeating: -1, count: n),
        upper: [Double](repeating: 1, count: n)),
      objective: Objective(
        sense: .maximize, outputWeights: [1], inputWeights: [Double](repeating: 0, count: n)),
      options: options)
    let r = Solver.solve(p, SolveContext(timeLimit: 30))
    #expect(r.status == .optimal)
    #expect(r.method == .milp)
    // max relu(0.5 + sum of (j % 3 - 1) x_j) over the box: 0.5 + the number of +1 weights.
    let plus = (0..<n).filter { $0 % 3 == 2 }.count + (0..<n).filter { $0 % 3 == 0 }.count
    #expect(close(try #require(r.objective), 0.5 + Double(plus), abs: 1e-6, rel: 0))
    let note = r.statistics.first { $0.0 == "auto" }?.1
    #expect(note.map { "\($0)".contains("handed to the milp") } == true)
  }
}

extension Problem {
  /// The same problem with another method.
  func with(method: Method) -> Problem {
    var p = self
    p.options.method = method
    return p
  }
}
