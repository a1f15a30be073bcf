"""Staff-only endpoints."""
