"""An article's coupon block: readers claim (领券) from the article itself."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from wagtail.blocks import StructBlockValidationError

from cms.blocks import CouponBlock
from core.shop_cache import bump as shop_cache_bump
from storefront.coupons.services import coupon_pause

from .c1_helpers import coupon_make
from .cms_helpers import article_make, get

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media")]


def _coupon_block(code: str) -> dict:
    return {"type": "coupon", "value": {"code": code}}


def test_an_article_shows_its_coupon_with_a_claim_button_for_every_reader(shops, shop_client):
    coupon = coupon_make(shops.a, name="读者专享五元券")
    article = article_make(shops.a, [_coupon_block(coupon.code)], slug="coupon-article")

    page = get(shop_client, "a.localhost", f"/{article.slug}/")
    html = page.content.decode()

    assert page.status_code == 200
    assert "读者专享五元券" in html
    assert f'action="/c/{coupon.code}/"' in html and 'name="source" value="article"' in html
    # Nothing about the reader in it: the page is cached for every anonymous visitor.
    assert "csrfmiddlewaretoken" in html

    with tenant_context(shops.a):
        coupon_pause(coupon=coupon)
        shop_cache_bump()
    connection.set_schema_to_public()
    html = get(shop_client, "a.localhost", f"/{article.slug}/").content.decode()
    assert "读者专享五元券" not in html  # paused: no button that could only fail


def test_the_block_refuses_a_code_the_shop_does_not_have(shops):
    other = coupon_make(shops.b)
    with tenant_context(shops.a):
        with pytest.raises(StructBlockValidationError):
            CouponBlock().clean({"code": other.code})
        with pytest.raises(StructBlockValidationError):
            CouponBlock().clean({"code": "\x00BAD"})
        mine = coupon_make(shops.a)
        assert CouponBlock().clean({"code": mine.code.lower()})["code"] == mine.code
