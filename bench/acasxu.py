"""`python3 bench/vnncomp.py --benchmark acasxu`, under its older name (the same options)."""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vnncomp

if __name__ == "__main__":
    vnncomp.main(["--benchmark", "acasxu"] + sys.argv[1:])
