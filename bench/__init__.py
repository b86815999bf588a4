"""Benchmarks: `python -m bench.NAME` from the repository root; each prints a table and writes
bench/results/NAME.json."""
