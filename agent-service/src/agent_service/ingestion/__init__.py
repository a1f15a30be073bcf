"""Embedding: text to vectors, behind one interface chosen by settings."""
