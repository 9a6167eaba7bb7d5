"""Pre-registration (预约) for a flash sale, and the reminder before it starts.

A press on 预约 must cost the shop almost nothing: Xiaomi's router sale drew 440,000 of them in
three days. So a registration is two Redis commands (gate.gate_register adds the fan to the
sale's registered set, which the gate reads when only registered fans may buy; a new one is
queued for PostgreSQL) and the page's count is the set's size. A task writes the queue to
PostgreSQL in batches (FlashRegistration rows, then `sale.registrations` recounted from them):
a batch written twice inserts nothing twice, so a crash between the insert and the trim of the
queue loses nothing and counts nothing twice.

Redis keys (beside gate.py's, under the shop's schema):

    flash:{schema}:{sale}:regq     list  fan ids registered and not yet written
    flash:regdirty                 set   "schema:sale" with a queue to write
    flash:remind                   zset  "schema:sale" → when its reminders are due (epoch s)

The reminder goes out REMIND_BEFORE the start, once per registration (`reminded_at` is set in
the same transaction that picks the row, before sending: a crash may lose a reminder, never
send one twice), by e-mail through Django's mail, or by SMS through VSTORE_SMS_SENDER when that
sender can send a notice (`send_notice(*, to, text)`; the development console sender logs it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from core.shop import current_schema, current_shop
from core.text import text_clean
from storefront.models import Fan
from tenants.models import Tenant

from .edge import redis_client
from .gate import gate_register, gate_registered_count
from .gate import keys as gate_keys
from .models import FlashRegistration, FlashSale

logger = logging.getLogger(__name__)

DIRTY_KEY = "flash:regdirty"
REMIND_KEY = "flash:remind"
REMIND_BEFORE = timedelta(minutes=10)
BATCH = 2000


def _queue_key(schema: str, sale_id: int) -> str:
    # Under the gate's hash tag (gate.keys), beside the registered set.
    return f"flash:{{{schema}:{sale_id}}}:regq"


def registration_problem(sale: FlashSale, *, now: datetime | None = None) -> str:
    """Why nobody can register for SALE now ("" when anyone can)."""
    now = now or timezone.now()
    if sale.state in (FlashSale.State.ENDED, FlashSale.State.CANCELLED) or now >= sale.ends_at:
        return _("This flash sale is over.")
    if now < sale.announce_at:
        return _("Registration has not opened yet.")
    return ""


def flash_register(*, sale: FlashSale, fan: Fan, now: datetime | None = None) -> bool:
    """Register FAN for SALE (in the current shop); True if she was not registered before.
    ValidationError when the sale takes no registrations now."""
    problem = registration_problem(sale, now=now)
    if problem:
        raise ValidationError(problem, code="flash_registration_closed")
    schema = current_schema()
    new = gate_register(schema=schema, sale_id=sale.pk, fan_id=fan.pk)
    if new:
        member = f"{schema}:{sale.pk}"
        due = (sale.starts_at - REMIND_BEFORE).timestamp()
        pipe = redis_client().pipeline(transaction=False)
        pipe.rpush(_queue_key(schema, sale.pk), fan.pk)
        pipe.sadd(DIRTY_KEY, member)
        pipe.zadd(REMIND_KEY, {member: due}, nx=True)
        pipe.execute()
    return new


def registered_count(*, sale: FlashSale) -> int:
    """How many registered, from Redis (the page's figure)."""
    return gate_registered_count(schema=current_schema(), sale_id=sale.pk)


def registrations_flush(*, sale_id: int, batch: int = BATCH) -> int:
    """Write SALE_ID's queued registrations to PostgreSQL (the current shop's schema), one
    transaction per batch; the number of new rows. Idempotent."""
    client = redis_client()
    key = _queue_key(current_schema(), sale_id)
    written = 0
    while True:
        raw = client.lrange(key, 0, batch - 1)
        if not raw:
            break
        fan_ids = sorted({int(x) for x in raw})
        with transaction.atomic():
            sale = FlashSale.objects.select_for_update().filter(pk=sale_id).first()
            if sale is None:  # deleted: nothing to record
                client.delete(key)
                break
            known = set(Fan.objects.filter(pk__in=fan_ids).values_list("pk", flat=True))
            before = FlashRegistration.objects.filter(sale_id=sale_id).count()
            FlashRegistration.objects.bulk_create(
                [FlashRegistration(sale_id=sale_id, fan_id=f) for f in fan_ids if f in known],
                ignore_conflicts=True,
            )
            # Recounted, never added to: a batch written again changes nothing.
            after = FlashRegistration.objects.filter(sale_id=sale_id).count()
            # Never below a count already there (services.flash_registrations_sync copies the
            # gate's own count, which runs ahead of the rows).
            FlashSale.objects.filter(pk=sale_id).update(
                registrations=Greatest(F("registrations"), after)
            )
        written += after - before
        # Only what was read goes: fans queued meanwhile stay for the next round.
        client.ltrim(key, len(raw), -1)
    return written


def _shop() -> Tenant:
    """The current shop's row. Under django-tenants' schema_context (a task handed a schema
    name) the connection holds a FakeTenant, which knows its schema and nothing else."""
    shop = current_shop()
    if isinstance(shop, Tenant):
        return shop
    return Tenant.objects.get(schema_name=current_schema())


def _shop_origin(shop: Tenant) -> str:
    domain = shop.get_primary_domain()
    host = domain.domain if domain else ""
    port = settings.VSTORE_SHOP_PORT
    return {443: f"https://{host}", 80: f"http://{host}"}.get(port, f"http://{host}:{port}")


def _reminder_text(sale: FlashSale, *, shop: Tenant, link: str) -> str:
    starts = timezone.localtime(sale.starts_at).strftime("%Y-%m-%d %H:%M")
    return _(
        "[%(shop)s] The flash sale “%(title)s” you registered for starts at %(time)s: %(link)s"
    ) % {
        "shop": text_clean(shop.name),
        "title": text_clean(sale.display_title),
        "time": starts,
        "link": link,
    }


def _reminder_send(*, to: str, text: str, title: str) -> None:
    if "@" in to:
        send_mail(
            subject=_("Starting soon: %(title)s") % {"title": text_clean(title)},
            message=text,
            from_email=None,
            recipient_list=[to],
        )
        return
    sender = import_string(settings.VSTORE_SMS_SENDER)()
    notice = getattr(sender, "send_notice", None)
    if notice is None:  # a sender that knows only codes (the development console): the log
        logger.warning("SMS to %s: %s", to, text)
        return
    notice(to=to, text=text)


def flash_reminders_send(*, sale_id: int, batch: int = 500) -> int:
    """Remind every registration of SALE_ID (current shop) not reminded yet; how many were."""
    registrations_flush(sale_id=sale_id)
    sale = FlashSale.objects.select_related("item__listing").filter(pk=sale_id).first()
    if sale is None or sale.state in (FlashSale.State.ENDED, FlashSale.State.CANCELLED):
        return 0
    shop = _shop()
    link = _shop_origin(shop) + reverse("storefront:flash_sale", args=[sale.pk])
    text = _reminder_text(sale, shop=shop, link=link)
    sent = 0
    while True:
        with transaction.atomic():
            rows = list(
                FlashRegistration.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(sale_id=sale_id, reminded_at__isnull=True)
                .select_related("fan")
                .order_by("id")[:batch]
            )
            if not rows:
                break
            FlashRegistration.objects.filter(pk__in=[r.pk for r in rows]).update(
                reminded_at=timezone.now()
            )
        for row in rows:
            to = row.contact or (row.fan and (row.fan.mobile or row.fan.email)) or ""
            if not to:
                continue
            try:
                _reminder_send(to=to, text=text, title=sale.display_title)
            except Exception:  # one bad address must not stop the others' reminders
                logger.exception("flash reminder to registration %s failed", row.pk)
                continue
            sent += 1
    return sent


def _members(raw: Iterable[Any]) -> list[tuple[Tenant, int]]:
    """(shop, sale id) of the "schema:sale" members RAW names, in live shops only."""
    from tenants.selectors import shops

    pairs = []
    for item in raw:
        text = item.decode() if isinstance(item, bytes) else str(item)
        schema, _sep, ident = text.partition(":")
        if ident.isdigit():
            pairs.append((schema, int(ident)))
    live = {t.schema_name: t for t in shops().filter(schema_name__in={s for s, _i in pairs})}
    return [(live[s], i) for s, i in pairs if s in live]


@shared_task
def flash_registrations_flush_task() -> int:
    """Every few seconds (beat): write every queued registration to its shop's database."""
    client = redis_client()
    total = 0
    for shop, sale_id in _members(cast(list[Any], client.spop(DIRTY_KEY, 100) or [])):
        with tenant_context(shop):
            try:
                total += registrations_flush(sale_id=sale_id)
            except Exception:
                # Back in the set: the next round tries again (the queue is still there).
                client.sadd(DIRTY_KEY, f"{shop.schema_name}:{sale_id}")
                raise
    return total


@shared_task
def flash_reminders_task() -> int:
    """Every minute (beat): send the reminders that are due (REMIND_BEFORE each start)."""
    client = redis_client()
    now = timezone.now().timestamp()
    due = cast(list[Any], client.zrangebyscore(REMIND_KEY, "-inf", now, start=0, num=50))
    sent = 0
    # The shop's own row, not schema_context's FakeTenant: the reminder names the shop and links
    # its domain.
    for shop, sale_id in _members(due):
        with tenant_context(shop):
            sent += flash_reminders_send(sale_id=sale_id)
    # Done, and those of shops no longer live: gone from the schedule.
    if due:
        client.zrem(REMIND_KEY, *due)
    return sent


def fan_registered(*, sale: FlashSale, fan: Fan) -> bool:
    """Whether FAN is registered for SALE: the gate's registered set (what the gate checks)."""
    return bool(redis_client().sismember(gate_keys(current_schema(), sale.pk)["r"], str(fan.pk)))
