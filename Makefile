# reluc — the two set-up commands of the README:
#   make run    installs what is missing, builds, and solves a sample
#   make test   installs what is missing, builds, and runs the tests
SWIFT ?= swift
SAMPLE ?= samples/peaks.rmod
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_SEED ?= 1
FUZZ_TARGETS ?=
# fuzz-model also checks that formatting is idempotent (RELUC_FUZZ_FMT=0 turns that off).
FUZZ_SMOKE_FMT ?= 1

.PHONY: deps build release run test bench fuzz fuzz-smoke fuzz-merge fuzz-mutate format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	.build/release/reluc $(SAMPLE)

# The libFuzzer smoke run (each target FUZZ_SMOKE_SECONDS, built apart in .build-fuzz) goes
# first so that the test runner's summary is the last line. The tests that check a time limit
# is honoured run alone afterwards: beside the other suites (which run in parallel) a 2-core
# machine is too busy for their wall-clock allowance, and one at a time (--no-parallel) for the
# same reason. Every test whose name starts with timeLimitIsHonoured is one of them
# (SolverTests; LimitsTests: deep narrow MILP, OBBT budget, LP Walk's first point, SIGINT
# latency during a MILP).
TIMED_TESTS = timeLimitIsHonoured
test: deps
	$(SWIFT) build --build-tests
	RELUC_FUZZ_FMT=$(FUZZ_SMOKE_FMT) SWIFT=$(SWIFT) bash fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)
	$(SWIFT) test --skip-build --skip '$(TIMED_TESTS)'
	$(SWIFT) test --skip-build --no-parallel --filter '$(TIMED_TESTS)'

# Coverage-guided fuzzing (fuzz/README.md): every libFuzzer target FUZZ_SECONDS in turn, corpus
# fuzz/corpus/TARGET, crashes in fuzz/out/TARGET. FUZZ_TARGETS="xml onnx" picks some.
fuzz: deps
	SWIFT=$(SWIFT) bash fuzz/run.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Minimizes fuzz/corpus/TARGET in place (libFuzzer -merge=1), e.g. before committing it.
fuzz-merge: deps
	SWIFT=$(SWIFT) bash fuzz/run.sh merge $(FUZZ_TARGETS)

# The older deterministic mutation fuzzer (no coverage): make fuzz-mutate FUZZ_SECONDS=60
fuzz-mutate: deps
	$(SWIFT) build -c release --product reluc-fuzz
	.build/release/reluc-fuzz $(FUZZ_SECONDS) $(FUZZ_SEED)

bench: release
	bash bench/run.sh

# Formats the Swift sources with the committed .swift-format.
format:
	swift-format format -i -r --configuration .swift-format Sources Tests bench/Sources fuzz/Sources Package.swift

clean:
	rm -rf .build .build-fuzz
