# reluc — the two set-up commands of the README:
#   make run    installs what is missing, builds, and solves a sample
#   make test   installs what is missing, builds, and runs the tests
SWIFT ?= swift
SAMPLE ?= samples/peaks.rmod

.PHONY: deps build release run test bench fuzz format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	.build/release/reluc $(SAMPLE)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	bash bench/run.sh

clean:
	rm -rf .build
