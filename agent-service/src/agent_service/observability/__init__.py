"""The agent's own metrics (embeddings, LLM calls); the HTTP series and tracing are the kit's."""
