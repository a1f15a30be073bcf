"""Bots: a user's chatbots and their configuration."""
