"""The delivery fee of an order, from its suppliers' shipping terms for the buyer's province.

One function, used by the checkout's quote (shown as soon as the province is chosen) and by
order_place (what the buyer is charged), so the two can never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from catalog.selectors import shipping_fee_fen
from storefront.pricing import lines_price

if TYPE_CHECKING:
    from storefront.models import ListingItem


def delivery_fees(
    *, items: dict[int, ListingItem], quantities: dict[int, int], province: str
) -> dict[int, int]:
    """Delivery fee per item id: each (supplier, template) charged once, on its first line.

    Goods that share a shipping template travel in one parcel, so their weights and values are
    added up before the template's first-kg / extra-kg / free-over rules apply. Raises
    ValidationError (code "no_delivery") when a template does not deliver to PROVINCE.
    """
    # Free-delivery thresholds apply to what the buyer pays for the goods (the pricing seam's
    # totals), not to list prices.
    priced = lines_price(items=items, quantities=quantities)
    groups: dict[int, list[int]] = defaultdict(list)
    for item_id in sorted(quantities):
        groups[items[item_id].sku.product.shipping_template_id].append(item_id)
    fees: dict[int, int] = {}
    for item_ids in groups.values():
        template = items[item_ids[0]].sku.product.shipping_template
        weight = sum(items[i].sku.product.weight_g * quantities[i] for i in item_ids)
        value = sum(priced.line(i).total_fen for i in item_ids)
        fee = shipping_fee_fen(
            template=template, region=province, weight_g=weight, order_value_fen=value
        )
        if fee is None:
            titles = "、".join(items[i].listing.title for i in item_ids)
            raise ValidationError(
                _("%(goods)s cannot be delivered to %(province)s.")
                % {"goods": titles, "province": province},
                code="no_delivery",
            )
        fees[item_ids[0]] = fee
    return fees
