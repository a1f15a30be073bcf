"""Evaluations: a bot's question set run against its current configuration, in the background."""
