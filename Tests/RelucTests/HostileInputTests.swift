import Foundation
import Reluc
import RelucBase
import RelucIR
import RelucXML
import Testing

@Suite struct HostileInputTests {
  func tempDir() throws -> String {
    let dir = NSTemporaryDirectory() + "reluc-hostile-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  /// A 2 GB (sparse) file is rejected from its size, without being read.
  @Test func hugeFileIsRejectedWithoutReadingIt() throws {
    let path = try tempDir() + "/huge.xml"
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try h.truncate(atOffset: 2 << 30)
    try h.close()
    let t0 = Date()
    let r = NetworkReader().read(path: path)
    guard case .failure(let bag) = r else {
      Issue.record("a 2 GB file was accepted")
      return
    }
    #expect(bag.all.first?.id == "network-too-large")
    #expect(Date().timeIntervalSince(t0) < 1)
    try FileManager.default.removeItem(atPath: path)
  }

  @Test func sizeLimitCountsBytesAsTheyAreRead() throws {
    let r = NetworkReader(maxBytes: 100).read(path: Fixtures.path("nets/tiny.xml"))
    guard case .failure(let bag) = r else {
      Issue.record("limit not applied")
      return
    }
    #expect(bag.all.first?.id == "network-too-large")
  }

  @Test func aNetworkWithNoHiddenLayerIsFine() throws {
    let dir = try tempDir()
    try """
    <network><input name="x" size="2"/><output name="y" size="1"/>
    <layer inputs="2" outputs="1" activation="linear"><row>1 -2</row><bias>0.5</bias></layer></network>
    """.write(toFile: dir + "/lin.xml", atomically: true, encoding: .utf8)
    try "network \"lin.xml\"\nmaximize y[0]\nconstraint 0 <= x <= 1\n".write(
      toFile: dir + "/m.rmod", atomically: true, encoding: .utf8)
    for method in ["milp", "ppga_lr", "gradient_walk"] {
      let p = try #require(
        Fixtures.problem(
          dir + "/m.rmod", overrides: [("method", .identifier(method)), ("starts", .number(16))]))
      let r = Solver.solve(p, SolveContext(timeLimit: 5))
      #expect(close(try #require(r.objective), 1.5, abs: 1e-9, rel: 0), "\(method)")
    }
  }

  @Test func aSinglePointPolytopeIsSolved() throws {
    let p = try #require(
      Fixtures.problem(Fixtures.path("opt/max_2_8_1.rmod")).map { p -> Problem in
        var q = p
        q.polytope.lower = [0.25, -0.5]
        q.polytope.upper = [0.25, -0.5]
        return q
      })
    for method in [Method.milp, .ppga_lr, .ppga] {
      var q = p
      q.options.method = method
      q.options.starts = 16
      let r = Solver.solve(q, SolveContext(timeLimit: 5))
      #expect(r.point == [0.25, -0.5], "\(method)")
    }
  }

  /// Weights of 1e12: a warning, and the MILP (LP-tightened bounds by default) still agrees with
  /// the exact value, which is known here: y = 1e12 relu(x0 - x1) - 1e12 relu(x0 - x1 - 1e-6)
  /// saturates at 1e6 on [0, 1]^2.
  @Test func hugeWeightsWarnAndStayCorrect() throws {
    let dir = try tempDir()
    try """
    <network><input name="x" size="2"/><output name="y" size="1"/>
    <layer inputs="2" outputs="2"><row>1e12 -1e12</row><row>1e12 -1e12</row><bias>0 -1e6</bias></layer>
    <layer inputs="2" outputs="1" activation="linear"><row>1 -1</row></layer></network>
    """.write(toFile: dir + "/big.xml", atomically: true, encoding: .utf8)
    try "network \"big.xml\"\nmaximize y[0]\nconstraint 0 <= x <= 1\noption method = milp\n".write(
      toFile: dir + "/m.rmod", atomically: true, encoding: .utf8)
    let c = Compiler.compile(path: dir + "/m.rmod")
    #expect(c.diagnostics.all.contains { $0.id == "huge-weight" && $0.severity == .warning })
    let p = try #require(c.problem)
    let r = Solver.solve(p, SolveContext(timeLimit: 20))
    #expect(r.status == .optimal)
    #expect(close(try #require(r.objective), 1e6, abs: 1e-3, rel: 1e-9))
  }

  @Test func wideInputDimension() throws {
    let dir = try tempDir()
    let n = 10_000
    let row = (0..<n).map { $0 % 2 == 0 ? "1" : "-1" }.joined(separator: " ")
    try
      "<network><input name=\"x\" size=\"\(n)\"/><output name=\"y\" size=\"1\"/><layer inputs=\"\(n)\" outputs=\"1\" activation=\"linear\"><row>\(row)</row></layer></network>"
      .write(toFile: dir + "/w.xml", atomically: true, encoding: .utf8)
    try
      "network \"w.xml\"\nmaximize y[0]\nconstraint 0 <= x <= 1\noption method = ppga_lr\noption starts = 2\n"
      .write(
        toFile: dir + "/m.rmod", atomically: true, encoding: .utf8)
    let p = try #require(Fixtures.problem(dir + "/m.rmod"))
    let r = Solver.solve(p, SolveContext(timeLimit: 10))
    #expect(close(try #require(r.objective), Double(n / 2), abs: 1e-6, rel: 0))
  }
}

/// The executable: exit codes and SIGINT.
@Suite(.serialized) struct ExecutableTests {
  let binary = Fixtures.repository + "/.build/debug/reluc"

  func run(_ args: [String], interruptAfter: Double? = nil, signal: Int32 = SIGINT) throws -> (
    Int32, String, String
  ) {
    try Executable.run(args, interruptAfter: interruptAfter, signal: signal)
  }

  @Test func exitCodes() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    #expect(try run(["--validate", Fixtures.repository + "/samples/peaks.rmod"]).0 == 0)
    #expect(try run(["--validate", Fixtures.path("broken/unknown_name.rmod")]).0 == 65)
    #expect(try run(["--validate", Fixtures.path("broken/missing_network_file.rmod")]).0 == 66)
    #expect(try run(["--validate", "/nonexistent.rmod"]).0 == 66)
    #expect(
      try run(["--validate", Fixtures.repository + "/samples/peaks.rmod", "-O", "sed=1"]).0 == 64)
    #expect(try run(["--bogus-flag"]).0 == 64)
    let (code, out, _) = try run([
      "eval", Fixtures.repository + "/samples/peaks.rmod", "--input", "0.1,1.5", "--json",
    ])
    #expect(code == 0)
    #expect(out.contains("\"objective\""))
  }

  /// `threads` for HiGHS: its process-wide thread pool already exists when the MILP starts (the
  /// bound LPs ran first) and is rebuilt (in its own process: not safe beside concurrent tests).
  @Test func milpWithTwoHighsThreads() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let name = "min_3_6_6_1.rmod"
    let expected = try #require(OptFixtures.expectedOptimum(name))
    let (code, out, err) = try run([
      Fixtures.path("opt/" + name), "--method", "milp", "-O", "threads=2", "--json",
    ])
    #expect(code == 0, "\(err)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    #expect(json["status"] as? String == "optimal")
    #expect(close(try #require(json["objective"] as? Double), expected, abs: 1e-6, rel: 0))
  }

  @Test func sigintPrintsTheBestPointAndExits130() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let (code, out, _) = try run(
      [
        Fixtures.repository + "/samples/random.rmod", "--method", "ppga", "--time-limit", "60",
        "-O", "starts=1000000", "--json", "-q",
      ],
      interruptAfter: 1.5)
    #expect(code == 130)
    #expect(out.contains("\"status\": \"interrupted\""))
    #expect(out.contains("\"objective\": "))
  }

  /// With -v, the search's log (ours with `cuts = all`, HiGHS's otherwise) goes to standard
  /// error: standard output stays one JSON document.
  @Test(arguments: [("all", "tree: done"), ("root", "MIP")])
  func verboseLogLeavesTheJSONOutputIntact(_ cuts: String, _ logged: String) throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let (code, out, err) = try run(
      [
        Fixtures.repository + "/samples/peaks.rmod", "--method", "milp", "--json", "-v", "-O",
        "cuts=\(cuts)",
      ])
    #expect(code == 0)
    let object = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
    #expect(object?["status"] as? String == "optimal")
    #expect(err.contains(logged))
  }

  /// A fault while solving (here a SIGSEGV sent to the MILP's process) ends the process at once
  /// with one line and exit code 70: no hang in the runtime's backtracer.
  @Test func aFatalSignalWhileSolvingExits70() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let (code, _, err) = try run(
      [
        Fixtures.repository + "/samples/random.rmod", "--method", "milp", "--time-limit", "60",
        "-q",
      ],
      interruptAfter: 1.5, signal: SIGSEGV)
    #expect(code == 70)
    #expect(err.contains("reluc: internal error: fatal signal while solving"))
  }
}
