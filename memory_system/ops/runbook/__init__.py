"""The runbook's three rollback options as procedures: each step timed, each check a verdict."""
