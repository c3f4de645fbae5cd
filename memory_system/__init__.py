"""memory-system: a self-hosted memory service for AI agents."""

__version__ = "0.2.0"

__all__ = ["__version__"]
