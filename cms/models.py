"""Each shop's Wagtail page types and settings. Tenant schema."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.embeds.blocks import EmbedBlock
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import Page

from .themes import DEFAULT_THEME, theme_choices, theme_get


@register_setting(icon="cog")
class ShopSettings(BaseSiteSetting):
    """The shop's look: theme, logo, banner and tagline."""

    theme = models.CharField(
        _("theme"), max_length=20, choices=theme_choices, default=DEFAULT_THEME
    )
    tagline = models.CharField(_("tagline"), max_length=120, blank=True)
    logo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    banner = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    panels = [FieldPanel("theme"), FieldPanel("tagline"), FieldPanel("logo"), FieldPanel("banner")]

    class Meta:
        verbose_name = _("shop appearance")

    @property
    def tokens(self):
        return theme_get(self.theme)


class HomePage(Page):
    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    max_count = 1
    parent_page_types = ["wagtailcore.Page"]

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["articles"] = (
            ArticlePage.objects.live().descendant_of(self).order_by("-first_published_at")[:10]
        )
        context["sections"] = self.get_children().live().not_type(ArticlePage)
        return context


class AboutPage(Page):
    body = RichTextField(_("about me"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("body")]
    parent_page_types = ["cms.HomePage"]

    class Meta:
        verbose_name = _("about page")


class ArticlePage(Page):
    summary = models.CharField(_("summary"), max_length=200, blank=True)
    body = StreamField(
        [
            ("paragraph", blocks.RichTextBlock(label=_("Text"))),
            ("image", ImageChooserBlock(label=_("Image"))),
            ("quote", blocks.BlockQuoteBlock(label=_("Quote"))),
            ("video", EmbedBlock(label=_("Video"))),
        ],
        blank=True,
        use_json_field=True,
    )

    content_panels = [*Page.content_panels, FieldPanel("summary"), FieldPanel("body")]
    parent_page_types = ["cms.HomePage"]

    class Meta:
        verbose_name = _("article")


class ShopIndexPage(Page):
    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        from django.core.paginator import Paginator

        from storefront.selectors import shop_listings

        context = super().get_context(request, *args, **kwargs)
        listings = shop_listings().filter(is_active=True)
        context["listings"] = Paginator(listings, 24).get_page(request.GET.get("page"))
        return context

    class Meta:
        verbose_name = _("shop page")
