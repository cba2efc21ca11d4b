"""Outbound webhooks (F36): events signed with HMAC and a timestamp, retried with backoff."""
