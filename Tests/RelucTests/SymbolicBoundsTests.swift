import Foundation
import RelucBase
import RelucIR
import RelucXML
import Testing

@testable import Reluc

/// The fixtures of the symbolic bounds and of `bab` (Fixtures/bab/make_fixtures.py: exact
/// pre-activation extremes and optima by enumeration of activation patterns, scipy's LP each).
enum BaBFixtures {
  static func network(_ name: String) -> Network? {
    guard case .success(let net) = NetworkReader().read(path: Fixtures.path("bab/" + name)) else {
      return nil
    }
    return net.foldingNormalization()
  }

  static func json(_ name: String) -> [[String: Any]] {
    let data = FileManager.default.contents(atPath: Fixtures.path("bab/" + name)) ?? Data()
    return (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
  }

  static func doubles(_ v: Any?) -> [Double] { (v as? [NSNumber])?.map(\.doubleValue) ?? [] }
  static func matrix(_ v: Any?) -> [[Double]] { (v as? [Any])?.map { doubles($0) } ?? [] }
}

@Suite struct SymbolicBoundsTests {
  /// Every pre-activation at many points of the box lies within the symbolic bounds, which lie
  /// within the interval bounds (the fixtures' networks and the optimization fixtures').
  @Test(arguments: [
    "bab/symbolic_3_6_6_2.xml", "bab/symbolic_2_4_4_4_1.xml", "bab/symbolic_4_8_1.xml",
    "opt/max_2_8_1.xml", "opt/min_3_6_6_1.xml", "opt/max_3_10_1.xml", "opt/max_2_5_5_2_rows.xml",
  ])
  func containsSampledPreactivations(_ name: String) throws {
    guard case .success(let read) = NetworkReader().read(path: Fixtures.path(name)) else {
      Issue.record("cannot read \(name)")
      return
    }
    let net = read.foldingNormalization()
    var rng = Xoshiro256(seed: 7)
    let n = net.inputSize
    let lower = (0..<n).map { _ in Double.random(in: -2...0, using: &rng) }
    let upper = lower.map { $0 + Double.random(in: 0.1...2, using: &rng) }
    let symbolic = symbolicBounds(net, lower: lower, upper: upper)
    let interval = intervalBounds(net, lower: lower, upper: upper)
    for l in 0..<net.layers.count {
      for i in 0..<net.layers[l].outputSize {
        #expect(symbolic.lower[l][i] >= interval.lower[l][i])
        #expect(symbolic.upper[l][i] <= interval.upper[l][i])
      }
    }
    for k in 0..<3000 {
      // Corners too: every tenth point is a vertex of the box.
      let x = (0..<n).map { j in
        k % 10 == 0
          ? (Bool.random(using: &rng) ? lower[j] : upper[j])
          : Double.random(in: lower[j]...upper[j], using: &rng)
      }
      let pass = net.forward(x)
      for l in 0..<net.layers.count {
        for (i, z) in pass.preactivations[l].enumerated() {
          #expect(z >= symbolic.lower[l][i] && z <= symbolic.upper[l][i], "\(name) \(l) \(i)")
        }
      }
    }
  }

  /// The fixtures' networks, boxes and exact pre-activation extremes (`symbolic_bounds.json`:
  /// scipy's LP on every activation pattern).
  static func exactBoundCases() throws -> [(
    name: String, net: Network, lower: [Double], upper: [Double], exactLower: [[Double]],
    exactUpper: [[Double]]
  )] {
    try BaBFixtures.json("symbolic_bounds.json").map { c in
      let name = try #require(c["network"] as? String)
      return (
        name, try #require(BaBFixtures.network(name)), BaBFixtures.doubles(c["lower_box"]),
        BaBFixtures.doubles(c["upper_box"]), BaBFixtures.matrix(c["lower"]),
        BaBFixtures.matrix(c["upper"])
      )
    }
  }

  /// The symbolic bounds contain the exact extremes (scipy, every activation pattern), and they
  /// are strictly tighter than interval arithmetic somewhere on each deeper network.
  @Test func containsExactExtremes() throws {
    let cases = try Self.exactBoundCases()
    #expect(cases.count == 3)
    for (name, net, lo, hi, exactLower, exactUpper) in cases {
      let s = symbolicBounds(net, lower: lo, upper: hi)
      let iv = intervalBounds(net, lower: lo, upper: hi)
      var tighter = 0.0
      for l in 0..<net.layers.count {
        for i in 0..<net.layers[l].outputSize {
          // The exact values are LP optima (HiGHS's tolerance, about 1e-9 here).
          #expect(s.lower[l][i] <= exactLower[l][i] + 1e-8, "\(name) \(l) \(i)")
          #expect(s.upper[l][i] >= exactUpper[l][i] - 1e-8, "\(name) \(l) \(i)")
          tighter += (iv.upper[l][i] - iv.lower[l][i]) - (s.upper[l][i] - s.lower[l][i])
        }
      }
      if net.layers.count > 2 { #expect(tighter > 1e-3, "\(name): no tighter than intervals") }
    }
  }

  /// Alpha-CROWN on the intermediate neurons (`refine`): the bounds lie within CROWN's, contain
  /// the exact extremes (scipy, every activation pattern) and every sampled pre-activation of
  /// random deeper networks (independent forward pass), and are strictly tighter somewhere;
  /// with its time budget spent, `refine` changes nothing, and past `until` the bounds lie
  /// between CROWN's and the interval bounds.
  @Test func refinedBoundsAreSoundAndTighter() throws {
    for (name, net, lo, hi, exactLower, exactUpper) in try Self.exactBoundCases() {
      let refined = SymbolicBounder(net).bounds(lower: lo, upper: hi, refine: 10).bounds
      for l in 0..<net.layers.count {
        for i in 0..<net.layers[l].outputSize {
          #expect(refined.lower[l][i] <= exactLower[l][i] + 1e-8, "\(name) \(l) \(i)")
          #expect(refined.upper[l][i] >= exactUpper[l][i] - 1e-8, "\(name) \(l) \(i)")
        }
      }
    }
    var rng = Xoshiro256(seed: 47)
    var tighter = 0
    for _ in 0..<6 {
      let net = Network.randomDeep(inputs: 3, width: 10, &rng)
      let bounder = SymbolicBounder(net)
      let lo = (0..<3).map { _ in Double.random(in: -1...0, using: &rng) }
      let hi = lo.map { $0 + Double.random(in: 0.2...1.5, using: &rng) }
      let plain = bounder.bounds(lower: lo, upper: hi).bounds
      // (With CROWN's bounds as the prior, as `bab` refines: tighter earlier layers can change
      // a later layer's CROWN slopes for the worse, so without it a bound may come out looser.)
      let refined = bounder.bounds(lower: lo, upper: hi, prior: plain, refine: 10).bounds
      // Past its time budget nothing is refined: CROWN's bounds, bit for bit.
      let late = bounder.bounds(lower: lo, upper: hi, prior: plain, refine: 10, refineUntil: 0)
      #expect(late.bounds.lower == plain.lower && late.bounds.upper == plain.upper)
      // Past `until` nothing is tightened: bounds between CROWN's and the interval bounds
      // (and containing every sampled pre-activation, below).
      let cut = bounder.bounds(lower: lo, upper: hi, until: 0).bounds
      let interval = intervalBounds(net, lower: lo, upper: hi)
      for l in 0..<net.layers.count {
        for i in 0..<net.layers[l].outputSize {
          #expect(interval.lower[l][i] <= cut.lower[l][i] && cut.lower[l][i] <= plain.lower[l][i])
          #expect(plain.upper[l][i] <= cut.upper[l][i] && cut.upper[l][i] <= interval.upper[l][i])
        }
      }
      for l in 0..<net.layers.count {
        for i in 0..<net.layers[l].outputSize {
          #expect(refined.lower[l][i] >= plain.lower[l][i])
          #expect(refined.upper[l][i] <= plain.upper[l][i])
          if refined.upper[l][i] < plain.upper[l][i] - 1e-9
            || refined.lower[l][i] > plain.lower[l][i] + 1e-9
          {
            tighter += 1
          }
        }
      }
      for _ in 0..<500 {
        let x = (0..<3).map { Double.random(in: lo[$0]...hi[$0], using: &rng) }
        let r = independentPass(net, x)
        for l in 0..<net.layers.count {
          for (i, z) in r.z[l].enumerated() {
            #expect(z >= refined.lower[l][i] - 1e-12 && z <= refined.upper[l][i] + 1e-12)
            #expect(z >= cut.lower[l][i] - 1e-12 && z <= cut.upper[l][i] + 1e-12)
          }
        }
      }
    }
    #expect(tighter > 0, "alpha on the intermediate neurons tightened nothing")
  }

  /// The objective's linear bound with alpha-CROWN steps is never above the bound without them
  /// and never below the true maximum (sampled).
  @Test func alphaStepsOnlyTighten() throws {
    let net = try #require(BaBFixtures.network("symbolic_2_4_4_4_1.xml"))
    let bounder = SymbolicBounder(net)
    let lo = [-2.0, -1.0]
    let hi = [1.0, 1.0]
    let box = bounder.bounds(lower: lo, upper: hi)
    for c in [[1.0], [-1.0]] {
      let plain = bounder.upperBound(outputs: c, inputs: [0, 0], constant: 0, box: box)
      let alpha = bounder.upperBound(
        outputs: c, inputs: [0, 0], constant: 0, box: box, alphaSteps: 20)
      #expect(alpha.value <= plain.value)
      var best = -Double.infinity
      for a in 0...200 {
        for b in 0...200 {
          let x = [lo[0] + 3 * Double(a) / 200, lo[1] + 2 * Double(b) / 200]
          best = max(best, c[0] * net.evaluate(x)[0])
        }
      }
      #expect(alpha.value >= best)
    }
  }

  /// The bound of the smallest output (`simplex`, verify's margin): at least the smallest
  /// output on a dense grid, never above the smallest of the outputs' own bounds, and below it
  /// on a box where weighting the outputs pays (a random 2-4-4-4-3 network).
  @Test func smallestOutputBoundIsSoundAndTighter() throws {
    var rng = Xoshiro256(seed: 11)
    func layer(_ n: Int, _ m: Int, _ a: Activation) -> DenseLayer {
      DenseLayer.random(n, m, a, &rng)
    }
    var tighter = 0
    for _ in 0..<10 {
      let net = Network(layers: [layer(2, 4, .relu), layer(4, 4, .relu), layer(4, 3, .linear)])
      let bounder = SymbolicBounder(net)
      let lo = [-1.0, -1.0]
      let hi = [1.0, 1.0]
      let box = bounder.bounds(lower: lo, upper: hi)
      var own = Double.infinity
      for i in 0..<3 {
        var e = [0.0, 0, 0]
        e[i] = 1
        own = min(own, bounder.upperBound(outputs: e, inputs: [0, 0], constant: 0, box: box).value)
      }
      let weighted = bounder.upperBound(
        outputs: [1, 0, 0], inputs: [0, 0], constant: 0, box: box, alphaSteps: 30, simplex: true)
      var best = -Double.infinity
      for a in 0...200 {
        for b in 0...200 {
          let x = [-1 + 2 * Double(a) / 200, -1 + 2 * Double(b) / 200]
          best = max(best, net.evaluate(x).min()!)
        }
      }
      #expect(weighted.value >= best)
      #expect(
        weighted.value
          <= bounder.upperBound(
            outputs: [1, 0, 0], inputs: [0, 0], constant: 0, box: box
          ).value)
      if weighted.value < own - 1e-9 { tighter += 1 }
    }
    #expect(tighter > 0, "weighting the outputs never paid on 10 random networks")
  }

  /// ReLU splits (beta-CROWN): on random 2-6-6-6-1 networks, for the root bound's two best
  /// split candidates and each of their four sign combinations, the region's pre-activation
  /// bounds contain every pre-activation and its bound with alpha and beta steps is at least
  /// the objective at every point of a 201 x 201 grid that satisfies the splits (an independent
  /// forward pass); a region the bounds call empty has no grid point; and the split pays: on
  /// some network the larger of the regions' bounds is below the unsplit box's bound.
  @Test func splitRegionsAreBoundedSoundly() throws {
    var rng = Xoshiro256(seed: 23)
    var tighter = 0
    var empty = 0
    for _ in 0..<8 {
      let net = Network.randomDeep(inputs: 2, width: 6, &rng)
      let bounder = SymbolicBounder(net)
      let lo = [-1.0, -1.0]
      let hi = [1.0, 1.0]
      let root = bounder.upperBound(
        outputs: [1], inputs: [0, 0], constant: 0, box: bounder.bounds(lower: lo, upper: hi),
        alphaSteps: 20, candidates: true)
      guard root.candidates.count == 2 else { continue }
      // The grid's points: inputs, pre-activations (an independent forward pass), objective.
      var points: [(x: [Double], z: [[Double]], f: Double)] = []
      for a in 0...200 {
        for b in 0...200 {
          let x = [-1 + 2 * Double(a) / 200, -1 + 2 * Double(b) / 200]
          let r = independentPass(net, x)
          points.append((x, r.z, r.outputs[0]))
        }
      }
      var worst = -Double.infinity
      for combination in 0..<4 {
        let splits = root.candidates.enumerated().map { k, c in
          ReluSplit(layer: c.layer, neuron: c.neuron, active: combination & (1 << k) != 0)
        }
        let inside = points.filter { p in
          splits.allSatisfy { s in
            let z = p.z[s.layer][s.neuron]
            return s.active ? z >= 0 : z <= 0
          }
        }
        let box = bounder.bounds(lower: lo, upper: hi, splits: splits)
        if box.empty {
          #expect(inside.isEmpty, "a region with \(inside.count) grid points called empty")
          empty += 1
          continue
        }
        let bound = bounder.upperBound(
          outputs: [1], inputs: [0, 0], constant: 0, box: box, alphaSteps: 20)
        worst = max(worst, bound.value)
        for p in inside {
          #expect(p.f <= bound.value, "objective \(p.f) above the region's bound \(bound.value)")
          for l in 0..<net.layers.count {
            for (i, z) in p.z[l].enumerated() {
              #expect(z >= box.bounds.lower[l][i] - 1e-12 && z <= box.bounds.upper[l][i] + 1e-12)
            }
          }
        }
      }
      if worst < root.value - 1e-9 { tighter += 1 }
    }
    #expect(tighter > 0, "splitting two ReLUs never tightened the bound on 8 networks")
  }

  /// Under a deadline the neurons are tightened `deadlineChunk` at a time: with time to
  /// spare the bounds are CROWN's (up to the summation order of smaller products), their
  /// merged linear functions bound sub-boxes soundly (sampled, independent forward pass), and
  /// on a layer of more than one chunk the chunks are really merged.
  @Test func boundsTightenedInChunksAreCROWNs() throws {
    var rng = Xoshiro256(seed: 53)
    let net = Network.randomDeep(inputs: 4, width: 150, &rng)
    let bounder = SymbolicBounder(net)
    let (lo, hi) = ([Double](repeating: -1, count: 4), [Double](repeating: 1, count: 4))
    let whole = bounder.bounds(lower: lo, upper: hi)
    let chunked = bounder.bounds(lower: lo, upper: hi, until: monotonicSeconds() + 1e6)
    var merged = 0
    for l in 0..<net.layers.count {
      if let f = chunked.functions[l], f.neurons.count > SymbolicBounder.deadlineChunk {
        merged += 1
        let g = try #require(whole.functions[l])
        #expect(f.neurons == g.neurons && f.margins == g.margins)
        #expect(f.a.count == g.a.count && f.c.count == g.c.count)
        for (u, v) in Array(zip(f.a, g.a)) + Array(zip(f.c, g.c)) {
          #expect(abs(u - v) <= 1e-9 * (1 + abs(v)), "layer \(l): \(u) vs \(v)")
        }
      }
      for i in 0..<net.layers[l].outputSize {
        for (a, b) in [
          (chunked.bounds.lower[l][i], whole.bounds.lower[l][i]),
          (chunked.bounds.upper[l][i], whole.bounds.upper[l][i]),
        ] {
          #expect(abs(a - b) <= 1e-9 * (1 + abs(b)), "layer \(l) neuron \(i): \(a) vs \(b)")
        }
      }
    }
    #expect(merged > 0, "no layer had more than \(SymbolicBounder.deadlineChunk) unstable neurons")
    for _ in 0..<20 {
      let sub = (0..<4).map { _ in Double.random(in: -1...0.5, using: &rng) }
      let subHi = sub.map { min(1, $0 + Double.random(in: 0.1...1, using: &rng)) }
      let box = bounder.bounds(lower: sub, upper: subHi, within: chunked, splits: [])
      for _ in 0..<50 {
        let x = (0..<4).map { Double.random(in: sub[$0]...subHi[$0], using: &rng) }
        let r = independentPass(net, x)
        for l in 0..<net.layers.count {
          for (i, z) in r.z[l].enumerated() {
            #expect(z >= box.bounds.lower[l][i] - 1e-12 && z <= box.bounds.upper[l][i] + 1e-12)
          }
        }
      }
    }
  }

  /// A sub-box's cheap bounds (its parent's linear functions concretized over it, the bounds
  /// `bab` ranks its splits with) lie within the parent's, contain every pre-activation at
  /// sampled points of the sub-box (an independent forward pass), bound the objective there
  /// with the parent's slopes, and with a ReLU split contain the points on the split's side;
  /// and a deeper layer's bound is strictly tighter than the parent's somewhere.
  @Test func subBoxBoundsFromTheParentAreSound() throws {
    var rng = Xoshiro256(seed: 31)
    var tighter = 0
    for _ in 0..<6 {
      let net = Network.randomDeep(inputs: 3, width: 8, &rng)
      let bounder = SymbolicBounder(net)
      let parent = bounder.bounds(lower: [-1, -1, -1], upper: [1, 1, 1])
      let slopes = bounder.upperBound(
        outputs: [1], inputs: [0, 0, 0], constant: 0, box: parent, alphaSteps: 10
      ).slopes
      for _ in 0..<10 {
        let lo = (0..<3).map { _ in Double.random(in: -1...0.5, using: &rng) }
        let hi = lo.map { min(1, $0 + Double.random(in: 0.05...1, using: &rng)) }
        let unstable = parent.relaxations.indices.flatMap { l in
          (parent.relaxations[l]?.unstable ?? []).map { (l, $0) }
        }
        var splitSets: [[ReluSplit]] = [[]]
        if let (l, i) = unstable.randomElement(using: &rng) {
          for active in [true, false] {
            splitSets.append([ReluSplit(layer: l, neuron: i, active: active)])
          }
        }
        for splits in splitSets {
          var box = bounder.bounds(lower: lo, upper: hi, within: parent, splits: splits)
          for l in 0..<net.layers.count {
            for i in 0..<net.layers[l].outputSize {
              #expect(box.bounds.lower[l][i] >= parent.bounds.lower[l][i])
              #expect(box.bounds.upper[l][i] <= parent.bounds.upper[l][i])
              if splits.isEmpty, l > 0,
                box.bounds.upper[l][i] < parent.bounds.upper[l][i] - 1e-9
                  || box.bounds.lower[l][i] > parent.bounds.lower[l][i] + 1e-9
              {
                tighter += 1
              }
            }
          }
          for k in 0..<box.relaxations.count {
            guard var rx = box.relaxations[k] else { continue }
            for i in rx.unstable { rx.lowerSlope[i] = slopes[k][i] }
            box.relaxations[k] = rx
          }
          let bound =
            box.empty
            ? -Double.infinity
            : bounder.upperBound(outputs: [1], inputs: [0, 0, 0], constant: 0, box: box).value
          for _ in 0..<300 {
            let x = (0..<3).map { Double.random(in: lo[$0]...hi[$0], using: &rng) }
            let r = independentPass(net, x)
            let inside = splits.allSatisfy { s in
              s.active ? r.z[s.layer][s.neuron] >= 0 : r.z[s.layer][s.neuron] <= 0
            }
            guard inside else { continue }
            #expect(!box.empty, "a region with a point called empty")
            #expect(r.outputs[0] <= bound, "objective \(r.outputs[0]) above the bound \(bound)")
            for l in 0..<net.layers.count {
              for (i, z) in r.z[l].enumerated() {
                let (lower, upper) = (box.bounds.lower[l][i], box.bounds.upper[l][i])
                #expect(z >= lower - 1e-12 && z <= upper + 1e-12)
              }
            }
          }
        }
      }
    }
    #expect(tighter > 0, "no deeper bound of a sub-box was tighter than its parent's")
  }

  /// The projection onto the simplex against its definition: the result is on the simplex and
  /// no point of a random sample of the simplex is closer to `v`.
  @Test func simplexProjectionIsTheClosestPoint() {
    var rng = Xoshiro256(seed: 4)
    for _ in 0..<200 {
      let n = 1 + Int(rng.unit() * 5)
      let v = (0..<n).map { _ in 4 * rng.unit() - 2 }
      let w = projectOntoSimplex(v)
      #expect(w.allSatisfy { $0 >= 0 })
      #expect(abs(w.reduce(0, +) - 1) < 1e-12)
      func distance(_ p: [Double]) -> Double {
        zip(p, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
      }
      let d = distance(w)
      for _ in 0..<200 {
        // A random point of the simplex (normalized exponentials), and the vertices.
        let e = (0..<n).map { _ in -log(max(rng.unit(), 1e-300)) }
        let total = e.reduce(0, +)
        #expect(d <= distance(e.map { $0 / total }) + 1e-12)
      }
      for i in 0..<n {
        var e = [Double](repeating: 0, count: n)
        e[i] = 1
        #expect(d <= distance(e) + 1e-12)
      }
    }
  }
}
