"""Adapters for other programs' frameworks: the feature flags as an OpenFeature provider
(``openfeature``), LangGraph's long-term memory store over the client (``langgraph``).

An interface layer like ``api`` and ``mcp``: thin, never on ``store/``. The OpenFeature
provider runs on the runtime's services; the LangGraph store only on ``memory_system.client``
(its own import contract), so it works against a service anywhere. Each module needs its own
optional extra (``pip install 'memory-system[openfeature]'``, ``[langgraph]``), so nothing here
is imported by the package itself.
"""
