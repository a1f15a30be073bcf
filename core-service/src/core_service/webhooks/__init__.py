"""Outgoing webhooks: owners' endpoints, events written with their cause, signed deliveries."""
