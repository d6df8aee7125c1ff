// libFuzzer's entry point for a program that has its own main (llvm.org/docs/LibFuzzer.html,
// "Using libFuzzer as a library"). The definition comes from libclang_rt.fuzzer, linked by
// swiftc -sanitize=fuzzer; only the fuzz-* products of a RELUC_FUZZ=1 build import this.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv,
                        int (*UserCb)(const uint8_t *Data, size_t Size));
