"""Typed stores beside memories: user preferences, code patterns, and the system's own metadata;
who may write the first two (``policy``) and the trail of every write to them (``audit``)."""
