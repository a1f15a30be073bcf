"""The OpenAI-compatible door to a bot's chat: ``/api/v1/openai`` with a secret bot key."""
