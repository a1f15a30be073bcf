"""Chat: a user's message, the agent's answer, and the stream relay."""
