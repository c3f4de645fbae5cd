"""Context injection: ranking, packing into a token budget, the answer cache, background reinforcement."""
