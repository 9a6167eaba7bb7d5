from __future__ import annotations

from celery import shared_task
from wagtail.models import Site

from core.shop import current_schema, in_shop


@shared_task
def shop_health() -> dict[str, object]:
    """Report which schema the worker ran in and what that schema's site is: a tenant ping."""
    schema = current_schema()
    if not in_shop():
        return {"schema": schema, "site": None}
    site = Site.objects.get(is_default_site=True)
    return {"schema": schema, "site": site.hostname}


@shared_task(ignore_result=True)
def pool_refill_task() -> int:
    """Keep the warm pool full (after each sign-up, and on a beat schedule)."""
    from .provisioning import pool_refill

    return pool_refill()


@shared_task(ignore_result=True)
def shops_repair_task() -> dict[str, list[str]]:
    """Drop orphan schemas and pool rows left by anything that was not transactional."""
    from dataclasses import asdict

    from .provisioning import repair

    return asdict(repair())
