"""Benchmarks (not tests): `python -m bench.import_bench` (imports), `python -m bench.outcomes` (metric engine)."""
