"""Typed stores beside memories: user preferences, code patterns, and the system's own metadata."""
