"""The agent-facing web app: login, inbox, conversation view, live updates and admin pages."""
