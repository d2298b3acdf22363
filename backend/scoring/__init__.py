"""Scoring of reports against their form definition (pure, see engine.py)."""
