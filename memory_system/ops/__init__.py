"""Operator features: backups, restore, rollback, integrity, schema status, health, verification.

They sit above the services and below the runtime; each is handed what it checks.
"""
