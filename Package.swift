// swift-tools-version: 6.0
import PackageDescription

// The numeric kernels are compiled for x86-64-v3 (AVX2, FMA) when building on x86-64, which
// this project's machines have; RELUC_PORTABLE=1 builds for the baseline instead.
#if arch(x86_64)
  let portable = Context.environment["RELUC_PORTABLE"] == "1"
#else
  let portable = true
#endif
let kernelFlags: [SwiftSetting] = [
  .unsafeFlags(["-enforce-exclusivity=unchecked"] + (portable ? [] : ["-Xcc", "-march=x86-64-v3"]))
]

let package = Package(
  name: "reluc",
  products: [
    .executable(name: "reluc", targets: ["reluc"]),
    .library(name: "Reluc", targets: ["Reluc"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // C libraries, each imported by exactly one Swift module.
    .systemLibrary(
      name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0",
      providers: [.apt(["libxml2-dev"])]),
    .systemLibrary(
      name: "CHiGHS", path: "Sources/CHiGHS", pkgConfig: "highs",
      providers: [.apt(["pkg-config"])]),
    .systemLibrary(
      name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    // Pure Swift: diagnostics, source files, hashing, random numbers.
    .target(name: "RelucBase", path: "Sources/RelucBase"),
    // The intermediate representation: network, polytope, objective, options, problem.
    .target(name: "RelucIR", dependencies: ["RelucBase"], path: "Sources/RelucIR"),
    // The XML network reader (the only importer of libxml2).
    .target(
      name: "RelucXML", dependencies: ["RelucBase", "RelucIR", "CLibXML2"], path: "Sources/RelucXML"
    ),
    // The HiGHS wrapper (the only importer of HiGHS).
    .target(name: "RelucHiGHS", dependencies: ["CHiGHS"], path: "Sources/RelucHiGHS"),
    // The matrix-matrix product of batched multistart (the only importer of OpenBLAS).
    .target(name: "RelucBLAS", dependencies: ["COpenBLAS"], path: "Sources/RelucBLAS"),
    // Everything else: language, lowering, bounds, back ends, report, driver.
    .target(
      name: "Reluc", dependencies: ["RelucBase", "RelucIR", "RelucXML", "RelucHiGHS", "RelucBLAS"],
      path: "Sources/Reluc",
      swiftSettings: kernelFlags),
    .executableTarget(
      name: "reluc",
      dependencies: ["Reluc", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      path: "Sources/reluc"),
    .executableTarget(
      name: "reluc-bench", dependencies: ["Reluc", "RelucBLAS"], path: "bench/Sources/reluc-bench"),
    .executableTarget(name: "reluc-fuzz", dependencies: ["Reluc"], path: "fuzz/Sources/reluc-fuzz"),
    .testTarget(
      name: "RelucTests", dependencies: ["Reluc"], path: "Tests/RelucTests", exclude: ["Fixtures"]),
  ]
)

// The libFuzzer targets (fuzz/README.md), one per input kind, declared only when RELUC_FUZZ=1: they
// link libFuzzer (fuzzer_no_main) and need coverage instrumentation, so they are built apart, in .build-fuzz, by
// `make fuzz` and the smoke run of `make test` (fuzz/run.sh); a plain `swift build` neither sees
// nor builds them.
if Context.environment["RELUC_FUZZ"] == "1" {
  package.targets += [
    .systemLibrary(name: "CLibFuzzer", path: "fuzz/Sources/CLibFuzzer"),
    .target(
      name: "RelucFuzzing", dependencies: ["Reluc", "CLibFuzzer"], path: "fuzz/Sources/RelucFuzzing"
    ),
  ]
  for kind in ["model", "xml", "onnx", "nnet", "vnnlib"] {
    package.targets.append(
      .executableTarget(
        name: "fuzz-\(kind)", dependencies: ["RelucFuzzing"], path: "fuzz/Sources/fuzz-\(kind)"))
    package.products.append(.executable(name: "fuzz-\(kind)", targets: ["fuzz-\(kind)"]))
  }
}
