"""The creator's open API: tokens, idempotent writes and webhooks of one shop."""
