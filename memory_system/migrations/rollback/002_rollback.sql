DROP TABLE agent_tokens;
DROP TABLE sessions;
