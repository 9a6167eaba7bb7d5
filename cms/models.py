"""Each shop's Wagtail page types and settings. Tenant schema."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin

from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, ObjectList, TabbedInterface
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.embeds.blocks import EmbedBlock
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import Page, Site

from core.money import yuan_plain
from storefront.analytics.dashboard_panels import ArticleFiguresPanel

from .blocks import CouponBlock, ListingChooserBlock, ProductCardBlock, ProductGridBlock
from .selectors import product_url
from .themes import DEFAULT_THEME, theme_choices, theme_get

# Open Graph's recommended share image size (WeChat and Weibo crop to it as well).
OG_IMAGE_SPEC = "fill-1200x630"
DESCRIPTION_CHARS = 160
SHOP_PAGE_SIZE = 24


@register_setting(icon="cog")
class ShopSettings(BaseSiteSetting):
    """The shop's look: theme, logo, banner and tagline."""

    theme = models.CharField(
        _("theme"), max_length=20, choices=theme_choices, default=DEFAULT_THEME
    )
    tagline = models.CharField(_("tagline"), max_length=120, blank=True)
    logo = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("logo"),
    )
    banner = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("banner"),
    )

    panels = [FieldPanel("theme"), FieldPanel("tagline"), FieldPanel("logo"), FieldPanel("banner")]

    class Meta:
        verbose_name = _("shop appearance")
        verbose_name_plural = _("shop appearances")

    @property
    def tokens(self):
        return theme_get(self.theme)

    @classmethod
    def for_request(cls, request):
        """Wagtail's per-request lookup, answered from the shop data cache when it is on (every
        page's theme reads this). Editing in the admin goes through for_site, never cached."""
        from wagtail.models import Site

        from core.shop_cache import cached

        attr = cls.get_cache_attr_name()
        if not hasattr(request, attr):
            site = Site.find_for_request(request)
            if site is not None:
                found = cached(f"appearance:{site.pk}", lambda: cls.for_site(site))
                # A copy: Wagtail hangs the request on it, and the cached one is shared.
                setattr(request, attr, copy.copy(found))
        return super().for_request(request)


# --- SEO ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seo:
    """What search engines and share previews (WeChat, Weibo, Open Graph) read from a page."""

    title: str
    description: str
    url: str
    image: str = ""
    type: str = "website"
    noindex: bool = False


def text_excerpt(html: str, chars: int = DESCRIPTION_CHARS) -> str:
    """Plain text from rich text, cut at CHARS for a meta description."""
    text = " ".join(strip_tags(html or "").split())
    return Truncator(text).chars(chars)


def absolute_url(request, url: str) -> str:
    """URL made absolute against the shop's canonical root (Open Graph wants absolute URLs)."""
    if not url or url.startswith(("http://", "https://")):
        return url
    site = Site.find_for_request(request) if request is not None else None
    root = site.root_url if site is not None else request.build_absolute_uri("/")
    return urljoin(root.rstrip("/") + "/", url)


def rendition_url(image, spec: str = OG_IMAGE_SPEC) -> str:
    try:
        return image.get_rendition(spec).url
    except Exception:  # a missing or broken original must not take the page down
        return ""


def product_structured_data(*, seo: Seo, card, image_urls: list[str]) -> str:
    """schema.org Product as JSON-LD: search engines show price and stock from it."""
    from .selectors import CARD_AVAILABLE, CARD_SOLD_OUT

    availability = {
        CARD_AVAILABLE: "https://schema.org/InStock",
        CARD_SOLD_OUT: "https://schema.org/OutOfStock",
    }.get(card.state, "https://schema.org/Discontinued")
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": seo.title,
        "description": seo.description,
        "url": seo.url,
        "image": image_urls,
    }
    if card.price_fen is not None:
        data["offers"] = {
            "@type": "Offer",
            "price": yuan_plain(card.price_fen),
            "priceCurrency": "CNY",
            "availability": availability,
            "url": seo.url,
        }
    # "<" escaped so no value can close the <script> element it is printed in.
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


class SeoMixin:
    """Title, description, share image and canonical URL of a shop page, with fallbacks for
    creators who leave Wagtail's "Promote" fields empty."""

    if TYPE_CHECKING:
        # Wagtail's Page supplies these (every user of the mixin is also a Page); declared for
        # the type checker only, so the mixin shadows nothing of Page's at run time.
        title: str
        seo_title: str
        search_description: str

        def get_full_url(self, request: HttpRequest | None = None) -> str | None: ...

    og_type = "website"

    def seo_description_fallback(self) -> str:
        return ""

    def seo_image_url(self, request) -> str:
        settings = ShopSettings.for_request(request) if request is not None else None
        if settings is not None and settings.banner_id:
            return rendition_url(settings.banner)
        return ""

    def seo(self, request) -> Seo:
        return Seo(
            title=self.seo_title or self.title,
            description=self.search_description or self.seo_description_fallback(),
            url=self.get_full_url(request) or "",
            image=absolute_url(request, self.seo_image_url(request)),
            type=self.og_type,
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.setdefault("seo", self.seo(request))
        return context


def cards_context(listings, request) -> list[dict]:
    from .selectors import listing_card

    cards = []
    for listing in listings:
        card = listing_card(listing)
        cards.append({"card": card, "product_url": product_url(card.listing_id, request)})
    return cards


class NoPrivacyReadMixin:
    """Wagtail checks every served page's view restrictions (private pages), two reads per
    request. Almost no shop has any: while the shop data cache says this one has none, the
    check reads nothing. Making a page private saves a PageViewRestriction, which starts a new
    generation, so the next request checks for real."""

    def get_view_restrictions(self):
        from wagtail.models import PageViewRestriction

        from core.shop_cache import cached

        if not cached("has-private-pages", PageViewRestriction.objects.exists):
            return PageViewRestriction.objects.none()
        return super().get_view_restrictions()


class HomePage(NoPrivacyReadMixin, SeoMixin, Page):
    intro = RichTextField(_("introduction"), blank=True)
    featured = StreamField(
        [("product", ListingChooserBlock(label=_("Product")))],
        blank=True,
        verbose_name=_("featured products"),
        help_text=_("Left empty, the newest goods of your shop are shown."),
    )

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("featured")]
    max_count = 1
    parent_page_types = ["wagtailcore.Page"]
    FEATURED_DEFAULT_COUNT = 6

    class Meta:
        verbose_name = _("home page")
        verbose_name_plural = _("home pages")

    def seo_description_fallback(self) -> str:
        return text_excerpt(self.intro)

    def featured_listings(self) -> list:
        from .selectors import card_listings

        chosen = [block.value for block in self.featured if block.block_type == "product"]
        if chosen:
            # Withdrawn or deleted ones drop off the home page; articles still show them as
            # unavailable, where the creator's text refers to them.
            return [listing for listing in chosen if listing is not None and listing.is_active]
        return list(card_listings().filter(is_active=True)[: self.FEATURED_DEFAULT_COUNT])

    def route(self, request, path_components):
        """Wagtail's routing, with the child page in its specific form from the shop data cache
        (three reads fewer per page). Publishing, unpublishing, moving or deleting a page starts
        a new generation, so a changed slug or a withdrawn page shows at once; the child's own
        route() still checks that it is live."""
        if not path_components:
            return super().route(request, path_components)
        from core.shop_cache import cached, text_key

        slug = path_components[0]

        def child() -> Page | None:
            found = self.get_children().filter(slug=slug).first()
            return found.specific if found is not None else None

        subpage = cached(f"child:{self.pk}:{text_key(slug)}", child)
        if subpage is None:
            raise Http404
        subpage._cached_parent_obj = self  # as Wagtail does: get_parent() needs no query
        return subpage.route(request, path_components[1:])

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["articles"] = (
            ArticlePage.objects.live().descendant_of(self).order_by("-first_published_at")[:10]
        )
        context["sections"] = self.get_children().live().not_type(ArticlePage)
        context["featured_cards"] = cards_context(self.featured_listings(), request)
        articles = list(context["articles"])
        covers = article_covers(articles)
        for article in articles:
            article.cover = covers.get(article.pk)
        context["articles"] = articles
        return context


def article_covers(articles) -> dict[int, object]:
    """Article id → its first picture (a Wagtail image), for the home page's list: one query
    for all of them, renditions prefetched, from the body's raw data (no block is rendered)."""
    from wagtail.images import get_image_model

    first: dict[int, int] = {}
    for article in articles:
        for block in article.body.raw_data:
            if block.get("type") == "image" and isinstance(block.get("value"), int):
                first[article.pk] = block["value"]
                break
    if not first:
        return {}
    images = get_image_model().objects.prefetch_renditions("fill-208x156").in_bulk(first.values())
    return {pk: images[image_id] for pk, image_id in first.items() if image_id in images}


class AboutPage(NoPrivacyReadMixin, SeoMixin, Page):
    body = RichTextField(_("about me"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("body")]
    parent_page_types = ["cms.HomePage"]

    class Meta:
        verbose_name = _("about page")
        verbose_name_plural = _("about pages")

    def seo_description_fallback(self) -> str:
        return text_excerpt(self.body)


class ArticlePage(NoPrivacyReadMixin, SeoMixin, Page):
    summary = models.CharField(_("summary"), max_length=200, blank=True)
    body = StreamField(
        [
            ("paragraph", blocks.RichTextBlock(label=_("Text"))),
            ("image", ImageChooserBlock(label=_("Image"))),
            ("quote", blocks.BlockQuoteBlock(label=_("Quote"))),
            ("video", EmbedBlock(label=_("Video"))),
            ("product_card", ProductCardBlock()),
            ("product_grid", ProductGridBlock()),
            ("coupon", CouponBlock()),
        ],
        blank=True,
        use_json_field=True,
        verbose_name=_("body"),
    )

    content_panels = [*Page.content_panels, FieldPanel("summary"), FieldPanel("body")]
    # Wagtail's three tabs plus the article's own figures (views, card taps, orders).
    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading=_("Content")),
            ObjectList(Page.promote_panels, heading=_("Promote")),
            ObjectList(Page.settings_panels, heading=_("Settings")),
            ObjectList([ArticleFiguresPanel()], heading=_("Figures")),
        ]
    )
    parent_page_types = ["cms.HomePage"]
    og_type = "article"

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def seo_description_fallback(self) -> str:
        if self.summary:
            return self.summary
        for block in self.body:
            if block.block_type == "paragraph":
                return text_excerpt(block.value.source)
        return ""

    def seo_image_url(self, request) -> str:
        """The article's first picture, else the first product card's, else the shop banner."""
        from .selectors import listing_images

        for block in self.body:
            if block.block_type == "image" and block.value is not None:
                url = rendition_url(block.value)
                if url:
                    return url
            elif block.block_type in ("product_card", "product_grid"):
                value = block.value
                listings = (
                    [value.get("listing")]
                    if block.block_type == "product_card"
                    else list(value.get("listings") or [])
                )
                for listing in listings:
                    if listing is not None:
                        images = listing_images(listing)
                        if images:
                            return images[0].file.url
        return super().seo_image_url(request)


def _int_param(request, name: str) -> int | None:
    try:
        value = int(request.GET.get(name, ""))
    except ValueError:
        return None
    return value if value >= 0 else None


class ShopIndexPage(NoPrivacyReadMixin, SeoMixin, RoutablePageMixin, Page):
    """All the shop's goods, and a product page for each at p/<listing id>/."""

    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    max_count = 1

    class Meta:
        verbose_name = _("shop page")
        verbose_name_plural = _("shop pages")

    def seo_description_fallback(self) -> str:
        return text_excerpt(self.intro)

    def product_path(self, listing_id: int) -> str:
        return self.reverse_subpage("product", args=(listing_id,))

    # The shop page: filters (category, price in yuan, in stock) and paging.
    @path("", name="index")
    def index_route(self, request, *args, **kwargs):
        from .selectors import shop_categories, shop_listings_filtered

        category_id = _int_param(request, "category")
        min_yuan = _int_param(request, "min")
        max_yuan = _int_param(request, "max")
        in_stock = request.GET.get("in_stock") == "1"
        listings = shop_listings_filtered(
            category_id=category_id,
            min_fen=min_yuan * 100 if min_yuan is not None else None,
            max_fen=max_yuan * 100 if max_yuan is not None else None,
            in_stock=in_stock,
        )
        page = Paginator(listings, SHOP_PAGE_SIZE).get_page(request.GET.get("page"))
        filters = {
            k: v
            for k, v in (
                ("category", category_id),
                ("min", min_yuan),
                ("max", max_yuan),
                ("in_stock", "1" if in_stock else None),
            )
            if v is not None
        }
        return self.render(
            request,
            context_overrides={
                "listings": page,
                "cards": cards_context(page.object_list, request),
                "categories": shop_categories(),
                "filters": filters,
                "filter_query": urlencode(filters),
                "is_filtered": bool(filters),
            },
        )

    @path("p/<int:listing_id>/", name="product")
    def product(self, request, listing_id: int):
        from .selectors import listing_card, listing_images, listings_by_id

        listing = listings_by_id([listing_id]).get(listing_id)
        if listing is None:
            raise Http404
        card = listing_card(listing)
        images = listing_images(listing)
        url = urljoin(self.get_full_url(request) or "", self.product_path(listing.pk))
        seo = Seo(
            title=listing.title,
            description=text_excerpt(listing.copy or listing.product.description) or listing.title,
            url=url,
            image=absolute_url(request, images[0].file.url) if images else "",
            type="product",
            # A withdrawn product page stays reachable from old shares but leaves search results.
            noindex=not listing.is_active,
        )
        # Page's own context, not SeoMixin's: this page's SEO is the product's, not the shop's.
        context = super(SeoMixin, self).get_context(request)
        from storefront.orders.cart import COOKIE
        from storefront.orders.selectors import listing_delivery_line

        from .selectors import cart_item_count

        token = request.COOKIES.get(COOKIE)
        context.update(
            {
                "delivery": listing_delivery_line(listing=listing),
                # The bottom bar's count; a visitor with a cart cookie never gets a cached page.
                "cart_count": cart_item_count(token) if token else 0,
                "listing": listing,
                "product": listing.product,
                "card": card,
                "images": images,
                "price_yuan": yuan_plain(card.price_fen),
                "structured_data": product_structured_data(
                    seo=seo,
                    card=card,
                    image_urls=[absolute_url(request, i.file.url) for i in images],
                ),
            }
        )
        context["seo"] = seo
        return TemplateResponse(request, "cms/product_page.html", context)

    def get_sitemap_urls(self, request=None):
        from .selectors import active_listing_ids_for_sitemap

        urls = list(super().get_sitemap_urls(request))
        base = self.get_full_url(request)
        if not base:
            return urls
        for listing_id, updated_at in active_listing_ids_for_sitemap():
            urls.append(
                {"location": urljoin(base, self.product_path(listing_id)), "lastmod": updated_at}
            )
        return urls
