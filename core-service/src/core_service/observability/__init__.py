"""Core's own metrics (agent calls, jobs, the queue); the HTTP series and tracing are the kit's."""
