"""Flash sale tasks: each takes ids, runs in the shop's schema it was sent from
(tenant-schemas-celery), and is safe to repeat.

* flash_sale_start_task / flash_sale_end_task: sent for the sale's start and end (eta);
* flash_writer_task: drains the sale's stream of wins into PostgreSQL and, while the sale runs,
  sends itself again (one chain per sale, held by a Redis key), so wins are recorded within
  about a second during the rush;
* flash_reconcile_task: one sale's reconciliation (reconcile.py);
* flash_tick_task (beat, every minute): in every live shop, start and end what is due, expire
  unpaid grabs, reconcile running sales, and restart a writer chain that died.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.shop import current_schema

from . import gate

logger = logging.getLogger(__name__)

CHAIN_SECONDS = 30  # a chain silent this long is dead: the tick starts another
CHAIN_PAUSE = 0.5  # seconds between drains while a sale runs


def _chain_key(schema: str, sale_id: int) -> str:
    return gate.keys(schema, sale_id)["m"][: -len(":m")] + ":wl"


@shared_task(ignore_result=True)
def flash_sale_start_task(*, sale_id: int) -> bool:
    from .models import FlashSale
    from .services import flash_sale_start

    started = flash_sale_start(sale_id=sale_id)
    sale = FlashSale.objects.filter(pk=sale_id, state=FlashSale.State.LIVE).first()
    if sale is not None:
        flash_writer_task.delay(sale_id=sale_id)
    return started


@shared_task(bind=True, max_retries=5, acks_late=True)
def flash_sale_end_task(self, *, sale_id: int) -> int:
    """Give the unsold units back at the end (a no-op before it and after it was done)."""
    from .services import flash_sale_end

    try:
        return flash_sale_end(sale_id=sale_id)
    except Exception as exc:
        logger.exception("ending flash sale %s failed", sale_id)
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(ignore_result=True)
def flash_writer_task(*, sale_id: int, chain: str = "") -> int:
    """Record the sale's waiting wins; while it runs, again in half a second. A second chain
    for the same sale stops at once (the Redis key names the one that runs)."""
    from .models import FlashSale
    from .writer import flash_writer_drain

    schema = current_schema()
    key = _chain_key(schema, sale_id)
    client = gate.client()
    token = chain or uuid.uuid4().hex
    if chain:
        if client.get(key) != token.encode():
            return 0  # another chain took over (or this one was declared dead)
        client.expire(key, CHAIN_SECONDS)
    elif not client.set(key, token, nx=True, ex=CHAIN_SECONDS):
        return 0
    written = flash_writer_drain(schema=schema, sale_id=sale_id)
    sale = FlashSale.objects.filter(pk=sale_id).only("state", "ends_at").first()
    running = sale is not None and sale.state == FlashSale.State.LIVE
    if running and sale is not None and sale.ends_at > timezone.now():
        flash_writer_task.apply_async(
            kwargs={"sale_id": sale_id, "chain": token}, countdown=CHAIN_PAUSE
        )
    else:
        client.delete(key)
    return written


@shared_task(ignore_result=True)
def flash_grabs_expire_task(*, sale_id: int) -> int:
    from .services import flash_grabs_expire_due

    return flash_grabs_expire_due(sale_id=sale_id)


@shared_task(ignore_result=True)
def flash_reconcile_task(*, sale_id: int) -> int:
    """Reconcile one sale of this shop; returns how many problems it found (and repaired)."""
    from .models import FlashSale
    from .reconcile import flash_reconcile

    sale = FlashSale.objects.filter(pk=sale_id).first()
    if sale is None:
        return 0
    found = flash_reconcile(sale=sale, apply=True)
    for item in found:
        logger.warning("flash sale %s: %s -> %s", item.sale_id, item.problem, item.action)
    return len(found)


def _shop_tick() -> int:
    from .models import FlashSale
    from .reconcile import flash_expire_shop, flash_reconcile_shop

    schema = current_schema()
    expired = flash_expire_shop()
    found = flash_reconcile_shop(apply=True)
    for item in found:
        logger.warning("flash sale %s: %s -> %s", item.sale_id, item.problem, item.action)
    for sale_id in FlashSale.objects.filter(state=FlashSale.State.LIVE).values_list(
        "pk", flat=True
    ):
        if not gate.client().exists(_chain_key(schema, sale_id)):
            flash_writer_task.delay(sale_id=sale_id)
    return expired + len(found)


@shared_task(ignore_result=True)
def flash_tick_task() -> int:
    """Every minute, in every live shop: expiry, reconciliation, start/end, writer chains.
    Returns how many things it did; a shop that fails is logged and the others go on."""
    from tenants.selectors import shops

    from .models import FlashSale

    done = 0
    for tenant in shops():
        try:
            with tenant_context(tenant):
                # One cheap query for most shops: no sale running and none ended lately.
                since = timezone.now() - timedelta(days=2)
                if not FlashSale.objects.filter(
                    Q(ended_at__isnull=True) | Q(ended_at__gte=since)
                ).exists():
                    continue
                done += _shop_tick()
        except Exception:  # one broken shop must not hold back every other shop's sales
            logger.exception("the flash sale tick of %s failed", tenant.schema_name)
    return done
