"""Benchmarks: each `bench_*.py` module measures one target as a ratio to a baseline beside it."""
