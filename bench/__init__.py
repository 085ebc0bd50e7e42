"""Benchmarks of KAM Pulse against side-by-side baselines: ``python -m bench`` runs them all."""
