"""Cross-agent sharing: grants on memories, their audit trail, and session hand-offs between agents."""
