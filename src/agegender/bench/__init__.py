"""Benchmarks that print their figures: speed of each step and of prediction, detector found-rates."""
