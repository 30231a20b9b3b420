"""Persistence: SQL lives here and nowhere else; repositories return frozen models."""
