"""Phase 1 entity memory: the knowledge graph (entities, observations, relations) and its JSONL files."""
