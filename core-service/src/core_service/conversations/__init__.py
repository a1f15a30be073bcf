"""Conversations with a bot and their messages."""
