"""What a bot's owner learns from its conversations: volume, answered rate, feedback, gaps."""
