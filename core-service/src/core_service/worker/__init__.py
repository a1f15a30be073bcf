"""The background worker that drains the outbox (ingestion and vector deletion jobs)."""
