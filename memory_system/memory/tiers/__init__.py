"""Hierarchical tiers: the rules that promote, decay and expire memories, and the thread that runs them."""
