"""The composition root and the runtime: building the application from the settings, the
command line, the event loop, polling and the webhook, the transport to the Bot API, the order
in which updates are handled, and the one-bot-per-database lock.

Nothing below imports from here: bot/ is the domain, handlers/ the Telegram side, storage/
the database (docs/architecture.md).
"""
