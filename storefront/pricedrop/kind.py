"""The price drop's hooks for orders (storefront.campaigns.claims.CampaignKind), kind "drop"."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from storefront.campaigns.claims import CampaignClaim
from storefront.campaigns.rules import campaign_price_check, campaign_stock_return

from .models import DropPurchase, PriceDrop
from .services import (
    pricedrop_end,
    pricedrop_fan_units,
    pricedrop_standing,
    pricedrop_ticket_read,
)

KIND = "drop"


class PriceDropKind:
    kind = KIND

    def claim_from_ticket(self, *, ticket: str, fan: Any | None) -> CampaignClaim:
        """The current price at this moment: the order holds it for its pay window."""
        campaign_id, quantity = pricedrop_ticket_read(ticket)
        campaign = (
            PriceDrop.objects.select_related("item__sku", "item__listing")
            .filter(pk=campaign_id)
            .first()
        )
        if campaign is None:
            raise ValidationError(_("This price drop link is not valid."), code="campaign_ticket")
        standing = pricedrop_standing(campaign=campaign)
        if not standing.open:
            raise ValidationError(
                _("This price drop has ended or sold out."), code="campaign_closed"
            )
        if quantity > min(campaign.per_fan_limit, standing.left):
            raise ValidationError(
                _("You may buy at most %(n)s of this price drop.")
                % {"n": min(campaign.per_fan_limit, standing.left)},
                code="campaign_limit",
            )
        if fan is not None and (
            pricedrop_fan_units(campaign=campaign, fan_id=fan.pk) + quantity
            > campaign.per_fan_limit
        ):
            raise ValidationError(
                _("You have already bought as many of this price drop as one fan may."),
                code="campaign_limit",
            )
        # The shop's price or the supplier's bounds may have moved since the campaign was set
        # up: a price outside them is never sold.
        campaign_price_check(item=campaign.item, price_fen=standing.price_fen)
        return CampaignClaim(
            kind=KIND,
            campaign_id=campaign.pk,
            item_id=campaign.item_id,
            quantity=quantity,
            unit_price_fen=standing.price_fen,
            ref=str(standing.counted),
        )

    def order_attach(self, *, order: Any, claim: CampaignClaim) -> None:
        """Take the units from the quota with a checked update (first buyers win; at the last
        unit exactly one concurrent buyer gets it) and hold the per-fan limit. The fan's row
        is locked by order_place, so her own concurrent orders count one after another."""
        campaign = PriceDrop.objects.get(pk=claim.campaign_id)
        if pricedrop_fan_units(campaign=campaign, fan_id=order.fan_id) + claim.quantity > (
            campaign.per_fan_limit
        ):
            raise ValidationError(
                _("You have already bought as many of this price drop as one fan may."),
                code="campaign_limit",
            )
        taken = PriceDrop.objects.filter(
            pk=campaign.pk,
            status=PriceDrop.Status.RUNNING,
            ends_at__gt=timezone.now(),
            units_taken__lte=F("quantity") - claim.quantity,
        ).update(units_taken=F("units_taken") + claim.quantity)
        if not taken:
            raise ValidationError(
                _("Sorry, the price drop sold out while you were ordering."),
                code="campaign_sold_out",
            )
        ref = claim.ref if claim.ref.isdigit() else "0"
        DropPurchase.objects.create(
            campaign=campaign,
            fan_id=order.fan_id,
            order=order,
            quantity=claim.quantity,
            unit_price_fen=claim.unit_price_fen,
            counted_at_order=int(ref),
        )

    def order_released(self, *, order: Any, line: Any) -> None:
        """Unpaid: the units go back to the campaign, or to the SKU once it has ended."""
        purchase = DropPurchase.objects.filter(order=order).first()
        if purchase is None:
            return
        campaign = PriceDrop.objects.select_for_update().get(pk=purchase.campaign_id)
        if not DropPurchase.objects.filter(pk=purchase.pk, state=DropPurchase.State.HELD).update(
            state=DropPurchase.State.RELEASED
        ):
            return  # released already
        if campaign.status == PriceDrop.Status.ENDED:
            campaign_stock_return(sku_id=line.sku_id, quantity=purchase.quantity)
            PriceDrop.objects.filter(pk=campaign.pk).update(
                units_taken=F("units_taken") - purchase.quantity,
                units_returned=F("units_returned") + purchase.quantity,
            )
        else:
            PriceDrop.objects.filter(pk=campaign.pk).update(
                units_taken=F("units_taken") - purchase.quantity
            )

    def order_paid(self, *, order: Any, line: Any) -> None:
        """Count the buyer; the last unit paid ends the campaign (sold out)."""
        purchase = DropPurchase.objects.filter(order=order).first()
        if purchase is None or not DropPurchase.objects.filter(
            pk=purchase.pk, state=DropPurchase.State.HELD
        ).update(state=DropPurchase.State.PAID):
            return
        PriceDrop.objects.filter(pk=purchase.campaign_id).update(
            units_paid=F("units_paid") + purchase.quantity
        )
        campaign = PriceDrop.objects.get(pk=purchase.campaign_id)
        if campaign.units_paid >= campaign.quantity:
            pricedrop_end(campaign=campaign, reason=PriceDrop.EndReason.SOLD_OUT)

    def listing_strip(self, *, listing_id: int) -> str:
        """A badge linking to the running price drop of the listing (static figures only: the
        page is cached; the campaign page shows the live price)."""
        now = timezone.now()
        campaign = (
            PriceDrop.objects.filter(
                item__listing_id=listing_id,
                status=PriceDrop.Status.RUNNING,
                starts_at__lte=now,
                ends_at__gt=now,
            )
            .order_by("pk")
            .first()
        )
        if campaign is None:
            return ""
        return render_to_string("storefront/pricedrop/strip.html", {"campaign": campaign})

    def live_listing_ids(self) -> frozenset[int]:
        """Listings with a price drop running now (one query per page of cards)."""
        now = timezone.now()
        return frozenset(
            PriceDrop.objects.filter(
                status=PriceDrop.Status.RUNNING, starts_at__lte=now, ends_at__gt=now
            ).values_list("item__listing_id", flat=True)
        )

    def live_price_fen(self, *, listing_id: int) -> int | None:
        now = timezone.now()
        running = PriceDrop.objects.filter(
            item__listing_id=listing_id,
            status=PriceDrop.Status.RUNNING,
            starts_at__lte=now,
            ends_at__gt=now,
        )
        prices = [pricedrop_standing(campaign=c, now=now).price_fen for c in running]
        return min(prices, default=None)

    def holds_fulfilment(self, *, order: Any) -> bool:
        return False
