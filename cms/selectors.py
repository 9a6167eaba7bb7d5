"""Reads for the shop's pages: listings as product cards. Run inside the shop's tenant context.

Every read here fetches a whole batch of listings in a fixed number of queries (listings with
their catalog product and supplier, their items with the SKUs, the visible images), so a page
costs the same whether it shows one card or twenty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Avg, Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum

from catalog.models import Category, Product, ProductImage, Supplier
from core.shop_cache import cached, ids_key
from storefront.models import CartLine, Listing, ListingItem, Review

CARD_AVAILABLE = "available"
CARD_SOLD_OUT = "sold_out"
CARD_UNAVAILABLE = "unavailable"


def card_listings() -> QuerySet[Listing]:
    """Listings with everything a card or a product page shows, prefetched."""
    items = ListingItem.objects.select_related("sku__product__supplier").order_by("id")
    images = ProductImage.objects.filter(is_hidden=False).order_by("position", "id")
    # This shop's buyers' rating, in the same query (two subqueries). Cards and the product page
    # show this figure, the one the reviews below it are counted in; the catalog's aggregate
    # over every shop (Product.rating) is labelled as such where it is shown at all.
    reviews = (
        Review.objects.filter(listing=OuterRef("pk"), is_hidden=False).order_by().values("listing")
    )
    return (
        Listing.objects.select_related("product__supplier", "product__category")
        .prefetch_related(
            Prefetch("items", queryset=items),
            Prefetch("product__images", queryset=images, to_attr="shown_images"),
        )
        .annotate(
            shop_rating_average=Subquery(reviews.annotate(a=Avg("rating")).values("a")),
            shop_rating_count=Subquery(reviews.annotate(n=Count("id")).values("n")),
        )
    )


def listings_by_id(ids: Iterable[int]) -> dict[int, Listing]:
    """The listings among IDS that still exist in this shop, by id (deleted ones are missing).
    Kept briefly in the shop data cache (shop_cache.py): stock on a card may lag a few
    seconds; checkout reads it again."""
    wanted = {int(i) for i in ids if i is not None}
    if not wanted:
        return {}

    def fetch() -> dict[int, Listing]:
        return {listing.pk: listing for listing in card_listings().filter(pk__in=wanted)}

    return cached(f"listings:{ids_key(wanted)}", fetch)


@dataclass(frozen=True)
class Offer:
    """One variant of a listing as a buyer sees it."""

    item_id: int
    label: str
    price_fen: int
    stock: int
    state: str

    @property
    def is_available(self) -> bool:
        return self.state == CARD_AVAILABLE


@dataclass(frozen=True)
class Card:
    """What a product card shows. A deleted listing is a Card with listing_id None."""

    listing_id: int | None
    title: str
    image_url: str
    image_alt: str
    price_fen: int | None
    stock: int
    state: str
    buy_item_id: int | None
    # This shop's buyers' average rating (one decimal) and how many rated; None / 0 unrated.
    rating: float | None
    offers: tuple[Offer, ...] = ()
    rating_count: int = 0

    @property
    def is_available(self) -> bool:
        return self.state == CARD_AVAILABLE

    @property
    def available_offer_count(self) -> int:
        """Options on sale now: with more than one, the buyer chooses (nothing pre-chosen)."""
        return sum(1 for offer in self.offers if offer.is_available)


def _offer_state(item: ListingItem) -> str:
    availability = item.availability
    if availability == "available":
        return CARD_AVAILABLE
    if availability == "sold_out":
        return CARD_SOLD_OUT
    # withdrawn, suspended, discontinued or priced outside the supplier's bounds: not for sale.
    return CARD_UNAVAILABLE


def listing_offers(listing: Listing) -> tuple[Offer, ...]:
    return tuple(
        Offer(
            item_id=item.pk,
            label=item.sku.label,
            price_fen=item.retail_price_fen,
            stock=max(item.sku.stock, 0),
            state=_offer_state(item),
        )
        for item in listing.items.all()
    )


def listing_images(listing: Listing) -> list[ProductImage]:
    images = getattr(listing.product, "shown_images", None)
    if images is None:  # not fetched through card_listings()
        images = list(listing.product.images.filter(is_hidden=False).order_by("position", "id"))
    return images


def listing_card(listing: Listing | None) -> Card:
    """The card for LISTING; None (a listing deleted since the article was written) is a card
    that says "unavailable" instead of failing the page."""
    if listing is None:
        return Card(
            listing_id=None,
            title="",
            image_url="",
            image_alt="",
            price_fen=None,
            stock=0,
            state=CARD_UNAVAILABLE,
            buy_item_id=None,
            rating=None,
        )
    offers = listing_offers(listing)
    for_sale = [o for o in offers if o.is_available]
    cheapest: Offer | None
    if for_sale:
        state = CARD_AVAILABLE
        cheapest = min(for_sale, key=lambda o: (o.price_fen, o.item_id))
    else:
        state = CARD_SOLD_OUT if any(o.state == CARD_SOLD_OUT for o in offers) else CARD_UNAVAILABLE
        cheapest = min(offers, key=lambda o: (o.price_fen, o.item_id)) if offers else None
    images = listing_images(listing)
    image = images[0] if images else None
    rating, rating_count = _shop_rating(listing)
    return Card(
        listing_id=listing.pk,
        title=listing.title,
        image_url=image.file.url if image else "",
        image_alt=(image.alt if image and image.alt else listing.title),
        price_fen=cheapest.price_fen if cheapest else None,
        stock=sum(o.stock for o in for_sale),
        state=state,
        buy_item_id=cheapest.item_id if (cheapest and for_sale) else None,
        rating=rating,
        rating_count=rating_count,
        offers=offers,
    )


def _shop_rating(listing: Listing) -> tuple[float | None, int]:
    average = getattr(listing, "shop_rating_average", None)
    count = getattr(listing, "shop_rating_count", None)
    if count is None and not hasattr(listing, "shop_rating_count"):  # not from card_listings()
        row = Review.objects.filter(listing=listing, is_hidden=False).aggregate(
            a=Avg("rating"), n=Count("id")
        )
        average, count = row["a"], row["n"]
    return (round(float(average), 1) if average is not None and count else None), int(count or 0)


def product_url_base(request=None) -> str:
    """The shop page's URL, under which each product page lives ("" when the creator deleted
    the shop page). Looked up once per request, whatever the number of cards."""
    known = getattr(request, "_vstore_product_url_base", None) if request is not None else None
    if known is not None:
        return known
    from .models import ShopIndexPage

    def find() -> str:
        page = ShopIndexPage.objects.live().order_by("path").first()
        return (page.get_url(request) if page is not None else "") or ""

    # The URL is relative to the request's site (Wagtail gives a full one for another site's
    # page): the key names the host.
    host = request.get_host() if request is not None else ""
    base = cached(f"shop-url:{host}", find)
    if request is not None:
        request._vstore_product_url_base = base
    return base


def product_url(listing_id: int | None, request=None) -> str:
    if listing_id is None:
        return ""
    base = product_url_base(request)
    return f"{base}p/{listing_id}/" if base else ""


# --- the shop page's filters -------------------------------------------------------------------


def _listable_q(prefix: str = "") -> Q:
    p = prefix
    return Q(
        **{
            f"{p}vetting_status": Product.Vetting.APPROVED,
            f"{p}is_active": True,
            f"{p}is_suspended": False,
            f"{p}supplier__status": Supplier.Status.APPROVED,
        }
    )


def shop_listings_filtered(
    *,
    category_id: int | None = None,
    min_fen: int | None = None,
    max_fen: int | None = None,
    in_stock: bool = False,
) -> QuerySet[Listing]:
    """The shop page's listings: on sale, optionally in a category (or its sub-categories), with
    a variant priced inside [MIN_FEN, MAX_FEN], and with a variant that can be bought now."""
    listings = card_listings().filter(is_active=True)
    if category_id is not None:
        listings = listings.filter(
            Q(product__category_id=category_id) | Q(product__category__parent_id=category_id)
        )
    item_q = Q()
    if min_fen is not None:
        item_q &= Q(retail_price_fen__gte=min_fen)
    if max_fen is not None:
        item_q &= Q(retail_price_fen__lte=max_fen)
    if in_stock:
        # The same test as ListingItem.availability == "available", in SQL.
        item_q &= Q(
            sku__stock__gt=0,
            sku__is_active=True,
            sku__min_retail_fen__lte=F("retail_price_fen"),
            sku__max_retail_fen__gte=F("retail_price_fen"),
        )
        listings = listings.filter(_listable_q("product__"))
    if item_q:
        # One subquery, so the price and the stock conditions hold for the same variant.
        listings = listings.filter(pk__in=ListingItem.objects.filter(item_q).values("listing_id"))
    return listings.order_by("-created_at", "-id")


def shop_categories() -> list[Category]:
    """Categories of the goods on sale here, and their parents, for the shop page's filter."""
    used = Category.objects.filter(
        products__in=Listing.objects.filter(is_active=True).values("product_id")
    )
    return list(
        Category.objects.filter(Q(pk__in=used.values("pk")) | Q(children__in=used))
        .distinct()
        .order_by("parent_id", "name")
    )


def active_listing_ids_for_sitemap() -> list[tuple[int, object]]:
    """(id, updated_at) of the listings on sale, for the sitemap."""
    return list(
        Listing.objects.filter(is_active=True).order_by("id").values_list("id", "updated_at")
    )


def cart_item_count(token: str | None) -> int:
    """Units in the visitor's cart (by the token in her cookie), for the shop's navigation."""
    from storefront.orders.cart import cart_token_valid

    if not cart_token_valid(token):
        return 0
    total = CartLine.objects.filter(cart__token=token).aggregate(n=Sum("quantity"))["n"]
    return int(total or 0)
