"""Rebuilds fetalview's bundled weights from labelled scans: ``python -m training --help``."""
