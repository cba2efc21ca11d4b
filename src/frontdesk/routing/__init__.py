"""Routing (F15 to F19): assignment rules, the routing step of the inbound pipeline, agent
assignment inside a team, and first-time routing accuracy."""
