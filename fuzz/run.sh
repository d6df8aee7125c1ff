#!/usr/bin/env bash
# Builds the libFuzzer targets (SwiftPM products fuzz-model, fuzz-xml, fuzz-onnx, fuzz-nnet, fuzz-vnnlib, declared
# when RELUC_FUZZ=1) in their own scratch path and runs each in turn, bounded in time. See
# fuzz/README.md.
#
#   fuzz/run.sh build                      build the products only
#   fuzz/run.sh run SECONDS [TARGET...]    fuzz each target SECONDS, corpus fuzz/corpus/TARGET (grows)
#   fuzz/run.sh smoke SECONDS [TARGET...]  the same with -seed=1, new inputs to a throwaway folder (CI)
#   fuzz/run.sh merge [TARGET...]          minimize fuzz/corpus/TARGET in place (inputs under 8 KiB,
#                                          -set_cover_merge=1), to keep the committed corpus small
#   fuzz/run.sh seed [TARGET...]           rebuild fuzz/corpus/TARGET from the test fixtures
#
# Environment: SWIFT (swift), FUZZ_FLAGS (extra libFuzzer flags, e.g. -jobs=1 or -dict=...).
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
ALL_TARGETS=(model xml onnx nnet vnnlib)
SCRATCH=.build-fuzz
BIN=$SCRATCH/release
OUT=fuzz/out
# Swift's backtracer reads the crashed process's memory, which AddressSanitizer reports as a second
# error; libFuzzer prints its own stack trace.
export SWIFT_BACKTRACE=enable=no

# Coverage for libFuzzer (what swiftc -sanitize=fuzzer turns on) and AddressSanitizer, which also
# brings LeakSanitizer. -sanitize=fuzzer itself cannot be used: it links libFuzzer's own main
# whole-archive, which clashes with the main SwiftPM gives every executable product; so the
# products have their own main calling LLVMFuzzerRunDriver, from libclang_rt.fuzzer_no_main.
swift_bin=$(command -v "$SWIFT")
toolchain=$(cd "$(dirname "$(readlink -f "$swift_bin")")/.." && pwd)
fuzzer_lib=$(ls "$toolchain"/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -1 || true)
BUILD_FLAGS=(
  -c release --scratch-path "$SCRATCH"
  -Xswiftc -sanitize=address
  -Xswiftc -sanitize-coverage=edge,indirect-calls,trace-cmp,pc-table,inline-8bit-counters
  -Xlinker "$fuzzer_lib" -Xlinker -lstdc++
)

# Per-input limits: a hang is an input running over 10 s, a leak or more than 2 GiB is a failure.
# A target's dictionary of tokens, fuzz/dict/TARGET.dict, is used when it exists.
run_flags() {
  local dict=
  [[ -f fuzz/dict/$1.dict ]] && dict=-dict=fuzz/dict/$1.dict
  echo -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$OUT/$1/" $dict ${FUZZ_FLAGS:-}
}

build() {
  if [[ -z "$fuzzer_lib" ]]; then
    echo "fuzz/run.sh: no libclang_rt.fuzzer_no_main-x86_64.a under $toolchain/lib/clang" >&2
    exit 69
  fi
  for t in "${ALL_TARGETS[@]}"; do
    RELUC_FUZZ=1 "$SWIFT" build "${BUILD_FLAGS[@]}" --product "fuzz-$t" 2>&1 |
      grep -v "Cannot export local symbol '__asan_extra_spill_area'" || true
    [[ -x $BIN/fuzz-$t ]] || { echo "fuzz/run.sh: fuzz-$t did not build" >&2; exit 1; }
  done
}

targets() {
  if [[ $# -eq 0 ]]; then echo "${ALL_TARGETS[@]}"; else echo "$@"; fi
}

# Runs one target for $2 seconds on the corpus folders $3...; prints libFuzzer's last status line.
fuzz_one() {
  local t=$1 seconds=$2
  shift 2
  mkdir -p "$OUT/$t"
  local log=$OUT/$t/fuzz.log
  echo "fuzz-$t: ${seconds} s, corpus $1"
  # timeout is a second bound should libFuzzer itself not stop (it checks -max_total_time between
  # inputs; -timeout stops an input after 10 s).
  local status=0
  timeout --kill-after=30 $((seconds + 120)) "$BIN/fuzz-$t" $(run_flags "$t") \
    -max_total_time="$seconds" "$@" >"$log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | tr '\n' ' '
  echo
  if [[ $status -ne 0 ]]; then
    echo "fuzz-$t FAILED (exit $status); the log is $log, the reproducer:" >&2
    grep -E 'Test unit written to|ERROR: |SUMMARY: |Fatal error' "$log" | head -5 >&2
    return 1
  fi
}

# The seed inputs of a target, from the fixtures and samples (files under 64 KiB). The models are
# pointed at tiny.xml, the network the model target keeps next to them.
seed_files() {
  case $1 in
    model)
      for f in samples/*.rmod Tests/RelucTests/Fixtures/*/*.rmod; do
        local dest=$2/$(echo "$f" | tr / _)
        sed -E 's/^network "[^"]*"/network "tiny.xml"/' "$f" >"$dest"
      done ;;
    xml) cp Tests/RelucTests/Fixtures/nets/*.xml Tests/RelucTests/Fixtures/opt/*.xml samples/peaks.xml "$2/" ;;
    onnx) find Tests/RelucTests/Fixtures/import -name '*.onnx' -size -64k -exec cp {} "$2/" \; ;;
    nnet) find Tests/RelucTests/Fixtures/import -name '*.nnet' -size -64k -exec cp {} "$2/" \; ;;
    vnnlib)
      # The fixtures' properties and ACAS Xu's ten (prop_1 ... prop_10), all written for 5 inputs
      # and 5 outputs or rejected with a diagnostic.
      find Tests/RelucTests/Fixtures/vnnlib -name '*.vnnlib' -size -64k -exec cp {} "$2/" \;
      find ../shared/networks/acasxu -name 'prop_*.vnnlib' -size -64k -exec cp {} "$2/" \; 2>/dev/null || true ;;
  esac
}

cmd=${1:-}
shift || true
case $cmd in
  build) build ;;
  run | smoke)
    seconds=${1:?fuzz/run.sh $cmd SECONDS [TARGET...]}
    shift
    build
    failed=0
    for t in $(targets "$@"); do
      mkdir -p "fuzz/corpus/$t"
      if [[ $cmd == smoke ]]; then
        rm -rf "$OUT/smoke/$t" && mkdir -p "$OUT/smoke/$t"
        FUZZ_FLAGS="-seed=1 ${FUZZ_FLAGS:-}" fuzz_one "$t" "$seconds" "$OUT/smoke/$t" "fuzz/corpus/$t" || failed=1
      else
        fuzz_one "$t" "$seconds" "fuzz/corpus/$t" || failed=1
      fi
    done
    exit $failed ;;
  merge | seed)
    build
    for t in $(targets "$@"); do
      tmp=$(mktemp -d)
      mkdir -p "$tmp/in" "$tmp/out" "fuzz/corpus/$t" "$OUT/$t"
      if [[ $cmd == seed ]]; then
        seed_files "$t" "$tmp/in"
      else
        find "fuzz/corpus/$t" -type f -size -8k -exec cp {} "$tmp/in/" \;
      fi
      "$BIN/fuzz-$t" $(run_flags "$t") -set_cover_merge=1 "$tmp/out" "$tmp/in" >"$tmp/log" 2>&1 ||
        { cat "$tmp/log" >&2; exit 1; }
      rm -rf "fuzz/corpus/$t" && mv "$tmp/out" "fuzz/corpus/$t" && rm -rf "$tmp"
      echo "fuzz/corpus/$t: $(ls "fuzz/corpus/$t" | wc -l) files, $(du -sk "fuzz/corpus/$t" | cut -f1) KiB"
    done ;;
  *) sed -n '5,12p' "$0" >&2; exit 64 ;;
esac
