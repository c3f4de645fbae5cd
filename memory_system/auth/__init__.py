"""Agent tokens: who is calling, bound to one agent id and one namespace (above store/, beside flags/)."""
