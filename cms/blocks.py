"""StreamField blocks that sell: a product card and a product grid, each picking the shop's
listings through the listing chooser, and a coupon fans claim (领券) from the article."""

from __future__ import annotations

from functools import cached_property

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.blocks import StructBlockValidationError

from .choosers import listing_chooser_viewset
from .selectors import listing_card, listings_by_id, product_url


def _as_id(value) -> int | None:
    if value is None or hasattr(value, "pk"):
        return getattr(value, "pk", None)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ListingChooserBlock(blocks.ChooserBlock):
    """Stores a listing's id. Every card on a page is fetched in one batch (bulk_to_python);
    a listing deleted since becomes None, which the card template shows as unavailable."""

    @cached_property
    def target_model(self):
        from storefront.models import Listing

        return Listing

    @cached_property
    def widget(self):
        return listing_chooser_viewset.widget_class()

    def bulk_to_python(self, values):
        ids = [_as_id(v) for v in values]
        found = listings_by_id(i for i in ids if i is not None)
        return [found.get(i) if i is not None else None for i in ids]

    def to_python(self, value):
        return self.bulk_to_python([value])[0]

    class Meta:
        icon = "tag"


def _card_context(listing, parent_context: dict | None) -> dict:
    request = (parent_context or {}).get("request")
    card = listing_card(listing)
    return {"card": card, "product_url": product_url(card.listing_id, request)}


class ProductCardBlock(blocks.StructBlock):
    listing = ListingChooserBlock(label=_("Product"))
    note = blocks.CharBlock(
        label=_("Your note"),
        required=False,
        max_length=120,
        help_text=_("A line from you under the card, e.g. why you recommend it."),
    )

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context.update(_card_context(value.get("listing"), parent_context))
        context.update(note=value.get("note"), single=True)
        return context

    class Meta:
        icon = "tag"
        label = _("Product card")
        template = "cms/blocks/card.html"


class ProductGridBlock(blocks.StructBlock):
    heading = blocks.CharBlock(label=_("Heading"), required=False, max_length=80)
    listings = blocks.ListBlock(ListingChooserBlock(label=_("Product")), min_num=1, max_num=12)

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        request = (parent_context or {}).get("request")
        cards = []
        for listing in value.get("listings") or []:
            card = listing_card(listing)
            cards.append({"card": card, "product_url": product_url(card.listing_id, request)})
        context["cards"] = cards
        return context

    class Meta:
        icon = "table"
        label = _("Product grid")
        template = "cms/blocks/product_grid.html"


class CouponBlock(blocks.StructBlock):
    """One of the shop's coupons, with a 领取 button, inside an article.

    The article is kept in the anonymous page cache: the block shows what is the same for every
    reader (the coupon's terms while anyone may claim it, nothing once it is ended, paused or all
    claimed) and the claim POST answers for each fan, as the product page's strip does.
    """

    code = blocks.CharBlock(
        label=_("Coupon code"),
        max_length=16,
        help_text=_("The code of one of your coupons (Coupons in the menu)."),
    )

    def clean(self, value):
        value = super().clean(value)
        from storefront.coupons.models import Coupon
        from storefront.coupons.services import coupon_by_code

        code = (value.get("code") or "").strip().upper()
        coupon = coupon_by_code(code=code)
        if coupon is None or coupon.purpose != Coupon.Purpose.PUBLIC:
            raise StructBlockValidationError(
                block_errors={"code": ValidationError(_("Your shop has no coupon with this code."))}
            )
        value["code"] = code
        return value

    def get_context(self, value, parent_context=None):
        from core.shop_cache import cached
        from storefront.coupons.selectors import coupons_claimable

        context = super().get_context(value, parent_context=parent_context)
        code = value.get("code") or ""
        context["coupons"] = cached(
            f"coupon-block:{code}", lambda: list(coupons_claimable().filter(code=code)[:1])
        )
        context["csrf_token"] = (parent_context or {}).get("csrf_token")
        context["source"] = "article"
        return context

    class Meta:
        icon = "tag"
        label = _("Coupon")
        template = "storefront/coupons/claim_strip.html"
