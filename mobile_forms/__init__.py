"""The phone web app (static files), its JavaScript condition evaluator and built-in form templates."""
