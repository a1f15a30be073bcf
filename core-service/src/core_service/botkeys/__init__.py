"""Bot keys: secret keys for servers, publishable keys for browsers, and a bot's identity
secret for verified end users."""
