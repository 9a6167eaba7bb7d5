from __future__ import annotations

from django.core.cache import cache
from django.db import DatabaseError, connection
from redis.exceptions import RedisError


def services_status() -> dict[str, bool]:
    """Whether the database and the cache answer: what a load balancer's health check asks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = True
    except DatabaseError:
        database = False
    try:
        cache.set("health", "1", 5)
        cache_ok = cache.get("health") == "1"
    except RedisError:
        cache_ok = False
    return {"database": database, "cache": cache_ok}
