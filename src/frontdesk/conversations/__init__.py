"""Conversations, messages and their event log: the do_* actions live in ``actions``."""
