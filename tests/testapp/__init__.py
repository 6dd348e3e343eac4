"""A test-only Django app with protected models, installed by tests/settings.py only."""
