"""The suppliers' open API: tokens, idempotent writes and webhooks (public schema)."""
