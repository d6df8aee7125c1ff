// libFuzzer target: see fuzz/README.md.
import RelucFuzzing

runLibFuzzer { data, size in
  FuzzTargets.vnnlib(UnsafeBufferPointer(start: data, count: size))
  return 0
}
