"""Metrics, baselines and the classical particle-flow algorithm, in plain numpy."""
