"""Questionnaires: form definitions, conditions, answer validation and timer metrics."""
