// reluc-fuzz: a deterministic mutation fuzzer for the model front end (lexer, parser, lowering,
// formatter) and the XML network reader, kept beside the coverage-guided libFuzzer targets
// (fuzz/README.md, `make fuzz`): it needs no sanitizer build. It mutates a seed corpus itself (bit
// flips, byte insertions and deletions, token splices, truncation) with a fixed seed. Before each
// input it writes the input to fuzz/out/current.*; if reluc traps, that file is the reproducer
// (turn it into a test). `make fuzz-mutate FUZZ_SECONDS=60`.
//
//   reluc-fuzz SECONDS [SEED] [both|model|xml]   (corpus: samples/, Tests/RelucTests/Fixtures/)
import Reluc
import RelucBase
import RelucIR
import RelucXML

#if canImport(Glibc)
  import Glibc
#endif

let args = CommandLine.arguments
let seconds = Double(args.count > 1 ? args[1] : "20") ?? 20
var rng = Xoshiro256(seed: UInt64(args.count > 2 ? args[2] : "1") ?? 1)
let target = args.count > 3 ? args[3] : "both"
guard ["both", "model", "xml"].contains(target) else {
  print("reluc-fuzz: the target is both, model or xml")
  exit(64)
}
let out = "fuzz/out/" + target
mkdir("fuzz/out", 0o755)
mkdir(out, 0o755)

func listFiles(_ dir: String, _ ext: String) -> [String] {
  guard let d = opendir(dir) else { return [] }
  defer { closedir(d) }
  var files: [String] = []
  while let e = readdir(d) {
    let name = withUnsafeBytes(of: e.pointee.d_name) {
      String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
    }
    if name.hasSuffix(ext) { files.append(dir + "/" + name) }
  }
  return files.sorted()
}

let modelSeeds =
  (listFiles("samples", ".rmod") + listFiles("Tests/RelucTests/Fixtures/broken", ".rmod")
  + listFiles("Tests/RelucTests/Fixtures/opt", ".rmod")).compactMap { readFile($0) }
let xmlSeeds =
  (listFiles("Tests/RelucTests/Fixtures/nets", ".xml")
  + listFiles("Tests/RelucTests/Fixtures/opt", ".xml"))
  .compactMap { readFile($0) }
guard !modelSeeds.isEmpty, !xmlSeeds.isEmpty else {
  print("reluc-fuzz: run from the repository root (no seed corpus found)")
  exit(64)
}
let dictionary = [
  "network", "maximize", "minimize", "constraint", "option", "sum", "in", "..", "<=", ">=",
  "==", "[", "]", "(", ")", ":", "x", "y", "1e308", "-0", ".5", "\"", "#", "\n", "é", "\u{0}",
  "<row>", "</row>",
  "<layer inputs=\"2\" outputs=\"2\">", "&amp;", "<!DOCTYPE a>", "nan", "inf", "99999999999",
].map { Array($0.utf8) }

@MainActor func mutate(_ input: [UInt8]) -> [UInt8] {
  var b = input
  for _ in 0..<(1 + Int(rng.next() % 4)) {
    let pos = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
    switch rng.next() % 6 {
    case 0 where !b.isEmpty: b[pos] ^= UInt8(1 << (rng.next() % 8))
    case 1: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
    case 2 where !b.isEmpty: b.remove(at: pos)
    case 3: b.insert(contentsOf: dictionary[Int(rng.next() % UInt64(dictionary.count))], at: pos)
    case 4 where b.count > 1:
      let len = Int(rng.next() % UInt64(min(64, b.count)))
      let from = Int(rng.next() % UInt64(b.count - len + 1))
      b.insert(contentsOf: b[from..<(from + len)], at: pos)
    default: b = Array(b.prefix(pos))
    }
  }
  return b
}

func write(_ path: String, _ bytes: [UInt8]) {
  guard let f = fopen(path, "wb") else { return }
  _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
  fclose(f)
}

// Models refer to a network next to them: keep a valid one there.
write(out + "/tiny.xml", readFile("Tests/RelucTests/Fixtures/nets/tiny.xml") ?? [])
let start = monotonicSeconds()
var runs = 0
while monotonicSeconds() - start < seconds {
  runs += 1
  if target == "model" || (target == "both" && runs % 2 == 0) {
    var m = mutate(modelSeeds[Int(rng.next() % UInt64(modelSeeds.count))])
    // Point every seed at the valid network most of the time, so lowering is reached.
    if rng.next() % 4 != 0 { m = Array("network \"tiny.xml\"\n".utf8) + m }
    write(out + "/current.rmod", m)
    let c = Compiler.compile(path: out + "/current.rmod")
    if let s = c.syntax, !c.diagnostics.hasErrors {
      let text = Formatter.format(s)
      let (again, bag) = Parser.parse(SourceFile(path: "fmt", text: text))
      if bag.hasErrors || Formatter.format(again) != text {
        print("reluc-fuzz: fmt is not idempotent on fuzz/out/current.rmod")
        exit(1)
      }
    }
    _ = DiagnosticRenderer(sources: c.sources).render(c.diagnostics)
  } else {
    let x = mutate(xmlSeeds[Int(rng.next() % UInt64(xmlSeeds.count))])
    write(out + "/current.xml", x)
    _ = NetworkReader(maxBytes: 1 << 20).read(path: out + "/current.xml")
  }
}
print("reluc-fuzz: \(runs) \(target) inputs in \(Int(seconds)) s, no crash")
