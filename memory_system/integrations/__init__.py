"""Adapters for other programs' frameworks: the feature flags as an OpenFeature provider (``openfeature``).

An interface layer like ``api`` and ``mcp``: thin, on the runtime's services, never on ``store/``.
Each module needs its own optional extra (``pip install 'memory-system[openfeature]'``), so
nothing here is imported by the package itself.
"""
