"""The outbox: background jobs written in the same transaction as the change they follow."""
