"""Thumbs up or down, with a comment, on assistant messages."""
