import Foundation
import Reluc
import RelucBase
import RelucIR
import Testing

/// Generated models for issue 19's front-end cases: long flat chains, deep nesting, huge
/// expansions, keyword-named vectors, huge indices.
enum Generated {
  /// A fresh folder with a one-layer network of `n` inputs and `m` outputs.
  static func folder(inputs n: Int, outputs m: Int = 1, input: String = "x", output: String = "y")
    -> String
  {
    let dir = NSTemporaryDirectory() + "reluc-limits-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let row = Array(repeating: "0.5", count: n).joined(separator: " ")
    let xml = """
      <?xml version="1.0" encoding="UTF-8"?>
      <network name="g" version="1">
        <input name="\(input)" size="\(n)"></input>
        <output name="\(output)" size="\(m)"></output>
        <layer name="L1" inputs="\(n)" outputs="\(m)" activation="relu">
      \(String(repeating: "<row>\(row)</row>\n", count: m))\
      <bias>\(Array(repeating: "0.1", count: m).joined(separator: " "))</bias>
        </layer>
      </network>

      """
    try! xml.write(toFile: dir + "/net.xml", atomically: true, encoding: .utf8)
    return dir
  }

  /// Writes a model (network "net.xml", inputs in [0, 1], then `body`) and returns its path.
  static func model(_ dir: String, _ body: String, bounds: String = "x") -> String {
    let path = dir + "/m\(UUID().uuidString.prefix(8)).rmod"
    let text = "network \"net.xml\"\nconstraint 0 <= \(bounds) <= 1\n" + body + "\n"
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func nested(_ kind: String, _ depth: Int) -> String {
    switch kind {
    case "paren":
      return String(repeating: "(", count: depth) + "x[0]" + String(repeating: ")", count: depth)
    case "minus": return String(repeating: "-", count: depth) + "x[0]"
    case "times":
      return String(repeating: "2 * (", count: depth) + "x[0]"
        + String(repeating: ")", count: depth)
    case "sum": return (0..<depth).map { "sum(i\($0) in 0..0) " }.joined() + "x[0]"
    case "index":
      return String(repeating: "x[", count: depth) + "0" + String(repeating: "]", count: depth)
    default: fatalError()
    }
  }

  /// Runs `body` on a thread with a 512 KiB stack (Swift's default for secondary threads).
  static func onSmallStack<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
    let box = StackBox<T>()
    let done = DispatchSemaphore(value: 0)
    let t = Thread {
      box.value = body()
      done.signal()
    }
    t.stackSize = 512 << 10
    t.start()
    done.wait()
    return box.value!
  }
}

final class StackBox<T>: @unchecked Sendable { var value: T? }

@Suite struct FrontEndLimitTests {
  func ids(_ c: Compilation) -> [String] { c.diagnostics.all.map(\.id) }

  @Test func flatChainOf100000TermsCompilesAndFormats() throws {
    let dir = Generated.folder(inputs: 2)
    let terms = (0..<100_000).map { "x[\($0 % 2)]" }
    let path = Generated.model(dir, "maximize " + terms.joined(separator: " + "))
    let c = Compiler.compile(path: path)
    #expect(c.diagnostics.all.isEmpty)
    let problem = try #require(c.problem)
    #expect(problem.objective.inputWeights == [50_000, 50_000])
    let syntax = try #require(c.syntax)
    let text = Formatter.format(syntax)
    #expect(text.hasSuffix(terms.joined(separator: " + ") + "\n"))
    // Subtraction, products and quotients in long chains too.
    let mixed = (0..<50_000).map { _ in "x[0] - x[1]" }.joined(separator: " + ")
    let products = Array(repeating: "1", count: 30_000).joined(separator: " * ") + " * x[1] / 2"
    let path2 = Generated.model(dir, "minimize " + mixed + " + " + products)
    let c2 = Compiler.compile(path: path2)
    let p2 = try #require(c2.problem)
    #expect(p2.objective.inputWeights == [50_000, -49_999.5])
    let again = Formatter.format(try #require(c2.syntax))
    #expect(Formatter.format(Parser.parse(SourceFile(path: "f", text: again)).0) == again)
  }

  @Test func sumsOfLongVectorsAreLinear() throws {
    // 100,000 inputs: sum(x), a slice and an indexed sum (quadratic before: 14 s each).
    let dir = Generated.folder(inputs: 100_000)
    let path = Generated.model(
      dir, "maximize sum(x) + sum(x[0..49999]) - sum(i in 0..99999) 2 * x[i] + y[0]")
    let c = Compiler.compile(path: path)
    let problem = try #require(c.problem)
    #expect(problem.objective.inputWeights[0] == 0)
    #expect(problem.objective.inputWeights[99_999] == -1)
    #expect(problem.objective.outputWeights == [1])
  }

  @Test(arguments: ["paren", "minus", "times", "sum", "index"])
  func deepNestingIsADiagnosticNotACrash(kind: String) throws {
    let dir = Generated.folder(inputs: 2)
    let path = Generated.model(dir, "maximize " + Generated.nested(kind, 30_000))
    let c = Generated.onSmallStack { Compiler.compile(path: path) }
    #expect(ids(c) == ["nesting-too-deep"])
    #expect(c.exitCode == .dataError)
    #expect(
      c.diagnostics.all[0].message.contains("more than \(FrontEndLimits.defaultMaxNesting) levels"))
  }

  @Test(arguments: ["paren", "minus", "times", "sum"])
  func nestingUpToTheLimitWorksOnASmallStack(kind: String) throws {
    let dir = Generated.folder(inputs: 2)
    // The innermost `x[0]` is one level, a sum two.
    let limit = FrontEndLimits.defaultMaxNesting
    let path = Generated.model(
      dir, "maximize " + Generated.nested(kind, kind == "sum" ? (limit - 1) / 2 : limit - 1))
    let (ok, canonical) = Generated.onSmallStack { () -> (Bool, Bool) in
      let c = Compiler.compile(path: path)
      guard let syntax = c.syntax, c.problem != nil else { return (false, false) }
      let text = Formatter.format(syntax)
      let again = Parser.parse(SourceFile(path: "f", text: text))
      // (The test's own deep comparison of the trees runs on a large stack.)
      let same = onLargeStack { again.0.statements == syntax.statements }
      return (true, again.1.all.isEmpty && Formatter.format(again.0) == text && same)
    }
    #expect(ok)
    #expect(canonical)
  }

  @Test func nestingLimitCanBeChanged() throws {
    let dir = Generated.folder(inputs: 2)
    let path = Generated.model(dir, "maximize " + Generated.nested("paren", 20))
    #expect(
      ids(Compiler.compile(path: path, limits: FrontEndLimits(maxNesting: 10))) == [
        "nesting-too-deep"
      ])
    #expect(Compiler.compile(path: path, limits: FrontEndLimits(maxNesting: 21)).problem != nil)
    let deep = Generated.model(dir, "maximize " + Generated.nested("paren", 300))
    #expect(ids(Compiler.compile(path: deep)) == ["nesting-too-deep"])
    #expect(Compiler.compile(path: deep, limits: FrontEndLimits(maxNesting: 301)).problem != nil)
    // After the error the parser resynchronises at the next statement.
    let two = Generated.model(
      dir, "maximize " + Generated.nested("minus", 3000) + "\nconstraint x[0] + ? <= 1")
    let c = Compiler.compile(path: two)
    #expect(ids(c) == ["unexpected-character", "nesting-too-deep"])
  }

  @Test func fiveNestedSumsHitTheTermLimitAtOnce() throws {
    let dir = Generated.folder(inputs: 2)
    let path = Generated.model(
      dir,
      "maximize sum(i in 0..99) sum(j in 0..99) sum(k in 0..99) sum(l in 0..99) sum(m in 0..99) x[0]"
    )
    let c = Compiler.compile(path: path)
    #expect(ids(c) == ["too-many-terms"])
    #expect(c.diagnostics.all[0].message.contains("10000000"))
    #expect(c.exitCode == .dataError)
    // A smaller limit applies to vectors too; a larger one lets a modest expansion through.
    let vec = Generated.model(dir, "maximize sum(i in 0..9) sum(x)")
    #expect(
      ids(Compiler.compile(path: vec, limits: FrontEndLimits(maxExpandedTerms: 15))) == [
        "too-many-terms"
      ])
    #expect(
      Compiler.compile(path: vec, limits: FrontEndLimits(maxExpandedTerms: 100)).problem != nil)
    // A huge range is the limit too, not "must be an integer".
    let huge = Generated.model(dir, "maximize sum(i in 0..99999999999999999999) x[0]")
    #expect(ids(Compiler.compile(path: huge)) == ["too-many-terms"])
  }

  @Test func quantifiersAreCappedBeforeGenerating() throws {
    let dir = Generated.folder(inputs: 2)
    let one = Generated.model(dir, "maximize y[0]\nconstraint c[i in 0..2999999]: x[0] + x[1] <= i")
    #expect(ids(Compiler.compile(path: one)) == ["too-many-constraints"])
    let two = Generated.model(
      dir, "maximize y[0]\nconstraint [i in 0..2999, j in 0..2999]: x[0] + x[1] <= i + j")
    #expect(ids(Compiler.compile(path: two)) == ["too-many-constraints"])
    // All statements count together.
    let many = Generated.model(
      dir,
      "maximize y[0]\n" + String(repeating: "constraint [i in 0..99]: x[0] + x[1] <= i\n", count: 5)
    )
    // (The bounds statement is one constraint.)
    #expect(
      ids(Compiler.compile(path: many, limits: FrontEndLimits(maxConstraints: 500))) == [
        "too-many-constraints"
      ])
    let p = try #require(
      Compiler.compile(path: many, limits: FrontEndLimits(maxConstraints: 501)).problem)
    #expect(p.polytope.rhs.count == 500)
    // Sums inside quantified constraints multiply.
    let inner = Generated.model(
      dir, "maximize y[0]\nconstraint [i in 0..999]: sum(j in 0..99999) x[0] <= i")
    #expect(ids(Compiler.compile(path: inner)) == ["too-many-terms"])
  }

  @Test func matrixEntriesAreCappedBeforeAllocating() throws {
    let dir = Generated.folder(inputs: 2)
    let path = Generated.model(dir, "maximize y[0]\nconstraint [i in 0..99]: x[0] + x[1] <= i")
    let c = Compiler.compile(path: path, limits: FrontEndLimits(maxMatrixEntries: 100))
    #expect(ids(c) == ["matrix-too-large"])
    #expect(c.diagnostics.all[0].message.contains("51 rows of 2 inputs"))
    // Bounds (single-input constraints) need no row.
    let bounds = Generated.model(dir, "maximize y[0]\nconstraint [i in 0..99]: x[0] <= i + 1")
    #expect(
      Compiler.compile(path: bounds, limits: FrontEndLimits(maxMatrixEntries: 1)).problem != nil)
  }

  @Test func keywordsNameTheNetworksVectors() throws {
    let dir = Generated.folder(inputs: 3, outputs: 2, input: "sum", output: "maximize")
    let path = Generated.model(
      dir,
      """
      constraint sum[0] + sum[1] <= 1.5
      constraint in_range: 0 <= sum[0..1] <= 1
      maximize maximize[0] + sum(sum) - sum(i in 0..1) maximize[i] + 2 * sum(maximize) + sum[0]
        - sum(sum[1..2])
      """, bounds: "sum")
    let c = Compiler.compile(path: path)
    #expect(c.diagnostics.all.isEmpty)
    let p = try #require(c.problem)
    #expect(p.objective.outputWeights == [2, 1])
    #expect(p.objective.inputWeights == [2, 0, 0])
    #expect(p.polytope.rhs == [1.5])
    let text = Formatter.format(try #require(c.syntax))
    #expect(
      text.contains(
        "maximize maximize[0] + sum(sum) - sum(i in 0..1) maximize[i] + 2 * sum(maximize) + sum[0] - sum(sum[1..2])"
      ))
    #expect(Formatter.format(Parser.parse(SourceFile(path: "f", text: text)).0) == text)
    for k in ["network", "minimize", "constraint", "option", "in"] {
      let d = Generated.folder(inputs: 1, input: k)
      let m = Generated.model(d, "maximize \(k)[0] + sum(\(k))", bounds: k)
      #expect(Compiler.compile(path: m).problem?.objective.inputWeights == [2], "\(k)")
    }
  }

  @Test func statementKeywordsStillEndAnExpression() {
    // A keyword followed by what starts its statement is a statement, as before.
    let (_, bag) = Parser.parse(
      SourceFile(
        path: "t", text: "maximize y[0] +\nconstraint x[0] <= 1\nminimize\noption seed = 1"))
    #expect(
      bag.all.map(\.message) == [
        "expected an expression, found 'constraint'", "expected an expression, found 'option'",
      ])
  }

  @Test func hugeIndicesAreOutOfRange() throws {
    let dir = Generated.folder(inputs: 2)
    for index in ["99999999999999999999", "-99999999999999999999", "1e300", "2"] {
      let c = Compiler.compile(path: Generated.model(dir, "maximize x[\(index)]"))
      #expect(ids(c) == ["index-out-of-range"], "\(index)")
      #expect(c.diagnostics.all.first?.message.contains("out of range for 'x' of size 2") == true)
    }
    let slice = Compiler.compile(path: Generated.model(dir, "maximize sum(x[0..1e30])"))
    #expect(ids(slice) == ["index-out-of-range"])
    #expect(ids(Compiler.compile(path: Generated.model(dir, "maximize x[0.5]"))) == ["not-integer"])
  }
}

@Suite(.serialized) struct FrontEndLimitExecutableTests {
  let binary = Fixtures.repository + "/.build/debug/reluc"

  func run(_ args: [String], interruptAfter: Double? = nil) throws -> (Int32, String, String) {
    try Executable.run(args, interruptAfter: interruptAfter)
  }

  @Test func longChainsValidateSolveAndFormat() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = Generated.folder(inputs: 2)
    let path = Generated.model(
      dir, "maximize " + (0..<100_000).map { "x[\($0 % 2)]" }.joined(separator: " + ") + " + y[0]")
    #expect(try run(["--validate", path]).0 == 0)
    let (code, out, _) = try run(["fmt", "--stdout", path])
    #expect(code == 0)
    #expect(out.count > 100_000 * 7)
    let (solved, result, err) = try run([path, "--time-limit", "10", "-q"])
    #expect(solved == 0, "\(err)")
    #expect(result.contains("objective"))
  }

  @Test(arguments: ["paren", "minus", "times"])
  func deepNestingExits65WithADiagnostic(kind: String) throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = Generated.folder(inputs: 2)
    let path = Generated.model(dir, "maximize " + Generated.nested(kind, 30_000))
    for args in [
      ["--validate", path], ["fmt", "--stdout", path], [path, "--time-limit", "5", "-q"],
    ] {
      let (code, _, err) = try run(args)
      #expect(code == 65, "\(args)")
      #expect(err.contains("nests more than \(FrontEndLimits.defaultMaxNesting) levels"))
      #expect(!err.contains("Backtrace") && !err.contains("Fatal"))
    }
  }

  @Test func expansionLimitsExitFast() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = Generated.folder(inputs: 2)
    let sums = Generated.model(
      dir,
      "maximize sum(i in 0..99) sum(j in 0..99) sum(k in 0..99) sum(l in 0..99) sum(m in 0..99) x[0]"
    )
    let (c1, _, e1) = try run(["--validate", sums])
    #expect(c1 == 65)
    #expect(e1.contains("too-many-terms") || e1.contains("more than 10000000 terms"))
    let rows = Generated.model(
      dir, "maximize y[0]\nconstraint c[i in 0..2999999]: x[0] + x[1] <= i")
    let (c2, _, e2) = try run([rows, "--time-limit", "5", "-q"])
    #expect(c2 == 65)
    #expect(e2.contains("more than 1000000 constraints"))
  }

  @Test func keywordNamedVectorsSolve() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = Generated.folder(inputs: 2, outputs: 1, input: "sum", output: "maximize")
    let path = Generated.model(dir, "maximize maximize[0] - sum(sum)", bounds: "sum")
    let (code, out, err) = try run([path, "--time-limit", "10", "-q"])
    #expect(code == 0, "\(err)")
    #expect(out.contains("sum[0]"))
  }

  @Test func interruptStopsALongExpansion() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = Generated.folder(inputs: 2)
    // Under every limit, but long in a debug build.
    let path = Generated.model(
      dir, "maximize y[0]\nconstraint [i in 0..999999]: sum(j in 0..8) x[0] + x[1] <= i")
    let (code, _, err) = try run(["--validate", path], interruptAfter: 1)
    #expect(code == 130, "\(err)")
    #expect(err.contains("interrupted"))
  }
}
