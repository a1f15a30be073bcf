"""Vector stores and hybrid search."""
