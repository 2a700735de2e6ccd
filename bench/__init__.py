"""Benchmarks: each prints its figures and the ratio against a baseline it measures in the same run."""
