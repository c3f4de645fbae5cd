"""Memories themselves: the model, create/read/change/delete within an agent's view, dedupe, write events."""
