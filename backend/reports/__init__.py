"""Reports: submission, validation, scoring and review."""
