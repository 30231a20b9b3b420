"""政企直通 (Enterprise Liaison): the domain of the bot, free of Telegram types."""
