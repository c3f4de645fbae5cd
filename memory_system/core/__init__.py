"""Plumbing every layer shares: clock, errors, settings and config loading, logging, metrics.

It imports nothing else of the package (the import contracts in pyproject.toml), so anything may
import it.
"""
