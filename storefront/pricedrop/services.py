"""Share price drops: set up, start, count, end; the price always derives from the count.

price = start − step × counted shares, never below the floor (PriceDrop.price_at). Counted
shares live in Redis (counting.py) and are written to PostgreSQL in batches
(`pricedrop_flush`, a task every few seconds); `pricedrop_recount` rebuilds Redis from
PostgreSQL, which it also does by itself when it finds the live state gone.

Stock: the quantity leaves the SKU's shared stock when the campaign starts (one checked update,
campaigns.rules.campaign_stock_take) and what no order holds goes back when it ends, exactly
once (`units_returned` is set under the campaign's row lock). A unit an unpaid order gives back
afterwards goes to the SKU (kind.py).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from core import shop_cache
from core.shop import current_shop_id
from storefront.campaigns.rules import (
    campaign_price_check,
    campaign_stock_return,
    campaign_stock_take,
)
from storefront.models import Fan, ListingItem, ShareLink
from storefront.sharing.services import share_code_new
from storefront.shopapi.events import campaign_closed_emit

from . import counting
from .models import DropPurchase, DropSharer, PriceDrop

logger = logging.getLogger(__name__)

QUANTITY_MAX = 10_000
PER_FAN_MAX = 10
WINDOW_MAX = timedelta(days=30)
TICKET_SALT = "storefront.pricedrop.ticket"
TICKET_SECONDS = 2 * 3600
TICKET = re.compile(r"[A-Za-z0-9_\-:.]{10,300}\Z")


@dataclass(frozen=True)
class Terms:
    """What the creator sets (amounts in fen)."""

    title: str
    start_price_fen: int
    step_fen: int
    floor_fen: int
    quantity: int
    per_fan_limit: int
    starts_at: datetime
    ends_at: datetime


def _terms_check(*, item: ListingItem, terms: Terms, now: datetime) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not terms.title.strip():
        add("title", _("Give the price drop a name."))
    for name, price in (("start_price_fen", terms.start_price_fen), ("floor_fen", terms.floor_fen)):
        try:
            campaign_price_check(item=item, price_fen=price)
        except ValidationError as exc:
            add(name, " ".join(exc.messages))
    if terms.floor_fen > terms.start_price_fen:
        add("floor_fen", _("The floor may not be above the start price."))
    if terms.step_fen < 1:
        add("step_fen", _("The step must be at least ¥0.01."))
    elif terms.start_price_fen > terms.floor_fen and terms.step_fen > (
        terms.start_price_fen - terms.floor_fen
    ):
        add("step_fen", _("The step may not be larger than the start price minus the floor."))
    if not 1 <= terms.quantity <= QUANTITY_MAX:
        add("quantity", _("The quantity must be between 1 and %(max)s.") % {"max": QUANTITY_MAX})
    if not 1 <= terms.per_fan_limit <= PER_FAN_MAX:
        add(
            "per_fan_limit",
            _("Each fan may buy between 1 and %(max)s units.") % {"max": PER_FAN_MAX},
        )
    if terms.ends_at <= terms.starts_at:
        add("ends_at", _("The end must be after the start."))
    elif terms.ends_at <= now:
        add("ends_at", _("The end must be in the future."))
    elif terms.ends_at - terms.starts_at > WINDOW_MAX:
        add("ends_at", _("A price drop lasts at most 30 days."))
    if errors:
        raise ValidationError(errors)


def pricedrop_create(*, item: ListingItem, terms: Terms) -> PriceDrop:
    """A new price drop of ITEM; it starts at once when its start has come (taking its quantity
    out of the SKU's stock), else the minute task starts it. ValidationError for bad terms,
    another open price drop of the same item, or stock that is not there."""
    now = timezone.now()
    item = ListingItem.objects.select_related("sku", "listing").get(pk=item.pk)
    _terms_check(item=item, terms=terms, now=now)
    with transaction.atomic():
        # One open price drop per item: two prices for one thing would confuse everyone.
        ListingItem.objects.select_for_update().get(pk=item.pk)
        if PriceDrop.objects.filter(
            item=item, status__in=[PriceDrop.Status.SCHEDULED, PriceDrop.Status.RUNNING]
        ).exists():
            raise ValidationError(
                {"item": [_("This item already has a price drop that has not ended.")]}
            )
        campaign = PriceDrop.objects.create(
            item=item,
            title=terms.title.strip(),
            start_price_fen=terms.start_price_fen,
            step_fen=terms.step_fen,
            floor_fen=terms.floor_fen,
            quantity=terms.quantity,
            per_fan_limit=terms.per_fan_limit,
            starts_at=terms.starts_at,
            ends_at=terms.ends_at,
        )
        if terms.starts_at <= now and not _start_locked(campaign):
            raise ValidationError(
                {"quantity": [_("The supplier does not have that many units in stock.")]}
            )
    return campaign


def pricedrop_has_activity(*, campaign: PriceDrop) -> bool:
    """Someone bought or a share was counted: from now on terms change only in buyers' favour."""
    return (
        DropPurchase.objects.filter(campaign=campaign).exists()
        or DropSharer.objects.filter(campaign=campaign, counted_at__isnull=False).exists()
        or bool(counting_safe_count(campaign))
    )


def counting_safe_count(campaign: PriceDrop) -> int:
    try:
        return counting.live_count(campaign_id=campaign.pk) or 0
    except redis.RedisError:
        return 0


def pricedrop_update(*, campaign: PriceDrop, terms: Terms) -> PriceDrop:
    """Change CAMPAIGN's terms. Once someone bought or a share counted, only in buyers' favour:
    start and floor not higher, step not smaller, quantity and per-fan limit not lower, the
    end not earlier. A running campaign's larger quantity is taken from the SKU's stock."""
    now = timezone.now()
    with transaction.atomic():
        campaign = (
            PriceDrop.objects.select_for_update().select_related("item__sku").get(pk=campaign.pk)
        )
        if campaign.status == PriceDrop.Status.ENDED:
            raise ValidationError(_("This price drop has ended: it can no longer be changed."))
        starts_at = (
            terms.starts_at
            if campaign.status == PriceDrop.Status.SCHEDULED
            else (campaign.starts_at)
        )
        terms = Terms(**{**terms.__dict__, "starts_at": starts_at})
        _terms_check(item=campaign.item, terms=terms, now=now)
        if pricedrop_has_activity(campaign=campaign):
            worse = {
                "start_price_fen": terms.start_price_fen > campaign.start_price_fen,
                "floor_fen": terms.floor_fen > campaign.floor_fen,
                "step_fen": terms.step_fen < campaign.step_fen,
                "quantity": terms.quantity < campaign.quantity,
                "per_fan_limit": terms.per_fan_limit < campaign.per_fan_limit,
                "ends_at": terms.ends_at < campaign.ends_at,
            }
            bad = [name for name, is_worse in worse.items() if is_worse]
            if bad:
                message = _(
                    "Fans have already shared or bought: terms may only change in their favour."
                )
                raise ValidationError({name: [message] for name in bad})
        if terms.quantity < campaign.units_taken:
            raise ValidationError({"quantity": [_("Orders already hold more units than that.")]})
        if campaign.status == PriceDrop.Status.RUNNING and campaign.stock_taken:
            more = terms.quantity - campaign.quantity
            if more > 0 and not campaign_stock_take(sku_id=campaign.item.sku_id, quantity=more):
                raise ValidationError(
                    {"quantity": [_("The supplier does not have that many units in stock.")]}
                )
            if more < 0:
                campaign_stock_return(sku_id=campaign.item.sku_id, quantity=-more)
        for name, value in terms.__dict__.items():
            setattr(campaign, name, value.strip() if name == "title" else value)
        campaign.save()
        shop_cache.bump()
    return campaign


def _start_locked(campaign: PriceDrop) -> bool:
    """Start CAMPAIGN (its row locked by the caller): take the quantity from the SKU."""
    if not campaign_stock_take(sku_id=campaign.item.sku_id, quantity=campaign.quantity):
        return False
    campaign.status = PriceDrop.Status.RUNNING
    campaign.stock_taken = True
    campaign.save(update_fields=["status", "stock_taken"])
    shop_cache.bump()
    return True


def pricedrop_start(*, campaign: PriceDrop, now: datetime | None = None) -> PriceDrop:
    """Start a scheduled campaign whose start has come; idempotent. Without the stock it ends
    (NO_STOCK) and the creator sees why."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = PriceDrop.objects.select_for_update().select_related("item").get(pk=campaign.pk)
        if campaign.status != PriceDrop.Status.SCHEDULED or campaign.starts_at > now:
            return campaign
        if not _start_locked(campaign):
            campaign.status = PriceDrop.Status.ENDED
            campaign.end_reason = PriceDrop.EndReason.NO_STOCK
            campaign.ended_at = now
            campaign.units_returned = 0
            campaign.save(update_fields=["status", "end_reason", "ended_at", "units_returned"])
    return campaign


def pricedrop_end(*, campaign: PriceDrop, reason: str) -> PriceDrop:
    """End CAMPAIGN: the units no order holds go back to the SKU, exactly once; idempotent."""
    with transaction.atomic():
        campaign = PriceDrop.objects.select_for_update().select_related("item").get(pk=campaign.pk)
        if campaign.status == PriceDrop.Status.ENDED:
            return campaign
        back = campaign.quantity - campaign.units_taken if campaign.stock_taken else 0
        campaign_stock_return(sku_id=campaign.item.sku_id, quantity=back)
        campaign.status = PriceDrop.Status.ENDED
        campaign.end_reason = reason
        campaign.ended_at = timezone.now()
        campaign.units_returned = back
        campaign.save(update_fields=["status", "end_reason", "ended_at", "units_returned"])
        shop_cache.bump()
        campaign_closed_emit(
            kind="drop",
            campaign_id=campaign.pk,
            payload={
                "listing_item_id": campaign.item_id,
                "ended_at": campaign.ended_at,
                "reason": campaign.end_reason,
                "units_taken": campaign.units_taken,
                "units_returned": back,
            },
        )
        ended_id = campaign.pk
        transaction.on_commit(lambda: _flush_quietly(ended_id))
    return campaign


def _flush_quietly(campaign_id: int) -> None:
    try:
        pricedrop_flush(campaign_id=campaign_id)
    except redis.RedisError:
        logger.warning("pricedrop %s: not flushed at its end", campaign_id, exc_info=True)


def pricedrops_due_run(*, now: datetime | None = None) -> tuple[int, int]:
    """Start the shop's campaigns whose start has come and end those whose window is over;
    (started, ended). Idempotent: the minute task calls it in every shop."""
    now = now or timezone.now()
    started = ended = 0
    for campaign in PriceDrop.objects.filter(
        status=PriceDrop.Status.SCHEDULED, starts_at__lte=now
    ).order_by("pk"):
        if pricedrop_start(campaign=campaign, now=now).status == PriceDrop.Status.RUNNING:
            started += 1
    for campaign in PriceDrop.objects.filter(
        status=PriceDrop.Status.RUNNING, ends_at__lte=now
    ).order_by("pk"):
        pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.WINDOW)
        ended += 1
    return started, ended


# --- counting ----------------------------------------------------------------------------------


def pricedrop_flush(*, campaign_id: int, batch: int = 500) -> int:
    """Write the counted shares Redis holds for CAMPAIGN_ID to PostgreSQL, in batches, and its
    visits; returns the shares written. Idempotent: a share already written is not written
    again (a crash between the write and the trim only repeats the write)."""
    if not counting.lock(campaign_id=campaign_id, name="flush"):
        return 0
    written = 0
    try:
        while True:
            read, rows = counting.pending_read(campaign_id=campaign_id, limit=batch)
            if not read:
                break
            with transaction.atomic():
                for sharer_id, visitor, address, ms in rows:
                    written += DropSharer.objects.filter(
                        campaign_id=campaign_id, fan_id=sharer_id, counted_at__isnull=True
                    ).update(
                        counted_at=datetime.fromtimestamp(ms / 1000, tz=UTC),
                        counted_by=visitor[:40],
                        counted_addr=address[:40],
                    )
            counting.pending_trim(campaign_id=campaign_id, n=read)
        visits = counting.live_visits(campaign_id=campaign_id)
        if visits:
            PriceDrop.objects.filter(pk=campaign_id).update(visits=Greatest(F("visits"), visits))
    finally:
        counting.unlock(campaign_id=campaign_id, name="flush")
    return written


def pricedrop_recount(*, campaign_id: int) -> int:
    """Rebuild CAMPAIGN_ID's live state in Redis from PostgreSQL (after Redis lost its data);
    returns the counted shares. It merges, never removes: shares Redis counted and has not yet
    written stay counted, and those it has are written first."""
    counting_ready = counting.live_count(campaign_id=campaign_id) is not None
    if counting_ready:
        pricedrop_flush(campaign_id=campaign_id)
    counted = list(
        DropSharer.objects.filter(campaign_id=campaign_id, counted_at__isnull=False)
        .order_by("pk")
        .values_list("fan_id", "counted_by", "counted_addr")
    )
    addresses: dict[str, int] = {}
    for _fan, _by, address in counted:
        if address:
            addresses[address] = addresses.get(address, 0) + 1
    own = {
        fan_id: list(keys or [])
        for fan_id, keys in DropSharer.objects.filter(campaign_id=campaign_id).values_list(
            "fan_id", "own_keys"
        )
    }
    visits = PriceDrop.objects.filter(pk=campaign_id).values_list("visits", flat=True).first()
    return counting.rebuild(
        campaign_id=campaign_id,
        sharers=[(fan_id, by) for fan_id, by, _a in counted],
        addresses=addresses,
        own=own,
        visits=visits or 0,
    )


def pricedrop_counted_pg(*, campaign: PriceDrop) -> int:
    return DropSharer.objects.filter(campaign=campaign, counted_at__isnull=False).count()


def pricedrop_counted(*, campaign: PriceDrop) -> int:
    """Counted shares now: Redis's live count (rebuilt from PostgreSQL when it was lost), or
    PostgreSQL's when Redis is down or the campaign has ended (its count is final)."""
    if campaign.status == PriceDrop.Status.ENDED:
        return pricedrop_counted_pg(campaign=campaign)
    try:
        live = counting.live_count(campaign_id=campaign.pk)
        if live is None:
            live = pricedrop_recount(campaign_id=campaign.pk)
        return live
    except redis.RedisError:
        logger.warning("pricedrop %s: Redis down, price from PostgreSQL", campaign.pk)
        return pricedrop_counted_pg(campaign=campaign)


@dataclass(frozen=True)
class Standing:
    """A campaign as a buyer sees it now."""

    price_fen: int
    counted: int
    left: int  # units no order holds
    to_floor: int  # counted shares still lowering the price
    open: bool  # running, inside its window, units left


def pricedrop_standing(*, campaign: PriceDrop, now: datetime | None = None) -> Standing:
    now = now or timezone.now()
    counted = pricedrop_counted(campaign=campaign)
    left = max(campaign.quantity - campaign.units_taken, 0)
    return Standing(
        price_fen=campaign.price_at(counted),
        counted=counted,
        left=left,
        to_floor=max(campaign.shares_to_floor() - counted, 0),
        open=campaign.status == PriceDrop.Status.RUNNING
        and campaign.starts_at <= now < campaign.ends_at
        and left > 0,
    )


def pricedrop_sharer_ensure(*, campaign: PriceDrop, fan: Fan, own_keys: list[str]) -> DropSharer:
    """FAN's own link for CAMPAIGN (her ShareLink of its listing, made once); OWN_KEYS (her
    device and address keys) are remembered so her own visits never count."""
    listing_id = campaign.item.listing_id
    link = ShareLink.objects.filter(listing_id=listing_id, sharer=fan).first()
    if link is None:
        try:
            with transaction.atomic():
                link = ShareLink.objects.create(
                    code=share_code_new(), listing_id=listing_id, sharer=fan
                )
        except IntegrityError:  # made by a concurrent request
            link = ShareLink.objects.get(listing_id=listing_id, sharer=fan)
    sharer, _made = DropSharer.objects.get_or_create(
        campaign=campaign, fan=fan, defaults={"share_link": link}
    )
    pricedrop_own_keys_note(sharer=sharer, keys=own_keys)
    return sharer


def pricedrop_own_keys_note(*, sharer: DropSharer, keys: list[str]) -> None:
    """Remember KEYS as SHARER's own, in Redis and (when one is new) in PostgreSQL."""
    keys = [f"f:{sharer.fan_id}", *keys]
    try:
        new = counting.own_keys_add(
            campaign_id=sharer.campaign_id, sharer_id=sharer.fan_id, keys=keys
        )
    except redis.RedisError:
        new = True
    if new or not sharer.own_keys:
        with transaction.atomic():
            row = DropSharer.objects.select_for_update().get(pk=sharer.pk)
            merged = [k for k in row.own_keys if k not in keys] + keys
            row.own_keys = merged[-counting.OWN_KEYS_MAX :]
            row.save(update_fields=["own_keys"])


def pricedrop_visit(
    *,
    sharer: DropSharer,
    visitor_fan_id: int | None,
    device: str,
    address: str,
) -> counting.Visit:
    """A visit through SHARER's link by a visitor (signed-in fan id, device and address keys),
    counted by counting's rules; rebuilds Redis once when its live state was lost."""
    fan = f"f:{visitor_fan_id}" if visitor_fan_id else ""
    for _attempt in range(2):
        visit = counting.visit_count(
            campaign_id=sharer.campaign_id,
            sharer_id=sharer.fan_id,
            visitor=fan or device,
            device=device,
            fan=fan,
            address=address,
            now_ms=int(time.time() * 1000),
        )
        if visit.flush:
            from .tasks import pricedrop_flush_send

            pricedrop_flush_send(campaign_id=sharer.campaign_id)
        if visit.outcome != counting.Outcome.REBUILD:
            return visit
        pricedrop_recount(campaign_id=sharer.campaign_id)
    return visit


# --- buying ------------------------------------------------------------------------------------


def pricedrop_ticket(*, campaign: PriceDrop, quantity: int) -> str:
    """The checkout ticket (without the "drop:" prefix) for QUANTITY units of CAMPAIGN in this
    shop. It carries no price: the price is taken when the order is placed."""
    return signing.dumps(
        {"c": campaign.pk, "q": quantity, "s": current_shop_id()}, salt=TICKET_SALT, compress=False
    )


def pricedrop_ticket_read(ticket: str) -> tuple[int, int]:
    """(campaign id, quantity) of a ticket made in this shop; ValidationError otherwise."""
    invalid = ValidationError(_("This price drop link is not valid."), code="campaign_ticket")
    if not TICKET.match(ticket):
        raise invalid
    try:
        data: Any = signing.loads(ticket, salt=TICKET_SALT, max_age=TICKET_SECONDS)
    except signing.SignatureExpired as exc:
        raise ValidationError(
            _("This price drop link has expired: open the price drop again."),
            code="campaign_ticket",
        ) from exc
    except signing.BadSignature as exc:
        raise invalid from exc
    if not isinstance(data, dict) or data.get("s") != current_shop_id():
        raise invalid
    campaign_id, quantity = data.get("c"), data.get("q")
    if not isinstance(campaign_id, int) or not isinstance(quantity, int) or quantity < 1:
        raise invalid
    return campaign_id, quantity


def pricedrop_fan_units(*, campaign: PriceDrop, fan_id: int) -> int:
    """Units FAN_ID holds or bought in CAMPAIGN (her per-fan limit counts these)."""
    return sum(
        DropPurchase.objects.filter(
            campaign=campaign,
            fan_id=fan_id,
            state__in=[DropPurchase.State.HELD, DropPurchase.State.PAID],
        ).values_list("quantity", flat=True)
    )


def pricedrop_buyers(*, campaign: PriceDrop) -> int:
    return (
        DropPurchase.objects.filter(campaign=campaign, state=DropPurchase.State.PAID)
        .aggregate(n=Count("fan_id", distinct=True))
        .get("n")
        or 0
    )
