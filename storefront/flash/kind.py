"""The flash sale as a campaign kind (storefront.campaigns): a won grab becomes a checkout.

The ticket in the checkout link (?campaign=flash:<token>) is signed (django.core.signing, salt
"flash.grab") and carries the shop's schema, the sale, the fan and the grab's idem key: it
cannot be forged or moved to another shop, and only the fan who won may use it. The buyer then
pays through the normal payment path, at the flash price, within the grab's pay window.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.shop import current_schema
from storefront.campaigns.claims import CampaignClaim
from storefront.campaigns.rules import campaign_price_check

from . import gate
from .models import FlashGrab, FlashSale

logger = logging.getLogger(__name__)

SALT = "flash.grab"
# A ticket outlives any pay window (at most 120 minutes); the grab's own deadline decides.
TICKET_MAX_AGE = 3 * 3600


def flash_ticket(
    grab: FlashGrab | None = None,
    *,
    sale_id: int | None = None,
    fan_id: int | None = None,
    idem_key: str | None = None,
    schema: str | None = None,
) -> str:
    """The checkout ticket "flash:<signed token>" of GRAB (or of a win the writer has not
    recorded yet: SALE_ID, FAN_ID, IDEM_KEY), for /checkout/?campaign=<ticket>."""
    if grab is not None:
        sale_id, fan_id, idem_key = grab.sale_id, grab.fan_id, grab.idem_key
    if sale_id is None or fan_id is None or not idem_key:
        raise ValueError("a flash ticket needs a grab or its sale, fan and idem key")
    token = signing.dumps([schema or current_schema(), sale_id, fan_id, idem_key], salt=SALT)
    return f"flash:{token}"


def _invalid() -> ValidationError:
    return ValidationError(_("This flash sale link is not valid."), code="campaign_ticket")


def _ticket_read(ticket: str) -> tuple[int, int, str]:
    try:
        schema, sale_id, fan_id, idem = signing.loads(ticket, salt=SALT, max_age=TICKET_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ValidationError(
            _("The time to pay for this flash sale grab is over."), code="campaign_expired"
        ) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise _invalid() from exc
    if schema != current_schema() or not isinstance(sale_id, int) or not isinstance(fan_id, int):
        raise _invalid()  # another shop's ticket
    if not isinstance(idem, str) or not gate.IDEM.match(idem):
        raise _invalid()
    return sale_id, fan_id, idem


def flash_grab_for_ticket(*, sale: FlashSale, fan_id: int, idem: str) -> FlashGrab | None:
    """The grab of a ticket: recorded, or recorded now from the gate (the writer has not got
    there yet); None when neither knows it."""
    from .services import flash_grab_record

    grab = FlashGrab.objects.filter(sale=sale, idem_key=idem).first()
    if grab is not None:
        return grab
    known = gate.gate_idem(schema=current_schema(), sale_id=sale.pk, idem_key=idem)
    if known is None or known[0] != fan_id or known[2] != "w":
        return None
    deadline_ms = known[1]
    won_ms = deadline_ms - sale.pay_minutes * 60_000
    return flash_grab_record(
        sale=sale, fan_id=fan_id, idem_key=idem, won_ms=won_ms, deadline_ms=deadline_ms
    )


class FlashKind:
    kind = "flash"

    def claim_from_ticket(self, *, ticket: str, fan: Any | None) -> CampaignClaim:
        sale_id, fan_id, idem = _ticket_read(ticket)
        if fan is None:
            raise ValidationError(
                _("Sign in with the mobile number or e-mail you grabbed with."),
                code="campaign_sign_in",
            )
        if fan.pk != fan_id:
            raise _invalid()  # someone else's grab
        sale = FlashSale.objects.select_related("item__sku").filter(pk=sale_id).first()
        if sale is None:
            raise _invalid()
        grab = flash_grab_for_ticket(sale=sale, fan_id=fan_id, idem=idem)
        if grab is None or grab.fan_id != fan_id:
            raise _invalid()
        if grab.status == FlashGrab.Status.ORDERED:
            raise ValidationError(
                _("This grab is already in an order: pay for it from your orders."),
                code="campaign_used",
            )
        if grab.status == FlashGrab.Status.PAID:
            raise ValidationError(_("This grab is paid already."), code="campaign_used")
        if grab.status == FlashGrab.Status.EXPIRED or grab.pay_deadline <= timezone.now():
            raise ValidationError(
                _("The time to pay for this flash sale grab is over."), code="campaign_expired"
            )
        campaign_price_check(item=sale.item, price_fen=sale.price_fen)
        return CampaignClaim(
            kind=self.kind,
            campaign_id=sale.pk,
            item_id=sale.item_id,
            quantity=1,
            unit_price_fen=sale.price_fen,
            ref=idem,
            pay_deadline=grab.pay_deadline,
        )

    def order_attach(self, *, order: Any, claim: CampaignClaim) -> None:
        grab = (
            FlashGrab.objects.select_for_update()
            .filter(sale_id=claim.campaign_id, idem_key=claim.ref)
            .first()
        )
        if grab is None or grab.status != FlashGrab.Status.WON:
            raise ValidationError(
                _("This grab is already in an order: pay for it from your orders."),
                code="campaign_used",
            )
        if grab.pay_deadline <= timezone.now():
            raise ValidationError(
                _("The time to pay for this flash sale grab is over."), code="campaign_expired"
            )
        if order.fan_id != grab.fan_id:
            raise _invalid()
        grab.status = FlashGrab.Status.ORDERED
        grab.order_number = order.number
        grab.save(update_fields=["status", "order_number"])

    def _grab_of(self, *, order: Any, line: Any) -> FlashGrab | None:
        from storefront.campaigns.claims import campaign_source_parse

        parsed = campaign_source_parse(line.campaign)
        if parsed is None:
            return None
        return FlashGrab.objects.filter(sale_id=parsed[1], order_number=order.number).first()

    def order_released(self, *, order: Any, line: Any) -> None:
        from .services import flash_grab_expire

        grab = self._grab_of(order=order, line=line)
        if grab is not None:
            flash_grab_expire(grab_id=grab.pk, force=True)

    def order_paid(self, *, order: Any, line: Any) -> None:
        grab = self._grab_of(order=order, line=line)
        if grab is None:
            return
        FlashGrab.objects.filter(pk=grab.pk, status=FlashGrab.Status.ORDERED).update(
            status=FlashGrab.Status.PAID
        )

    @staticmethod
    def _showing() -> Any:
        """Sales announced or running now (cancelled and ended ones never show)."""
        now = timezone.now()
        return FlashSale.objects.filter(
            state__in=[FlashSale.State.SCHEDULED, FlashSale.State.LIVE],
            announce_at__lte=now,
            ends_at__gt=now,
        )

    def live_listing_ids(self) -> frozenset[int]:
        return frozenset(self._showing().values_list("item__listing_id", flat=True))

    def listing_strip(self, *, listing_id: int) -> str:
        sale = (
            self._showing()
            .select_related("item__listing")
            .filter(item__listing_id=listing_id)
            .order_by("starts_at", "pk")
            .first()
        )
        if sale is None:
            return ""
        try:
            return render_to_string("storefront/flash/strip.html", {"sale": sale})
        except Exception:  # a broken strip must never break the product page
            logger.exception("rendering the flash strip of sale %s failed", sale.pk)
            return ""

    def live_price_fen(self, *, listing_id: int) -> int | None:
        prices = (
            self._showing()
            .filter(item__listing_id=listing_id, starts_at__lte=timezone.now())
            .values_list("price_fen", flat=True)
        )
        return min(prices, default=None)

    def holds_fulfilment(self, *, order: Any) -> bool:
        return False
