"""Pulse's benchmark harness (`make bench`, `make bench-quick`); see BENCHMARKS in the README."""
