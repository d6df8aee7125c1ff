// libFuzzer target: see fuzz/README.md.
import RelucFuzzing

runLibFuzzer { data, size in
  FuzzTargets.xml(UnsafeBufferPointer(start: data, count: size))
  return 0
}
