"""The public chat API: end users talking to one bot through a key the bot's owner made."""
