import Foundation
import Reluc
import RelucBase
import RelucIR
import Testing

@Suite struct LexerTests {
  func kinds(_ s: String) -> [TokenKind] {
    Lexer(SourceFile(path: "t", text: s)).tokens.map(\.kind)
  }

  @Test func numbersInAllUsualForms() {
    #expect(
      kinds("1e-3 .5 2 3.25 1E+2 1_000") == [.real, .real, .integer, .real, .real, .integer, .eof])
    // `0..3` is a range, not the number `0.`.
    #expect(kinds("0..3") == [.integer, .dotdot, .integer, .eof])
    #expect(kinds("-2") == [.minus, .integer, .eof])
  }

  @Test func unicodeIdentifiersAndComments() {
    let lexer = Lexer(SourceFile(path: "t", text: "débit # commentaire\nΔx_2"))
    #expect(lexer.tokens.map(\.kind) == [.identifier, .identifier, .eof])
    #expect(lexer.comments.count == 1)
    #expect(lexer.diagnostics.all.isEmpty)
  }

  @Test func qualifiedNamesAreOneIdentifier() {
    let text = "cost.y[0] net.h1.pre x[0..1] a.é"
    let lexer = Lexer(SourceFile(path: "t", text: text))
    #expect(
      lexer.tokens.map(\.kind) == [
        .identifier, .lbracket, .integer, .rbracket, .identifier, .identifier, .lbracket,
        .integer, .dotdot, .integer, .rbracket, .identifier, .eof,
      ])
    let f = SourceFile(path: "t", text: text)
    #expect(lexer.tokens.filter { $0.kind == .identifier }.map { f.text($0.range) } == [
      "cost.y", "net.h1.pre", "x", "a.é",
    ])
    // A dot not followed by an identifier start is not part of a name.
    #expect(kinds("a.") == [.identifier, .error, .eof])
    #expect(kinds("a.5") == [.identifier, .real, .eof])
  }

  @Test func badCharacterIsAnErrorTokenNotAThrow() {
    let lexer = Lexer(SourceFile(path: "t", text: "a $ b"))
    #expect(lexer.tokens.map(\.kind) == [.identifier, .error, .identifier, .eof])
    #expect(lexer.diagnostics.all.map(\.id) == ["unexpected-character"])
  }

  @Test func columnsCountUnicodeScalars() {
    let f = SourceFile(path: "t", text: "é é\nab")
    #expect(f.position(of: 3) == LineColumn(line: 1, column: 3))
    #expect(f.position(of: 6) == LineColumn(line: 2, column: 1))
  }
}

@Suite struct SampleTests {
  static let samples = ["peaks.rmod", "peaks_constrained.rmod", "random.rmod", "acasxu.rmod"]

  @Test(arguments: samples)
  func sampleValidates(_ name: String) {
    let c = Compiler.compile(path: Fixtures.repository + "/samples/" + name)
    #expect(!c.diagnostics.hasErrors, "\(c.diagnostics.all.map(\.message))")
    #expect(c.problem != nil)
  }

  @Test(arguments: samples)
  func sampleIsCanonicallyFormattedAndFormatIsIdempotent(_ name: String) throws {
    let (syntax, bag, _) = Compiler.parse(path: Fixtures.repository + "/samples/" + name)
    let s = try #require(syntax)
    #expect(!bag.hasErrors)
    let once = Formatter.format(s)
    #expect(once == String(decoding: s.file.bytes, as: UTF8.self))
    let (again, _) = Parser.parse(SourceFile(path: "t", text: once))
    #expect(Formatter.format(again) == once)
  }

  @Test func formatterNormalizesSpacingAndKeepsComments() {
    let text =
      "# head\nnetwork   \"n.xml\"\n\n\n\nmaximize   y[0]+2*x[ 1 ] # tail\nconstraint c[i in 0..1]:x[i]<=1\n"
    let (m, bag) = Parser.parse(SourceFile(path: "t", text: text))
    #expect(!bag.hasErrors)
    #expect(
      Formatter.format(m)
        == "# head\nnetwork \"n.xml\"\n\nmaximize y[0] + 2 * x[1]  # tail\nconstraint c[i in 0..1]: x[i] <= 1\n"
    )
  }

  /// Trailing white space of a comment (CRs of CRLF lines, spaces, tabs) is dropped, so a
  /// second formatting changes nothing (found by the fuzzer on `#\r\r`).
  @Test(arguments: ["#\r\r", "# a \t\r", "#\r", "# b  "])
  func formattingCommentsIsIdempotent(_ comment: String) {
    let text = "network \"n.xml\"\n\(comment)\nmaximize y[0]\n"
    let once = Formatter.format(Parser.parse(SourceFile(path: "t", text: text)).0)
    #expect(Formatter.format(Parser.parse(SourceFile(path: "t", text: once)).0) == once)
    #expect(!once.contains("\r") && !once.contains(" \n"))
  }
}

@Suite struct LoweringTests {
  func lower(_ body: String) -> Compilation {
    let dir = NSTemporaryDirectory() + "reluc-lowering-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try? FileManager.default.copyItem(
      atPath: Fixtures.path("nets/tiny.xml"), toPath: dir + "/tiny.xml")
    let path = dir + "/m.rmod"
    try? ("network \"tiny.xml\"\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
    return Compiler.compile(path: path)
  }

  @Test func singleVariableConstraintsBecomeBoundsAndOthersRows() throws {
    let c = lower(
      "maximize y[0] - 2 * x[2] + 3\nconstraint 0 <= x <= 1\nconstraint x[0] >= 0.25\nconstraint r: x[0] + x[1] <= 1.5\nconstraint [i in 0..1]: x[i] - x[i + 1] <= 0.5\n"
    )
    let p = try #require(c.problem)
    #expect(p.polytope.lower == [0.25, 0, 0])
    #expect(p.polytope.upper == [1, 1, 1])
    #expect(p.polytope.rowCount == 3)
    #expect(Array(p.polytope.row(0)) == [1, 1, 0])
    #expect(p.polytope.rhs[0] == 1.5)
    #expect(Array(p.polytope.row(2)) == [0, 1, -1])
    #expect(p.objective.outputWeights == [1, 0])
    #expect(p.objective.inputWeights == [0, 0, -2])
    #expect(p.objective.constant == 3)
  }

  /// Bounds that cross by a rounding error only (0.3 / 3 = 0.09999999999999999 < 0.1) fix the
  /// input between them, and the point meets both constraints within the final check's
  /// tolerance; bounds that cross by 1e-9 are still the error `empty-domain`.
  @Test func boundsCrossingByARoundingErrorFixTheInput() throws {
    let head = "maximize y[0]\nconstraint 0 <= x <= 1\nconstraint x[0] >= 0.1\n"
    let c = lower(head + "constraint 3 * x[0] <= 0.3\n")
    let p = try #require(c.problem, "\(c.diagnostics.all.map(\.message))")
    #expect(p.polytope.lower[0] == p.polytope.upper[0])
    #expect(abs(p.polytope.lower[0] - 0.1) <= 1e-16)
    #expect(3 * p.polytope.lower[0] - 0.3 <= 1e-15)
    let crossed = lower(head + "constraint x[0] <= 0.099999999\n")
    #expect(crossed.problem == nil)
    #expect(crossed.diagnostics.all.contains { $0.id == "empty-domain" })
  }

  @Test func equalityAndSumsAndSlices() throws {
    let c = lower(
      "minimize sum(y) + sum(i in 0..2) 0.5 * x[i]\nconstraint 0 <= x <= 1\nconstraint sum(x[0..1]) == 1\n"
    )
    let p = try #require(c.problem)
    #expect(p.objective.outputWeights == [1, 1])
    #expect(p.objective.inputWeights == [0.5, 0.5, 0.5])
    #expect(p.polytope.rowCount == 2)  // == gives two rows
    #expect(p.objective.sense == .minimize)
  }

  @Test func commandLineOverridesWin() throws {
    let dir = Fixtures.repository + "/samples/peaks.rmod"
    let c = Compiler.compile(
      path: dir,
      overrides: [
        .flag("--method", "method", .identifier("ppga")), .flag("--seed", "seed", .number(9)),
      ])
    let p = try #require(c.problem)
    #expect(p.options.method == .ppga)
    #expect(p.options.seed == 9)
    let bad = Compiler.compile(path: dir, overrides: [.flag("-O", "sead", .number(9))])
    #expect(bad.diagnostics.all.first?.help == "did you mean 'seed'?")
  }

  @Test func everyOptionAcceptsItsDefault() throws {
    for spec in SolveOptions.specs {
      var o = SolveOptions()
      try o.set(spec.name, OptionValue.parse(spec.defaultText))
    }
  }

  @Test func digestPinsTheNetwork() throws {
    let digest = try #require(sha256(ofFile: Fixtures.path("nets/tiny.xml")))
    let dir = NSTemporaryDirectory() + "reluc-digest-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: Fixtures.path("nets/tiny.xml"), toPath: dir + "/tiny.xml")
    try "network \"tiny.xml\" sha256 \"\(digest)\"\nmaximize y[0]\nconstraint 0 <= x <= 1\n"
      .write(toFile: dir + "/m.rmod", atomically: true, encoding: .utf8)
    #expect(Compiler.compile(path: dir + "/m.rmod").problem != nil)
  }

  @Test func sha256KnownVectors() {
    #expect(
      SHA256.hex(Array("".utf8))
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(
      SHA256.hex(Array("abc".utf8))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
    #expect(
      SHA256.hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }
}

@Suite struct EvalTests {
  /// Outputs computed by numpy (Fixtures/eval/make_eval.py) at random points.
  @Test(arguments: ["peaks", "normalized"])
  func forwardPassMatchesNumpy(_ name: String) throws {
    let p = try #require(Fixtures.problem(Fixtures.path("eval/\(name).rmod")))
    let lines = Fixtures.read(Fixtures.path("eval/\(name).txt")).split(separator: "\n")
    #expect(lines.count == 50)
    for line in lines {
      let parts = line.split(separator: ";")
      let x = parts[0].split(separator: " ").compactMap { Double($0) }
      let y = parts[1].split(separator: " ").compactMap { Double($0) }
      let (out, _) = p.evaluate(x)
      for (a, b) in zip(out, y) { #expect(close(a, b, abs: 1e-9, rel: 1e-9)) }
      // The gradient kernel's forward pass agrees with the reference one.
      let k = NetworkKernel(problem: p)
      let f = x.withUnsafeBufferPointer { k.forward($0.baseAddress!) }
      let ref = p.objective.value(x: x, y: out)
      #expect(close(f, ref, abs: 1e-9, rel: 1e-9))
    }
  }

  @Test func foldingAReluLastLayerKeepsTheFunction() {
    let layer = DenseLayer(
      inputSize: 2, outputSize: 2, weights: [1, -1, 0.5, 2], bias: [0.1, -3], activation: .relu)
    let net = Network(
      layers: [layer], inputNormalization: Normalization(mean: [1, 2], scale: [2, 4]),
      outputNormalization: Normalization(mean: [5, -1], scale: [3, 0.5]))
    let folded = net.foldingNormalization()
    for x in [[0.0, 0.0], [3, -2], [1.5, 7]] {
      for (a, b) in zip(net.evaluate(x), folded.evaluate(x)) { #expect(close(a, b, abs: 1e-12)) }
    }
  }
}
