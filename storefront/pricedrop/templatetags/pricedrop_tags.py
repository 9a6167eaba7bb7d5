"""{% pricedrop_order_panel order %}: the price a buyer locked in, on her order page; and the
campaign page's progress from the start price to the floor."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from storefront.pricedrop.models import DropPurchase, PriceDrop
from storefront.pricedrop.services import Standing

register = template.Library()


@register.simple_tag
def pricedrop_order_panel(order: Any) -> SafeString:
    """The panel for ORDER when one of its lines was bought in a price drop ("" otherwise)."""
    if order is None or not getattr(order, "pk", None):
        return mark_safe("")
    purchase = DropPurchase.objects.select_related("campaign").filter(order_id=order.pk).first()
    if purchase is None:
        return mark_safe("")
    html = render_to_string(
        "storefront/pricedrop/order_panel.html", {"purchase": purchase, "order": order}
    )
    return mark_safe(html)  # noqa: S308 - the template escapes


@register.simple_tag
def drop_progress(campaign: PriceDrop, standing: Standing) -> int:
    """How far the price has come from the start to the floor, in percent (0–100)."""
    span = campaign.start_price_fen - campaign.floor_fen
    if span <= 0:
        return 100
    return min(100, max(0, (campaign.start_price_fen - standing.price_fen) * 100 // span))
