"""The public web form of each workspace, at /form/{workspace_slug}."""
