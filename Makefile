# reluc — the two set-up commands of the README:
#   make run    installs what is missing, builds, and solves a sample
#   make test   installs what is missing, builds, and runs the tests
SWIFT ?= swift
SAMPLE ?= samples/peaks.rmod
FUZZ_SECONDS ?= 20
FUZZ_SEED ?= 1

.PHONY: deps build release run test bench fuzz format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	.build/release/reluc $(SAMPLE)

# The fuzz smoke run goes first so that the test runner's summary is the last line. The tests
# that check a time limit is honoured run alone afterwards: beside the other suites (which run
# in parallel) a 2-core machine is too busy for their wall-clock allowance, and one at a time
# (--no-parallel) for the same reason. Every test whose name starts with timeLimitIsHonoured is
# one of them (SolverTests; LimitsTests: deep narrow MILP, OBBT budget, LP Walk's first point,
# SIGINT latency during a MILP).
TIMED_TESTS = timeLimitIsHonoured
test: deps
	$(SWIFT) build --build-tests
	.build/debug/reluc-fuzz $(FUZZ_SECONDS) 1
	$(SWIFT) test --skip-build --skip '$(TIMED_TESTS)'
	$(SWIFT) test --skip-build --no-parallel --filter '$(TIMED_TESTS)'

# A longer fuzzing run (release build): make fuzz FUZZ_SECONDS=600
fuzz: deps
	$(SWIFT) build -c release --product reluc-fuzz
	.build/release/reluc-fuzz $(FUZZ_SECONDS) $(FUZZ_SEED)

bench: release
	bash bench/run.sh

clean:
	rm -rf .build
