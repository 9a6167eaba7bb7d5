"""Shop analytics: events counted in Redis, rolled up into daily rows (issue 16)."""
