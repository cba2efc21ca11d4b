"""The public help center of each workspace, at /help/{workspace_slug}."""
