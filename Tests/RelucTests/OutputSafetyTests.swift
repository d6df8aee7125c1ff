import Foundation
import Reluc
import RelucBase
import RelucIR
import RelucXML
import Testing

/// Diagnostics never print raw control or invisible characters; the progress line's text; NNet
/// bounds kept as given.
@Suite struct OutputSafetyTests {
  @Test func controlCharactersAreEscaped() {
    #expect(DisplayText.sanitize("a\u{1B}]0;x\u{07}b") == "a\\u{1B}]0;x\\u{7}b")
    #expect(DisplayText.sanitize("\u{0}\u{7F}\u{85}\u{9B}") == "\\u{0}\\u{7F}\\u{85}\\u{9B}")
    #expect(DisplayText.sanitize("\n\r") == "\\u{A}\\u{D}")
    // Tabs and visible text, ASCII or not, are kept.
    #expect(DisplayText.sanitize("a\tb é 中 ≤") == "a\tb é 中 ≤")
  }

  @Test func invisibleCharactersAreNamedByCodePoint() {
    #expect(DisplayText.sanitize("x\u{200B}y") == "x<U+200B>y")
    #expect(DisplayText.sanitize("\u{202E}abc\u{202C}") == "<U+202E>abc<U+202C>")
    #expect(
      DisplayText.sanitize("\u{2066}\u{2069}\u{FEFF}\u{AD}") == "<U+2066><U+2069><U+FEFF><U+00AD>")
    #expect(DisplayText.sanitize("\u{E0041}") == "<U+E0041>")
  }

  /// The caret stays under the character it points at when escapes before it are wider.
  @Test func caretLinesUpAfterEscapes() {
    let (text, marker) = DisplayText.excerpt("a\u{1B}b\u{200B}c", column: 5, width: 1)
    #expect(text == "a\\u{1B}b<U+200B>c")
    #expect(marker.prefix == String(repeating: " ", count: 1 + 6 + 1 + 8))
    #expect(marker.length == 1)
    // A range over an escaped character is as wide as its escape.
    let (_, over) = DisplayText.excerpt("a\u{1B}b", column: 2, width: 1)
    #expect(over.prefix == " " && over.length == 6)
    // Tabs before the caret are kept.
    let (_, tabbed) = DisplayText.excerpt("\tx", column: 2, width: 1)
    #expect(tabbed.prefix == "\t")
  }

  /// A long line (a binary file's) is clipped around the caret.
  @Test func longLinesAreClipped() {
    let zeros = String(repeating: "\u{0}", count: 400)
    let (text, marker) = DisplayText.excerpt(zeros, column: 1, width: 1)
    #expect(text.count <= DisplayText.excerptWidth + 3)
    #expect(text.hasSuffix("..."))
    #expect(marker.prefix.isEmpty && marker.length == 5)
    let long = String(repeating: "x", count: 1000)
    let (far, farMarker) = DisplayText.excerpt(long, column: 900, width: 3)
    #expect(far.hasPrefix("...") && far.hasSuffix("..."))
    #expect(far.count <= DisplayText.excerptWidth + 6)
    // The caret sits under the same (900th) character: prefix and text agree on its column.
    #expect(farMarker.prefix.count == 3 + 900 - 1 - (900 - 1 - DisplayText.excerptWidth / 2))
    #expect(farMarker.length == 3)
  }

  /// Text and JSON diagnostics carry the same escaped message, and no raw control byte.
  @Test func renderedDiagnosticsHaveNoRawControlBytes() throws {
    let c = Compiler.compile(path: Fixtures.path("broken/control_characters.rmod"))
    let r = DiagnosticRenderer(sources: c.sources)
    let text = r.render(c.diagnostics)
    let json = JSON.array(c.diagnostics.all.map(r.json)).rendered()
    for s in [text, json] {
      #expect(!s.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" })
      #expect(!s.unicodeScalars.contains { DisplayText.isInvisible($0.value) })
    }
    let parsed = try #require(
      try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
    let messages = parsed.compactMap { $0["message"] as? String }
    #expect(messages.contains("unexpected character '\\u{1B}'"))
    #expect(messages.contains("unexpected character '<U+202E>'"))
    for m in messages { #expect(text.contains(": error: \(m)\n")) }
  }

  @Test func progressLineIsShortAndClipped() {
    #expect(RunSignals.significant(1.0 / 3) == "0.33333333")
    #expect(RunSignals.significant(123456789.123) == "1.2345679e+08")
    #expect(RunSignals.significant(2) == "2")
    let line = RunSignals.progressText(
      method: "ppga_lr", tenths: 1234, best: 1.0 / 3, bound: 2.0 / 3, width: 200)
    #expect(line == "ppga_lr 123.4s best 0.33333333 bound 0.66666667 gap 1")
    let search = RunSignals.progressText(
      method: "milp", tenths: 15, best: .nan, bound: 2, nodes: 42, width: 200)
    #expect(search == "milp 1.5s best none bound 2 nodes 42")
    let clipped = RunSignals.progressText(
      method: "ppga_lr", tenths: 1234, best: 1.0 / 3, bound: 2.0 / 3, width: 20)
    #expect(clipped == "ppga_lr 123.4s best")
    #expect(RunSignals.terminalWidth() >= 1)
  }

  /// NNet input bounds of +-100000 are bounds like any other (the format has no "no bound"
  /// value): kept by the importer and by the XML round trip.
  @Test func nnetBoundsOf100000AreKept() throws {
    let text = Fixtures.read(Fixtures.path("import/fc_2-2-3.nnet"))
    let net = try NNetImporter.parse(text, name: "fc")
    #expect(net.inputLower == [-100000, -100000])
    #expect(net.inputUpper == [100000, 100000])
    guard
      case .success(let back) = NetworkReader().parse(
        Array(NetworkWriter.xml(net).utf8), path: "fc.xml")
    else {
      Issue.record("the written XML does not read")
      return
    }
    #expect(back.inputLower == [-100000, -100000])
    #expect(back.inputUpper == [100000, 100000])
  }
}

/// The executable: checked writes, no overwriting of inputs, negative numbers as option values,
/// one JSON array from validate, the import hint, escaped diagnostics.
@Suite(.serialized) struct ExecutableOutputTests {
  let binary = Fixtures.repository + "/.build/debug/reluc"
  let peaks = Fixtures.repository + "/samples/peaks.rmod"

  /// Runs the executable through the shell, so standard output can be redirected (`redirect`,
  /// e.g. `> /dev/full`).
  func run(_ args: [String], redirect: String = "", in dir: String? = nil) throws -> (
    Int32, String, String
  ) {
    let quoted = ([binary] + args).map {
      "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
    return try Executable.run(
      ["-c", "exec " + quoted.joined(separator: " ") + " " + redirect], program: "/bin/sh",
      directory: dir)
  }

  /// A temporary folder with a copy of the peaks sample (model and network).
  func scratch() throws -> String {
    let dir = NSTemporaryDirectory() + "reluc-output-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in ["peaks.rmod", "peaks.xml"] {
      try FileManager.default.copyItem(
        atPath: Fixtures.repository + "/samples/" + f, toPath: dir + "/" + f)
    }
    return dir
  }

  @Test func fullDiskExits74() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    try #require(FileManager.default.fileExists(atPath: "/dev/full"))
    let nnet = Fixtures.path("import/fc_2-2-3.nnet")
    let cases: [([String], String, String)] = [
      ([peaks, "-q", "-o", "/dev/full"], "", "cannot write '/dev/full'"),
      ([peaks, "-q"], "> /dev/full", "cannot write 'standard output'"),
      ([peaks, "-q", "--json"], "> /dev/full", "cannot write 'standard output'"),
      (["import", nnet], "> /dev/full", "cannot write 'standard output'"),
      (["import", nnet, "-o", "/dev/full"], "", "cannot write '/dev/full'"),
      (["fmt", "--stdout", peaks], "> /dev/full", "cannot write 'standard output'"),
      (["eval", peaks, "--input", "0.1,1.5"], "> /dev/full", "cannot write 'standard output'"),
      (
        ["eval", peaks, "--input", "0.1,1.5", "--json"], "> /dev/full",
        "cannot write 'standard output'"
      ),
    ]
    for (args, redirect, message) in cases {
      let (code, _, err) = try run(args, redirect: redirect)
      #expect(code == 74, "\(args) \(redirect): \(err)")
      #expect(err.contains("error: \(message): No space left on device"), "\(args): \(err)")
    }
    // export: HiGHS writes a temporary file, copied with checked writes.
    let (exportCode, _, exportErr) = try run([
      "export", peaks, "--mps", "/nonexistent-folder/m.mps",
    ])
    #expect(exportCode == 74, "\(exportErr)")
    #expect(exportErr.contains("cannot write '/nonexistent-folder/m.mps'"))
    let (code, _, err) = try run([peaks, "-q", "-o", "/dev/full", "--diagnostics-format", "json"])
    #expect(code == 74)
    #expect(err.contains("\"id\": \"cannot-write\""))
  }

  @Test func writingOverAnInputIsRefused() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let model = try Data(contentsOf: URL(fileURLWithPath: dir + "/peaks.rmod"))
    let network = try Data(contentsOf: URL(fileURLWithPath: dir + "/peaks.xml"))
    func unchanged() throws {
      #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/peaks.rmod")) == model)
      #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/peaks.xml")) == network)
    }
    // solve: the model and its network (also by another spelling of the path).
    for target in ["peaks.rmod", "peaks.xml", "./peaks.xml", dir + "/peaks.rmod"] {
      let (code, out, err) = try run(["peaks.rmod", "--json", "-q", "-o", target], in: dir)
      #expect(code == 64, "\(target): \(err)")
      #expect(out.isEmpty)
      #expect(err.contains("refusing to write over the input file"))
      try unchanged()
    }
    // export: onto the model (named .mps) and onto the network (named .mps).
    try FileManager.default.copyItem(atPath: dir + "/peaks.rmod", toPath: dir + "/m.mps")
    try FileManager.default.copyItem(atPath: dir + "/peaks.xml", toPath: dir + "/net.mps")
    try "network \"net.mps\"\nmaximize y[0]\n".write(
      toFile: dir + "/n.rmod", atomically: true, encoding: .utf8)
    for (modelFile, target) in [("m.mps", "m.mps"), ("n.rmod", "net.mps")] {
      let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + target))
      let (code, _, err) = try run(["export", modelFile, "--mps", target], in: dir)
      #expect(code == 64, "\(err)")
      #expect(err.contains("refusing to write over the input file"))
      #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + target)) == before)
    }
    // import: onto the file being imported.
    try FileManager.default.copyItem(
      atPath: Fixtures.path("import/fc_2-2-3.nnet"), toPath: dir + "/fc.nnet")
    let nnet = try Data(contentsOf: URL(fileURLWithPath: dir + "/fc.nnet"))
    let (code, _, err) = try run(["import", "fc.nnet", "-o", "fc.nnet"], in: dir)
    #expect(code == 64, "\(err)")
    #expect(err.contains("refusing to write over the input file 'fc.nnet'"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/fc.nnet")) == nnet)
    // A new output file is written.
    let (ok, _, okErr) = try run(["peaks.rmod", "--json", "-q", "-o", "sol.json"], in: dir)
    #expect(ok == 0, "\(okErr)")
    #expect(FileManager.default.fileExists(atPath: dir + "/sol.json"))
  }

  @Test func negativeNumbersAreOptionValues() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let (code, out, err) = try run(["eval", peaks, "--input", "-0.5,1"])
    #expect(code == 0, "\(err)")
    #expect(out.contains("y[0] = "))
    let (startCode, _, startErr) = try run([
      peaks, "--method", "ppga", "--start", "-0.5,1", "-q", "--time-limit", "5", "-O", "starts=16",
    ])
    #expect(startCode == 0, "\(startErr)")
    let refused: [([String], String)] = [
      (["--time-limit", "-1"], "invalid value -1 for option 'time_limit'"),
      (["--seed", "-5"], "invalid value -5 for option 'seed'"),
      (["--max-network-bytes", "-1"], "--max-network-bytes must be positive"),
      (["--max-network-bytes", "0"], "--max-network-bytes must be positive"),
    ]
    for (flags, message) in refused {
      let (code, out, err) = try run([peaks, "-q"] + flags)
      #expect(code == 64, "\(flags): \(err)")
      #expect(out.isEmpty)
      #expect(err.contains(message), "\(flags): \(err)")
    }
    let (validateCode, _, validateErr) = try run(["validate", peaks, "--max-network-bytes", "-1"])
    #expect(validateCode == 64)
    #expect(validateErr.contains("--max-network-bytes must be positive"))
  }

  @Test func validateJSONIsOneArray() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let broken = Fixtures.path("broken/unknown_name.rmod")
    let (code, _, err) = try run([
      "validate", "--json", broken, peaks, Fixtures.path("broken/onnx_network.rmod"),
    ])
    #expect(code == 65)
    let parsed = try #require(
      try JSONSerialization.jsonObject(with: Data(err.utf8)) as? [[String: Any]])
    #expect(parsed.count >= 2)
    #expect(parsed.contains { $0["id"] as? String == "unknown-name" })
    #expect(parsed.contains { $0["id"] as? String == "xml-malformed" })
    // A missing file wins the exit code; all valid: an empty array.
    #expect(try run(["validate", "--json", broken, "/nonexistent.rmod"]).0 == 66)
    let (okCode, _, okErr) = try run(["validate", "--json", peaks, peaks])
    #expect(okCode == 0)
    #expect(okErr == "[]\n")
  }

  @Test func anONNXNetworkGetsTheImportHint() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // By the name, and by the bytes (an ONNX file named .xml).
    try FileManager.default.copyItem(
      atPath: Fixtures.path("import/fc_2-2-3.onnx"), toPath: dir + "/fc.onnx")
    try FileManager.default.copyItem(
      atPath: Fixtures.path("import/fc_2-2-3.onnx"), toPath: dir + "/fc.bin")
    try FileManager.default.copyItem(
      atPath: Fixtures.path("import/fc_2-2-3.nnet"), toPath: dir + "/fc.txt")
    let cases = [
      ("fc.onnx", "reluc import fc.onnx -o fc.xml"),
      ("fc.bin", "reluc import --format onnx fc.bin -o fc.xml"),
      ("fc.txt", "reluc import --format nnet fc.txt -o fc.xml"),
    ]
    for (file, command) in cases {
      try "network \"\(file)\"\nmaximize y[0]\n".write(
        toFile: dir + "/m.rmod", atomically: true, encoding: .utf8)
      let (code, _, err) = try run(["validate", "m.rmod"], in: dir)
      #expect(code == 65)
      #expect(
        err.contains("help: this is an") && err.contains("convert it first: \(command)"), "\(err)")
    }
    // The hint's command works, and the model then validates.
    let (importCode, _, importErr) = try run(["import", "fc.onnx", "-o", "fc.xml"], in: dir)
    #expect(importCode == 0, "\(importErr)")
    try "network \"fc.xml\"\nmaximize y[0]\nconstraint -1 <= x <= 1\n".write(
      toFile: dir + "/m.rmod", atomically: true, encoding: .utf8)
    let (validCode, _, validErr) = try run(["validate", "m.rmod"], in: dir)
    #expect(validCode == 0, "\(validErr)")
  }

  @Test func diagnosticsPrintNoRawControlBytes() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    for (name, flags) in [
      ("control_characters", [String]()), ("control_in_path", []), ("binary_network", []),
      ("control_characters", ["--diagnostics-format", "json"]),
    ] {
      let (code, _, err) = try run(["validate", Fixtures.path("broken/\(name).rmod")] + flags)
      #expect(code == 65 || code == 66)
      #expect(!err.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(name)")
      #expect(!err.unicodeScalars.contains { DisplayText.isInvisible($0.value) }, "\(name)")
      #expect(err.contains("\\u{"), "\(name)")
    }
    // 4096 NUL bytes give one clipped excerpt line.
    let (_, _, err) = try run(["validate", Fixtures.path("broken/binary_network.rmod")])
    #expect(err.utf8.count < 1000)
  }

  /// NNet bounds of +-100000 survive `reluc import`.
  @Test func importKeepsNNetBoundsOf100000() throws {
    try #require(FileManager.default.fileExists(atPath: binary), "build the executable first")
    let (code, out, err) = try run(["import", Fixtures.path("import/fc_2-2-3.nnet")])
    #expect(code == 0, "\(err)")
    guard case .success(let net) = NetworkReader().parse(Array(out.utf8), path: "fc.xml") else {
      Issue.record("the written XML does not read")
      return
    }
    #expect(net.inputLower == [-100000, -100000])
    #expect(net.inputUpper == [100000, 100000])
  }
}
