"""Tasks: planned visits and test calls, their assignment and lifecycle."""
