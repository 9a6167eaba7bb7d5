"""A creator dresses her shop: theme, logo and banner show on every page."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.images import ImageFile
from django_tenants.utils import tenant_context
from PIL import Image as PILImage
from wagtail.images.models import Image
from wagtail.models import Site

from cms.models import ShopSettings
from cms.themes import THEMES

pytestmark = pytest.mark.django_db


def png(colour: str) -> ImageFile:
    buffer = io.BytesIO()
    PILImage.new("RGB", (300, 200), colour).save(buffer, "PNG")
    return ImageFile(buffer, name=f"{colour}.png")


def test_logo_and_banner_show_on_the_home_page_under_the_shops_media_prefix(shops, shop_client):
    with tenant_context(shops.a):
        logo = Image.objects.create(title="logo", file=png("red"))
        banner = Image.objects.create(title="banner", file=png("blue"))
        ShopSettings.objects.filter(site=Site.objects.get()).update(
            logo=logo, banner=banner, tagline="亲测好物"
        )

    page = shop_client("a.localhost").get("/")

    assert page.status_code == 200
    assert 'class="shop-logo"' in page.text
    assert 'class="banner"' in page.text
    assert "/media/shop_a/images/" in page.text
    assert "亲测好物" in page.text
    assert "/media/shop_a/" not in shop_client("b.localhost").get("/").text


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_each_theme_colours_the_shop(shops, shop_client, theme):
    with tenant_context(shops.b):
        ShopSettings.objects.update(theme=theme)

    page = shop_client("b.localhost").get("/")

    assert f"--accent: {THEMES[theme].accent}" in page.text
    assert f"theme-{theme}" in page.text
    # After the site's stylesheet, whose :root defaults would otherwise win the cascade.
    assert page.text.index("css/vstore.css") < page.text.index("--accent:")


def test_creator_edits_appearance_in_her_admin(shops, shop_client):
    client = shop_client("a.localhost")
    with tenant_context(shops.a):
        owner = get_user_model().objects.create_superuser("looks", "l@example.com", "pw")
        client.force_login(owner)
        site_id = Site.objects.get().pk

    form = client.get(f"/admin/settings/cms/shopsettings/{site_id}/")

    assert form.status_code == 200
    assert 'name="theme"' in form.text
    assert 'name="logo"' in form.text
