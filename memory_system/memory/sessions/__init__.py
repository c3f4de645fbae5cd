"""Agent sessions (the unit of sticky flag rollout) and the state document each session keeps."""
