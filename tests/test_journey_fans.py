"""The creator's fan list in real Chromium at desktop size: she signs in to her shop's admin,
opens 粉丝, picks a segment, tags two fans at once and opens one fan's page. A screenshot of the
list (1280×800) is kept under var/artifacts/fans/."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.fans.models import FanTag
from storefront.models import Fan, Order

from .a3_helpers import fan_make, order_make
from .journey_helpers import artifacts_dir, chromium, static_from_finders  # noqa: F401

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}
PASSWORD = "pw-fans-journey-12345"


@pytest.mark.usefixtures("static_from_finders")
def test_the_creator_segments_and_tags_her_fans_in_chromium(shops, platform_server):
    port = urlsplit(platform_server).port
    shop = f"http://a.localhost:{port}"
    login = f"fans-owner-{uuid.uuid4().hex[:8]}"
    names = ["张妈妈", "李姐", "王小美", "赵阿姨"]
    fans: list[Fan] = []
    with tenant_context(shops.a):
        get_user_model().objects.create_superuser(login, password=PASSWORD)
        for i, name in enumerate(names):
            fan = fan_make(name=name, days_ago=300)
            order_make(fan, total=(i + 1) * 12_800, days_ago=10)
            if i < 3:  # the first three came back: repeat buyers
                order_make(fan, total=6_600, days_ago=40)
            fans.append(fan)
    connection.set_schema_to_public()
    shots = artifacts_dir("fans")
    try:
        with chromium() as browser:
            from playwright.sync_api import expect

            page = browser.new_context(**DESKTOP).new_page()
            page.goto(f"{shop}/admin/login/?next=/admin/fans/")
            page.fill('input[name="username"]', login)
            page.fill('input[name="password"]', PASSWORD)
            page.click('button[type="submit"]')
            expect(page).to_have_url(f"{shop}/admin/fans/")
            expect(page).to_have_title(re.compile(r"^Fans"))

            page.get_by_role("link", name="Repeat buyers").click()
            expect(page).to_have_url(f"{shop}/admin/fans/?segment=repeat")
            table = page.locator("table.fans-list")
            for name in names[:3]:
                expect(table.get_by_role("link", name=name)).to_be_visible()
            expect(table.get_by_role("link", name=names[3])).to_have_count(0)
            # Whole contacts for the owner, the spend as money.
            expect(table).to_contain_text(fans[0].mobile)
            expect(table).to_contain_text("¥194.00")  # 128.00 + 66.00

            page.get_by_label(f"Select {names[0]}").check()
            page.get_by_label(f"Select {names[1]}").check()
            page.locator("#bulk-tag").fill("老客户")
            page.get_by_role("button", name="Apply").click()
            expect(page).to_have_url(f"{shop}/admin/fans/?segment=repeat")
            expect(page.get_by_text("Tag added to 2 fans.")).to_be_visible()
            expect(table.locator("tr", has_text=names[0])).to_contain_text("老客户")
            expect(table.locator("tr", has_text=names[2])).not_to_contain_text("老客户")
            page.screenshot(path=shots / "fans-list-1280x800.png")

            table.get_by_role("link", name=names[0]).click()
            expect(page.get_by_role("heading", name="Orders")).to_be_visible()
            expect(page.locator(".fan-spend")).to_have_text("¥194.00")
            page.screenshot(path=shots / "fan-page-1280x800.png", full_page=True)
        with tenant_context(shops.a):
            assert set(FanTag.objects.get(name="老客户").fans.values_list("pk", flat=True)) >= {
                fans[0].pk,
                fans[1].pk,
            }
        assert (shots / "fans-list-1280x800.png").stat().st_size > 10_000
    finally:
        with tenant_context(shops.a):
            ids = [f.pk for f in fans]
            Order.objects.filter(fan_id__in=ids).delete()
            FanTag.objects.filter(name="老客户").delete()
            Fan.objects.filter(pk__in=ids).delete()
            get_user_model().objects.filter(username=login).delete()
        connection.set_schema_to_public()
