"""Flash sales: scheduling, changing, cancelling and ending a sale; recording and expiring grabs.

Stock: scheduling takes the sale's quantity out of the SKU's shared stock at once (one checked
update, storefront.campaigns.rules.campaign_stock_take), so other shops and normal orders never
oversell and the rush never touches the SKU's row. The sale's own count (`units_ordered`) moves
with each recorded grab; at the end the rest goes back to the SKU, exactly once
(`units_returned`). An expired grab's unit goes back into the sale while it runs (the gate gives
it to the next buyer), and straight to the SKU after the end.

Locks: a grab's row, then its sale's row (always in that order).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import shop_cache
from core.shop import current_schema
from storefront.campaigns.rules import (
    campaign_price_check,
    campaign_stock_return,
    campaign_stock_take,
)
from storefront.models import ListingItem
from storefront.shopapi.events import campaign_closed_emit

from . import gate
from .models import FlashGrab, FlashRegistration, FlashSale

logger = logging.getLogger(__name__)

QUANTITY_MAX = 1_000_000
LIMIT_MAX = 100
PAY_MINUTES_MAX = 120
WINDOW_MAX = timedelta(days=30)
ANNOUNCE_MAX = timedelta(days=30)
HELD = (FlashGrab.Status.WON, FlashGrab.Status.ORDERED, FlashGrab.Status.PAID)


@dataclass(frozen=True)
class Terms:
    """What a creator (or platform staff) sets for a sale."""

    price_fen: int
    quantity: int
    per_buyer_limit: int
    announce_at: datetime
    starts_at: datetime
    ends_at: datetime
    pay_minutes: int = 15
    registered_only: bool = False
    title: str = ""


def _fail(message: str, code: str, field: str | None = None) -> ValidationError:
    return ValidationError({field: [message]} if field else message, code=code)


def flash_terms_check(*, item: ListingItem, terms: Terms, now: datetime | None = None) -> None:
    """Every rule of a sale's terms; ValidationError (by field where one is at fault)."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not 1 <= terms.quantity <= QUANTITY_MAX:
        add("quantity", _("The quantity must be between 1 and %(max)s.") % {"max": QUANTITY_MAX})
    if not 1 <= terms.per_buyer_limit <= min(LIMIT_MAX, max(terms.quantity, 1)):
        add(
            "per_buyer_limit",
            _("The limit per buyer must be between 1 and %(max)s (and not above the quantity).")
            % {"max": LIMIT_MAX},
        )
    if not 1 <= terms.pay_minutes <= PAY_MINUTES_MAX:
        add(
            "pay_minutes",
            _("The time to pay must be between 1 and %(max)s minutes.") % {"max": PAY_MINUTES_MAX},
        )
    if terms.ends_at <= terms.starts_at:
        add("ends_at", _("The sale must end after it starts."))
    elif terms.ends_at - terms.starts_at > WINDOW_MAX:
        add("ends_at", _("A flash sale lasts at most 30 days."))
    if terms.announce_at > terms.starts_at:
        add("announce_at", _("The announcement must come before the start."))
    elif terms.starts_at - terms.announce_at > ANNOUNCE_MAX:
        add("announce_at", _("Announce the sale at most 30 days before it starts."))
    try:
        campaign_price_check(item=item, price_fen=terms.price_fen)
    except ValidationError as exc:
        for message in exc.messages:
            add("price_fen", message)
    if errors:
        raise ValidationError(errors)


def _item_check(item: ListingItem) -> None:
    if item.availability not in ("available", "sold_out"):
        raise _fail(_("These goods cannot be sold now."), "flash_item_unavailable", "item")


def _overlap_check(*, item: ListingItem, starts_at: datetime, ends_at: datetime, not_id: int = 0):
    clash = (
        FlashSale.objects.filter(
            item=item, state__in=[FlashSale.State.SCHEDULED, FlashSale.State.LIVE]
        )
        .filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
        .exclude(pk=not_id)
    )
    if clash.exists():
        raise _fail(
            _("Another flash sale of these goods overlaps this time."), "flash_overlap", "starts_at"
        )


def _stock_take(*, item: ListingItem, quantity: int) -> None:
    if not campaign_stock_take(sku_id=item.sku_id, quantity=quantity):
        item.sku.refresh_from_db(fields=["stock"])
        raise _fail(
            _("Only %(stock)s in stock: the sale cannot take %(quantity)s.")
            % {"stock": item.sku.stock, "quantity": quantity},
            "flash_stock",
            "quantity",
        )


def _after_commit_load(sale: FlashSale) -> None:
    schema = current_schema()
    sale_id = sale.pk

    def load() -> None:
        from django_tenants.utils import schema_context

        with schema_context(schema):
            fresh = FlashSale.objects.get(pk=sale_id)
            gate.gate_load(sale=fresh, schema=schema, fresh=True)
        _tasks_schedule(schema=schema, sale=fresh)

    transaction.on_commit(load)


def _tasks_schedule(*, schema: str, sale: FlashSale) -> None:
    """The start (page cache) and the end (units back) at their moments; both tasks check the
    time themselves and are idempotent, so an extra or early run changes nothing. The beat's
    tick catches a lost one."""
    from django_tenants.utils import schema_context

    from .tasks import flash_sale_end_task, flash_sale_start_task

    try:
        with schema_context(schema):
            flash_sale_start_task.apply_async(kwargs={"sale_id": sale.pk}, eta=sale.starts_at)
            flash_sale_end_task.apply_async(kwargs={"sale_id": sale.pk}, eta=sale.ends_at)
    except Exception:  # the broker is away: the beat's tick starts and ends the sale anyway
        logger.exception("scheduling the tasks of flash sale %s failed", sale.pk)


def flash_sale_schedule(
    *,
    item: ListingItem,
    price_fen: int,
    quantity: int,
    per_buyer_limit: int,
    announce_at: datetime,
    starts_at: datetime,
    ends_at: datetime,
    pay_minutes: int = 15,
    registered_only: bool = False,
    created_by: Any | None = None,
    for_platform: bool = False,
    title: str = "",
) -> FlashSale:
    """Schedule a flash sale of ITEM in the current shop, taking QUANTITY out of the SKU's
    shared stock at once (ValidationError when it is not there, or a term breaks a rule)."""
    terms = Terms(
        price_fen=price_fen,
        quantity=quantity,
        per_buyer_limit=per_buyer_limit,
        announce_at=announce_at,
        starts_at=starts_at,
        ends_at=ends_at,
        pay_minutes=pay_minutes,
        registered_only=registered_only,
        title=title,
    )
    now = timezone.now()
    if ends_at <= now:
        raise _fail(_("The sale must end in the future."), "flash_past", "ends_at")
    flash_terms_check(item=item, terms=terms, now=now)
    _item_check(item)
    with transaction.atomic():
        # The item's row serialises two schedules of the same goods (the overlap check).
        ListingItem.objects.select_for_update().filter(pk=item.pk).first()
        _overlap_check(item=item, starts_at=starts_at, ends_at=ends_at)
        _stock_take(item=item, quantity=quantity)
        sale = FlashSale.objects.create(
            item=item,
            title=title[:60],
            price_fen=price_fen,
            quantity=quantity,
            per_buyer_limit=per_buyer_limit,
            announce_at=announce_at,
            starts_at=starts_at,
            ends_at=ends_at,
            pay_minutes=pay_minutes,
            registered_only=registered_only,
            state=FlashSale.State.LIVE if starts_at <= now else FlashSale.State.SCHEDULED,
            created_by_id=getattr(created_by, "pk", None),
            for_platform=for_platform,
        )
        shop_cache.bump()
        _after_commit_load(sale)
    return sale


def flash_sale_has_buyers(sale: FlashSale) -> bool:
    """Anyone registered or grabbed: from then on the terms change only in buyers' favour."""
    if sale.registrations or sale.starts_at <= timezone.now():
        return True
    if FlashRegistration.objects.filter(sale=sale).exists():
        return True
    if FlashGrab.objects.filter(sale=sale).exists():
        return True
    try:
        return gate.gate_registered_count(schema=current_schema(), sale_id=sale.pk) > 0
    except Exception:  # Redis away: assume the worst (buyers' favour only)
        return True


def flash_sale_update(*, sale: FlashSale, terms: Terms) -> FlashSale:
    """Change SALE's terms. Before anyone registered (and before the start) anything may change
    (a smaller quantity gives units back to the SKU); after that only in buyers' favour: a lower
    price, more units (taken from the SKU's stock), a later end; the title always."""
    with transaction.atomic():
        sale = FlashSale.objects.select_for_update().select_related("item__sku").get(pk=sale.pk)
        if sale.state not in (FlashSale.State.SCHEDULED, FlashSale.State.LIVE):
            raise _fail(_("This sale has ended: it cannot change."), "flash_closed")
        flash_terms_check(item=sale.item, terms=terms)
        if terms.ends_at <= timezone.now():
            raise _fail(_("The sale must end in the future."), "flash_past", "ends_at")
        if flash_sale_has_buyers(sale):
            errors: dict[str, list[str]] = {}
            if terms.price_fen > sale.price_fen:
                errors["price_fen"] = [_("Fans have registered: the price may only go down.")]
            if terms.quantity < sale.quantity:
                errors["quantity"] = [_("Fans have registered: the quantity may only go up.")]
            if terms.ends_at < sale.ends_at:
                errors["ends_at"] = [_("Fans have registered: the end may only move later.")]
            fixed = {
                "per_buyer_limit": terms.per_buyer_limit != sale.per_buyer_limit,
                "announce_at": terms.announce_at != sale.announce_at,
                "starts_at": terms.starts_at != sale.starts_at,
                "pay_minutes": terms.pay_minutes != sale.pay_minutes,
                "registered_only": terms.registered_only != sale.registered_only,
            }
            for field, changed in fixed.items():
                if changed:
                    errors[field] = [_("Fans have registered: this may no longer change.")]
            if errors:
                raise ValidationError(errors)
        _overlap_check(
            item=sale.item, starts_at=terms.starts_at, ends_at=terms.ends_at, not_id=sale.pk
        )
        delta = terms.quantity - sale.quantity
        if delta > 0:
            _stock_take(item=sale.item, quantity=delta)
        elif delta < 0:
            campaign_stock_return(sku_id=sale.item.sku_id, quantity=-delta)
        now = timezone.now()
        for field in (
            "title",
            "price_fen",
            "quantity",
            "per_buyer_limit",
            "announce_at",
            "starts_at",
            "ends_at",
            "pay_minutes",
            "registered_only",
        ):
            setattr(sale, field, getattr(terms, field))
        sale.state = FlashSale.State.LIVE if sale.starts_at <= now else FlashSale.State.SCHEDULED
        sale.save()
        shop_cache.bump()
        schema = current_schema()

        def push() -> None:
            if not gate.gate_terms(sale=sale, schema=schema, add_units=delta):
                from django_tenants.utils import schema_context

                with schema_context(schema):
                    gate.gate_load(sale=sale, schema=schema)
            _tasks_schedule(schema=schema, sale=sale)

        transaction.on_commit(push)
    return sale


def flash_sale_cancel(*, sale: FlashSale) -> FlashSale:
    """Cancel SALE before it starts: every unit goes back to the SKU's stock, once."""
    with transaction.atomic():
        sale = FlashSale.objects.select_for_update().get(pk=sale.pk)
        if sale.state == FlashSale.State.CANCELLED:
            return sale
        if sale.state != FlashSale.State.SCHEDULED or sale.starts_at <= timezone.now():
            raise _fail(_("Only a sale that has not started can be cancelled."), "flash_started")
        back = sale.quantity - sale.units_ordered - sale.units_returned
        sale.state = FlashSale.State.CANCELLED
        sale.ended_at = timezone.now()
        sale.units_returned += back
        sale.save(update_fields=["state", "ended_at", "units_returned"])
        campaign_stock_return(sku_id=sale.item.sku_id, quantity=back)
        shop_cache.bump()
        _gate_close_on_commit(sale)
    return sale


def _gate_close_on_commit(sale: FlashSale) -> None:
    schema = current_schema()

    def close() -> None:
        try:
            gate.gate_terms(sale=sale, schema=schema)
        except Exception:  # the gate also refuses by time; reconciliation closes it later
            logger.exception("closing the gate of flash sale %s failed", sale.pk)

    transaction.on_commit(close)


def flash_sale_start(*, sale_id: int) -> bool:
    """SALE is live from its start (the pages' cache is renewed); True if it changed now."""
    with transaction.atomic():
        changed = FlashSale.objects.filter(
            pk=sale_id, state=FlashSale.State.SCHEDULED, starts_at__lte=timezone.now()
        ).update(state=FlashSale.State.LIVE)
        if changed:
            shop_cache.bump()
    return bool(changed)


def flash_sale_end(*, sale_id: int, now: datetime | None = None) -> int:
    """End SALE once its time is up: record every win still on the stream, close the gate, and
    give the unsold rest back to the SKU, exactly once. Returns the units given back (0 when
    it was not due or had ended already)."""
    from .writer import flash_writer_drain

    now = now or timezone.now()
    sale = FlashSale.objects.filter(pk=sale_id).first()
    if sale is None or sale.ends_at > now:
        return 0
    if sale.state in (FlashSale.State.ENDED, FlashSale.State.CANCELLED):
        return 0
    schema = current_schema()
    flash_writer_drain(schema=schema, sale_id=sale_id)
    with transaction.atomic():
        sale = FlashSale.objects.select_for_update().select_related("item").get(pk=sale_id)
        if sale.state in (FlashSale.State.ENDED, FlashSale.State.CANCELLED):
            return 0
        back = sale.quantity - sale.units_ordered - sale.units_returned
        sale.state = FlashSale.State.ENDED
        sale.ended_at = now
        sale.units_returned += back
        sale.save(update_fields=["state", "ended_at", "units_returned"])
        campaign_stock_return(sku_id=sale.item.sku_id, quantity=back)
        shop_cache.bump()
        _gate_close_on_commit(sale)
        campaign_closed_emit(
            kind="flash",
            campaign_id=sale.pk,
            payload={
                "listing_item_id": sale.item_id,
                "ended_at": now,
                "quantity": sale.quantity,
                "units_ordered": sale.units_ordered,
                "units_returned": back,
            },
        )
    return back


def _sale_units_add(*, sale_id: int, n: int) -> bool:
    """units_ordered += N with a checked update (never past the units the sale still has:
    quantity less what went back to the SKU); False when refused."""
    if n == 0:
        return True
    room = F("quantity") - F("units_returned") - n
    return bool(
        FlashSale.objects.filter(pk=sale_id)
        .filter(Q(units_ordered__lte=room) if n > 0 else Q(units_ordered__gte=-n))
        .update(units_ordered=F("units_ordered") + n)
    )


class _NoRoom(Exception):
    pass


def flash_grab_record(
    *, sale: FlashSale, fan_id: int, idem_key: str, won_ms: int, deadline_ms: int
) -> FlashGrab | None:
    """Record one win the gate gave (checkout got there before the writer); idempotent. None
    when the sale has no unit left in PostgreSQL (the gate and the database disagree:
    reconciliation releases it). The grab's row first, then the sale's, as the writer does:
    the two never wait on each other in a circle."""
    from storefront.models import Fan

    with transaction.atomic():
        existing = FlashGrab.objects.filter(sale=sale, idem_key=idem_key).first()
        if existing is not None:
            return existing
        if not Fan.objects.filter(pk=fan_id).exists():
            return None
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"""INSERT INTO {FlashGrab._meta.db_table}
                            (sale_id, fan_id, idem_key, status, order_number, won_at,
                             pay_deadline, created_at)
                        VALUES (%s, %s, %s, 'won', '', to_timestamp(%s / 1000.0),
                                to_timestamp(%s / 1000.0), now())
                        ON CONFLICT (sale_id, idem_key) DO NOTHING RETURNING id""",  # noqa: S608 (our table)
                        [sale.pk, fan_id, idem_key, won_ms, deadline_ms],
                    )
                    inserted = cursor.fetchone() is not None
                if inserted and not _sale_units_add(sale_id=sale.pk, n=1):
                    raise _NoRoom
        except _NoRoom:
            return None
        return FlashGrab.objects.get(sale=sale, idem_key=idem_key)


def flash_grab_expire(*, grab_id: int, now: datetime | None = None, force: bool = False) -> bool:
    """Expire a grab not paid in time: a won grab past its deadline (or, with FORCE, an ordered
    one whose order was released). Its unit goes back into the sale while it runs, to the SKU
    after its end. Idempotent; True if it expired now. In the caller's transaction if any."""
    now = now or timezone.now()
    with transaction.atomic():
        grab = FlashGrab.objects.select_for_update().filter(pk=grab_id).first()
        if grab is None or grab.status in (FlashGrab.Status.EXPIRED, FlashGrab.Status.PAID):
            return False
        if grab.status == FlashGrab.Status.ORDERED and not force:
            return False  # the order's own deadline decides (order_released)
        if grab.status == FlashGrab.Status.WON and grab.pay_deadline > now and not force:
            return False
        sale = FlashSale.objects.select_for_update().select_related("item").get(pk=grab.sale_id)
        grab.status = FlashGrab.Status.EXPIRED
        grab.save(update_fields=["status"])
        if not _sale_units_add(sale_id=sale.pk, n=-1):
            logger.error("flash sale %s: units_ordered already 0 expiring %s", sale.pk, grab.pk)
        if sale.state in (FlashSale.State.ENDED, FlashSale.State.CANCELLED):
            FlashSale.objects.filter(pk=sale.pk).update(units_returned=F("units_returned") + 1)
            campaign_stock_return(sku_id=sale.item.sku_id, quantity=1)
        else:
            schema = current_schema()
            fan_id, idem = grab.fan_id, grab.idem_key

            def release() -> None:
                try:
                    gate.gate_release(schema=schema, sale_id=sale.pk, fan_id=fan_id, idem_key=idem)
                except Exception:  # reconciliation releases it (PG says expired, gate says won)
                    logger.exception("releasing grab %s in the gate failed", grab_id)

            transaction.on_commit(release)
    return True


def flash_grabs_expire_due(*, sale_id: int, now: datetime | None = None) -> int:
    """Expire every won grab of SALE past its deadline that was never checked out."""
    now = now or timezone.now()
    due = FlashGrab.objects.filter(
        sale_id=sale_id, status=FlashGrab.Status.WON, pay_deadline__lte=now
    ).values_list("pk", flat=True)
    return sum(flash_grab_expire(grab_id=pk, now=now) for pk in list(due))


def flash_registrations_sync(*, sale_id: int) -> int:
    """Copy the gate's count of registrations to the sale's row (the page and report read it)."""
    count = gate.gate_registered_count(schema=current_schema(), sale_id=sale_id)
    FlashSale.objects.filter(pk=sale_id, registrations__lt=count).update(registrations=count)
    return count
