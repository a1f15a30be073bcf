"""HTTP routers of the agent service."""
