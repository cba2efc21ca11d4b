"""The email channel: inbound (SMTP listener, IMAP poller) into the one ingest path, and the
outbox that sends agents', the bot's and automated emails with threading headers."""
