"""Timing scripts: not tests, not needed by CI. ``python -m benchmarks.pipeline --help``."""
