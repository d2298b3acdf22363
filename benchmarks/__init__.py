"""Benchmarks of report ingestion: `python -m benchmarks.run` (or `make bench`) writes docs/benchmarks.md."""
