"""The HTTP interface: FastAPI routes that turn requests into runtime calls and errors into statuses.

Thin by rule (the import contracts in pyproject.toml): no SQL and no store/, only the runtime and
the services' own types.
"""
