import Foundation
import RelucBase
import RelucIR
import Testing

@testable import Reluc

/// The VNN-LIB reader, on the shared VNN-COMP properties and on broken files (golden
/// diagnostics, re-recorded with RELUC_RECORD=1).
@Suite struct VNNLibReaderTests {
  static let shared = Fixtures.repository + "/../shared/networks"

  static func sharedProperties() -> [String] {
    var out: [String] = []
    for folder in [shared, shared + "/acasxu"] {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
      out += names.filter { $0.hasSuffix(".vnnlib") }.sorted().map { folder + "/" + $0 }
    }
    return out
  }

  /// The number of disjuncts of each ACAS Xu property, counted by hand from the files: one
  /// `(or (and ...) ...)` per assert multiplies (prop 6: 2 input boxes times 4 outputs).
  static let disjunctCounts = [
    "prop_1": 1, "prop_2": 1, "prop_3": 1, "prop_4": 1, "prop_5": 4, "prop_6": 8, "prop_7": 2,
    "prop_8": 3, "prop_9": 4, "prop_10": 4,
  ]

  @Test func readsEverySharedProperty() throws {
    let files = Self.sharedProperties()
    #expect(files.count >= 12, "the shared properties are at \(Self.shared)")
    for path in files {
      let (p, bag, _) = VNNLibReader.read(path: path, inputSize: 5, outputSize: 5)
      #expect(!bag.hasErrors, "\(path): \(bag.all.map(\.message))")
      let property = try #require(p)
      let stem = String(path.split(separator: "/").last!.dropLast(".vnnlib".count))
      #expect(property.disjuncts.count == Self.disjunctCounts[stem], "\(path)")
      let (disjuncts, lowering) = property.problems(network: Self.identity5)
      #expect(!lowering.hasErrors, "\(path)")
      // ACAS Xu: every disjunct is a box over the inputs and rows over the outputs only.
      for d in disjuncts {
        let problem = try #require(d.problem)
        #expect(problem.polytope.isBox)
        #expect(problem.outputConstraints.rowCount >= 1)
        #expect(problem.outputConstraints.inputMatrix.allSatisfy { $0 == 0 })
      }
    }
  }

  /// Property 1 read number by number against the file's text.
  @Test func propertyOneIsReadExactly() throws {
    let path = Self.shared + "/acasxu/prop_1.vnnlib"
    let (p, _, _) = VNNLibReader.read(path: path, inputSize: 5, outputSize: 5)
    let (disjuncts, _) = try #require(p).problems(network: Self.identity5)
    let problem = try #require(disjuncts.first?.problem)
    #expect(problem.polytope.lower == [0.6, -0.5, -0.5, 0.45, -0.5])
    #expect(problem.polytope.upper == [0.679857769, 0.5, 0.5, 0.5, -0.45])
    let rows = problem.outputConstraints
    #expect(rows.rowCount == 1)
    #expect(Array(rows.outputRow(0)) == [-1, 0, 0, 0, 0])
    #expect(rows.rhs == [-3.991125645861615])
  }

  /// Against a 2-input, 3-output network, like the broken fixtures.
  @Test(arguments: Fixtures.files("vnnlib/broken", ext: "vnnlib"))
  func brokenPropertyIsRejected(_ name: String) throws {
    let path = Fixtures.path("vnnlib/broken/" + name)
    let (p, bag, sources) = VNNLibReader.read(path: path, inputSize: 2, outputSize: 3)
    var all = bag
    if let p { all.add(contentsOf: p.problems(network: Self.network(2, 3)).1) }
    #expect(all.hasErrors, "\(name) should be rejected")
    for d in all.all where d.severity == .error { #expect(d.location != nil) }
    let text =
      DiagnosticRenderer(sources: sources, color: false).render(all)
      .replacingOccurrences(of: Fixtures.root + "/", with: "") + "exit: \(all.exitCode.rawValue)\n"
    let golden = path.replacingOccurrences(of: ".vnnlib", with: ".expected")
    if ProcessInfo.processInfo.environment["RELUC_RECORD"] == "1" {
      try text.write(toFile: golden, atomically: true, encoding: .utf8)
    }
    #expect(text == Fixtures.read(golden))
  }

  @Test func chainsSubtractionAndProductsAreLinear() throws {
    let text = """
      (declare-const X_0 Real)
      (declare-const Y_0 Real)
      (declare-const Y_1 Real)
      (assert (<= -1 X_0 1)) ; a chain: -1 <= X_0 and X_0 <= 1
      (assert (>= (- (* 2 Y_0) (* Y_1 0.5) 3) (- 1)))
      """
    let (p, bag) = VNNLibReader.parse(
      SourceFile(path: "t.vnnlib", text: text), inputSize: 1, outputSize: 2)
    #expect(!bag.hasErrors)
    let (d, _) = try #require(p).problems(network: Self.network(1, 2))
    let problem = try #require(d.first?.problem)
    #expect(problem.polytope.lower == [-1] && problem.polytope.upper == [1])
    // 2 y0 - 0.5 y1 - 3 >= -1  ->  -2 y0 + 0.5 y1 <= -2
    #expect(Array(problem.outputConstraints.outputRow(0)) == [-2, 0.5])
    #expect(problem.outputConstraints.rhs == [-2])
  }

  @Test func emptyDisjunctionIsTheEmptySet() throws {
    let text = "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (or))"
    let (p, bag) = VNNLibReader.parse(
      SourceFile(path: "t.vnnlib", text: text), inputSize: 1, outputSize: 1)
    #expect(!bag.hasErrors)
    #expect(try #require(p).disjuncts.isEmpty)
  }

  @Test func deepNestingIsAnErrorNotACrash() {
    let text = String(repeating: "(", count: 100_000)
    let (_, bag) = VNNLibReader.parse(
      SourceFile(path: "t.vnnlib", text: text), inputSize: 1, outputSize: 1)
    #expect(bag.all.contains { $0.id == "nesting-too-deep" })
  }

  @Test func tooManyDisjunctsIsAnError() {
    var text = "(declare-const X_0 Real)(declare-const Y_0 Real)"
    for _ in 0..<14 { text += "(assert (or (<= Y_0 1) (<= Y_0 2)))" }
    let (p, bag) = VNNLibReader.parse(
      SourceFile(path: "t.vnnlib", text: text), inputSize: 1, outputSize: 1)
    #expect(p == nil)
    #expect(bag.all.contains { $0.id == "vnnlib-too-many-disjuncts" })
  }

  /// A network of the given sizes (one linear layer of zeros).
  static func network(_ n: Int, _ m: Int) -> Network {
    Network(layers: [
      DenseLayer(
        inputSize: n, outputSize: m, weights: [Double](repeating: 0, count: n * m),
        bias: [Double](repeating: 0, count: m), activation: .linear)
    ])
  }
  static let identity5 = network(5, 5)
}
