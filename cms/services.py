"""Writes to a shop's Wagtail site. Callers run these inside the shop's tenant context."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from wagtail.models import Page, Site

from .models import HomePage


@transaction.atomic
def starter_site_ensure(*, site_name: str, hostname: str, port: int) -> HomePage:
    """Give the current schema a HomePage as its Site root, replacing Wagtail's welcome page.

    Idempotent: a schema that already has its home page is left as it is.
    """
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        home = root.add_child(
            instance=HomePage(
                title=site_name,
                slug="shop-home",  # "home" is taken by the welcome page until it goes
                intro="<p>欢迎光临！这里是我的小店。</p>",
            )
        )
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        site = Site(is_default_site=True)
    site.root_page = home
    site.hostname = hostname
    site.port = port
    site.site_name = site_name
    site.save()
    # Wagtail's first migration leaves a plain "Welcome" page at depth 2; a shop has no use for it.
    welcome_type = ContentType.objects.get_for_model(Page)
    Page.objects.filter(depth=2, content_type=welcome_type).exclude(pk=home.pk).delete()
    return home


@transaction.atomic
def site_configure(*, site_name: str, hostname: str, port: int) -> Site:
    """Point the current schema's only Site at the shop's host and name its home page."""
    site = Site.objects.select_for_update().get(is_default_site=True)
    site.hostname = hostname
    site.port = port
    site.site_name = site_name
    site.save()
    # A plain UPDATE: the cloned home page needs its title, not a new revision and its signals.
    Page.objects.filter(pk=site.root_page_id).update(title=site_name, draft_title=site_name)
    return site
