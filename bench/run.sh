#!/usr/bin/env bash
# Runs the benchmarks (release build). Installs the peers (numpy, OMLT, pyomo, highspy) from PyPI
# if missing: they are for benchmarks only, never needed by reluc itself.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import numpy, omlt, pyomo, highspy" 2>/dev/null ||
  python3 -m pip install --quiet numpy omlt pyomo highspy
swift build -c release >/dev/null
python3 bench/run.py "$@"
