"""Workspaces, agents, teams, logins and API tokens (F35)."""
