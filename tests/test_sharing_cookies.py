"""The share link a visitor came through, kept in a signed cookie of the shop's own."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from storefront.sharing.cookies import SHARE_COOKIE, share_code_of, share_code_remember
from storefront.sharing.services import SESSION_SHARE

pytestmark = [pytest.mark.django_db]


def cookie_of(shop, code: str) -> str:
    with tenant_context(shop):
        return share_code_remember(HttpResponse(), code).cookies[SHARE_COOKIE].value


def read(shop, value: str | None, session: dict | None = None) -> str:
    request = RequestFactory().get("/checkout/")
    if value is not None:
        request.COOKIES[SHARE_COOKIE] = value
    request.session = session or {}  # type: ignore[attr-defined]
    with tenant_context(shop):
        return share_code_of(request)


def test_the_shop_reads_back_its_own_link_and_nothing_forged(shops):
    mine = cookie_of(shops.a, "Ab3xYz")
    assert read(shops.a, mine) == "Ab3xYz"
    assert read(shops.a, None) == ""
    assert read(shops.a, "Ab3xYz") == ""  # unsigned: anyone could write it
    assert read(shops.a, mine[:-1] + ("A" if mine[-1] != "A" else "B")) == ""  # tampered
    assert read(shops.a, "x\x00y:z") == ""


def test_another_shops_cookie_names_no_link_here(shops):
    assert read(shops.b, cookie_of(shops.a, "Ab3xYz")) == ""


def test_a_session_from_before_the_cookie_still_counts_and_junk_in_it_does_not(shops):
    assert read(shops.a, None, {SESSION_SHARE: "OldCode9"}) == "OldCode9"
    assert read(shops.a, None, {SESSION_SHARE: "bad code\n"}) == ""
    assert read(shops.a, None, {SESSION_SHARE: 12}) == ""
    # A signed cookie with something that is no code (signed by a shop, but not one of ours).
    assert read(shops.a, cookie_of(shops.a, "not/a code")) == ""
