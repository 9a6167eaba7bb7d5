"""Group buys' pages: the rules before paying, the live state (never stale), joining through
checkout, forged links answered cleanly, other shops, the order panel, and the creator's
admin pages (only for the shop's owner; bad input answered with the form)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.template import Context, Template
from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.groupbuy.models import GroupBuy
from storefront.groupbuy.services import groupbuy_close
from storefront.models import Order

from .c4_helpers import admin_member
from .groupbuy_helpers import deadline_passes, joined_paid, tiered
from .storefront_helpers import ADDRESS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def test_the_page_shows_the_rules_and_live_state_before_anyone_pays(shops, shop_client):
    campaign, _item = tiered(shops.a, min_buyers=2, allow_cancel=True)
    client = shop_client("a.localhost")

    page = client.get(f"/groupbuy/{campaign.pk}/")

    assert page.status_code == 200
    text = page.text
    for rule in (
        "¥80.00 from 3 buyers",
        "¥70.00 from 5 buyers",
        "If fewer than 2 buyers join by the deadline, everyone is refunded in full.",
        "refunded the difference",
        "You may leave before the deadline",
        "Goods are shipped only after the group buy has succeeded.",
    ):
        assert rule in text, rule
    assert (
        "0 joined · 2 more needed for the group buy to go ahead · 3 more to drop to ¥80.00" in text
    )

    joined_paid(shops.a, campaign, 3)
    state = client.get(f"/groupbuy/{campaign.pk}/state/")
    assert "no-store" in state["Cache-Control"]
    assert state.json()["buyers"] == 3 and state.json()["price_fen"] == 8000
    assert state.json()["text"].startswith("3 joined · 2 more to drop to ¥70.00 · ")


def test_joining_leads_to_checkout_at_the_current_price(shops, shop_client):
    campaign, _item = tiered(shops.a)
    client = shop_client("a.localhost")

    joined = client.post(f"/groupbuy/{campaign.pk}/", {"quantity": "1"})

    assert joined.status_code == 302
    location = urlsplit(joined["Location"])
    assert location.path == "/checkout/"
    ticket = parse_qs(location.query)["campaign"][0]
    assert ticket.startswith("group:")
    checkout = client.get(joined["Location"])
    assert checkout.status_code == 200 and "¥100.00" in checkout.text
    placed = client.post(joined["Location"], {**ADDRESS, "campaign": ticket})
    assert placed.status_code == 302
    with tenant_context(shops.a):
        order = Order.objects.get(group_member__campaign=campaign)
        assert order.lines.get().retail_price_fen == 10000
        assert GroupBuy.objects.get(pk=campaign.pk).seats == 1


def test_bad_input_is_answered_never_a_500(shops, shop_client):
    campaign, _item = tiered(shops.a)
    client = shop_client("a.localhost")

    too_many = client.post(f"/groupbuy/{campaign.pk}/", {"quantity": "5"})
    junk = client.post(f"/groupbuy/{campaign.pk}/", {"quantity": "x" * 500})
    forged = client.get("/checkout/?campaign=group:eyJzIjoic2hvcF9hIn0:forged:sig")
    missing = client.get("/groupbuy/999999/state/")

    assert too_many.status_code == junk.status_code == 409
    assert "from 1 to 1" in too_many.text
    assert forged.status_code == 302 and forged["Location"].endswith("/cart/")
    assert missing.status_code == 404
    assert client.get("/groupbuy/team/NOTAREALCD/").status_code == 404
    assert client.get("/groupbuy/team/<script>/").status_code == 404


def test_another_shop_never_shows_this_shops_group_buy(shops, shop_client):
    campaign, _item = tiered(shops.a, title="A 店专属团购")
    with tenant_context(shops.b):
        in_b = GroupBuy.objects.filter(pk=campaign.pk).exists()
    connection.set_schema_to_public()

    page = shop_client("b.localhost").get(f"/groupbuy/{campaign.pk}/")

    assert "A 店专属团购" not in page.text
    assert page.status_code == (200 if in_b else 404)


def test_the_order_panel_shows_her_price_the_final_price_and_the_refund(shops, shop_client):
    campaign, _item = tiered(shops.a, min_buyers=1)
    first, *_others = joined_paid(shops.a, campaign, 3)
    deadline_passes(shops.a, campaign)
    with tenant_context(shops.a):
        groupbuy_close(campaign_id=campaign.pk)
        html = Template("{% load groupbuy_tags %}{% groupbuy_order_panel order %}").render(
            Context({"order": Order.objects.get(pk=first.pk)})
        )
        plain = Template("{% load groupbuy_tags %}{% groupbuy_order_panel order %}").render(
            Context({"order": Order.objects.exclude(group_member__isnull=False).first()})
        )

    assert "You paid" in html and "¥100.00 each" in html
    assert "Final price" in html and "¥80.00 each" in html
    assert "¥20.00" in html  # her refund
    assert plain.strip() == ""


def test_only_the_owner_manages_group_buys(shops, shop_client, creator):
    campaign, item = tiered(shops.a)
    for role in ("editor", "service"):
        client = admin_member(shops.a, shop_client, "a", role)
        for url in (
            "/admin/groupbuys/",
            "/admin/groupbuys/new/",
            f"/admin/groupbuys/{campaign.pk}/",
        ):
            answer = client.get(url)
            assert answer.status_code == 302 and "/admin/groupbuys" not in answer["Location"]
        connection.set_schema_to_public()

    owner = creator("a")
    assert "一起买更便宜" in owner.get("/admin/groupbuys/").text
    ends = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "kind": "tiered",
        "item": item.pk,
        "title": "第二期",
        "tiers": "1:100, 10:90",
        "min_buyers": "2",
        "ends_at": ends,
        "quantity": "5",
        "per_fan_limit": "1",
        "lifetime_hours": "24",
    }
    running = owner.post("/admin/groupbuys/new/", form)  # one group buy per item at a time
    bad = owner.post("/admin/groupbuys/new/", {**form, "tiers": "1:100, 10:10"})
    assert running.status_code == 400 and "already has a group buy" in running.text
    assert bad.status_code == 400 and "between" in bad.text
