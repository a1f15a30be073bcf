"""The HTTP client core uses to call the agent service (v1 contracts only)."""
