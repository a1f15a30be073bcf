"""Rate limits kept in PostgreSQL so that every replica sees the same counts."""
