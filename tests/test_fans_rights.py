"""Fans' rights over their data in a shop (PIPL art. 45 and 47): the download of everything the
shop holds about her, the deletion request that reaches the creator with its due date, and the
beat task that erases her personal information when due — afterwards her phone is nowhere in
the shop's schema while her orders still add up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone
from django_tenants.utils import tenant_context

from storefront.fans.models import FanDataRequest, FanExport, FanNote, FanTag
from storefront.fans.services import DELETION_DAYS, fan_deletion_request
from storefront.fans.tasks import fan_requests_due_task
from storefront.models import Fan, Order, OrderLine, Review, ShareLink
from tenants.models import Tenant
from tenants.provisioning import pool_refill

from .a3_helpers import (
    fan_make,
    fan_signed_in,
    line_make,
    order_make,
    superuser_client,
    unique_mobile,
)
from .storefront_helpers import listed

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")


@pytest.mark.django_db
def test_a_fan_downloads_everything_the_shop_holds_about_her(shops, shop_client):
    listing, item = listed(shops.a, price=8_800, stock=10)
    mobile = unique_mobile()
    with tenant_context(shops.a):
        fan = fan_make(name="林小雨", mobile=mobile, email="xiaoyu@example.com")
        order = order_make(fan, total=item.retail_price_fen * 2)
        line = line_make(order, item, quantity=2)
        Review.objects.create(line=line, listing=listing, fan=fan, rating=5, text="宝宝很爱吃")
        ShareLink.objects.create(code="a3dl0001", listing=listing, sharer=fan, visits=3)
        stranger = fan_make(name="别人家的", mobile=unique_mobile())
        order_make(stranger, total=4_200)
    client = shop_client("a.localhost")
    fan_signed_in(shops.a, client, fan.pk)

    answer = client.post("/me/data/download/")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/json")
    assert "attachment" in answer["Content-Disposition"]
    assert "no-store" in answer["Cache-Control"]
    data = json.loads(answer.content)
    assert data["profile"] == {
        "name": "林小雨",
        "mobile": mobile,
        "email": "xiaoyu@example.com",
        "since": data["profile"]["since"],
    }
    [mine] = data["orders"]
    assert mine["number"] == order.number and mine["total_fen"] == order.total_fen
    assert mine["recipient"] == "林小雨" and mine["street"].startswith("文三路")
    assert mine["contact_mobile"] == mobile
    assert mine["lines"][0]["title"] == line.title and mine["lines"][0]["quantity"] == 2
    assert "supply_price_fen" not in mine["lines"][0]  # the supplier's price is not her data
    assert data["reviews"][0]["text"] == "宝宝很爱吃"
    assert data["shares"][0]["code"] == "a3dl0001" and data["shares"][0]["visits"] == 3
    assert data["coupons"] == []
    assert data["data_requests"][0]["kind"] == "download"
    text = answer.content.decode()
    assert "别人家的" not in text and stranger.mobile not in text
    with tenant_context(shops.a):  # the creator's list of requests shows the download
        assert FanDataRequest.objects.filter(
            fan=fan, kind="download", state="done", done_at__isnull=False
        ).exists()


@pytest.mark.django_db
def test_data_pages_need_a_signed_in_fan_and_a_post(shops, shop_client):
    client = shop_client("a.localhost")
    for path in ("/me/data/download/", "/me/data/delete/", "/me/data/delete/withdraw/"):
        answer = client.post(path, {"confirm": "1"})
        assert answer.status_code == 302 and answer["Location"].startswith("/me/code/"), path
        assert client.get(path).status_code == 405, path


@pytest.mark.django_db
def test_a_fan_of_shop_b_is_nobody_in_shop_a(shops, shop_client):
    """Her session belongs to shop b's host; the same fan id in shop a is someone else's."""
    with tenant_context(shops.b):
        theirs = fan_make(name="B店的她", mobile=unique_mobile())
    client = shop_client("a.localhost")
    fan_signed_in(shops.b, client, theirs.pk)  # a session saved in b, presented to a
    answer = client.post("/me/data/download/")
    assert answer.status_code == 302
    assert "B店的她" not in answer.content.decode()


@pytest.mark.django_db
def test_data_posts_need_the_csrf_token(shops):
    with tenant_context(shops.a):
        fan = fan_make(name="防伪粉")
    client = Client(HTTP_HOST="a.localhost", enforce_csrf_checks=True)
    fan_signed_in(shops.a, client, fan.pk)
    for path in ("/me/data/download/", "/me/data/delete/", "/me/data/delete/withdraw/"):
        assert client.post(path, {"confirm": "1"}).status_code == 403, path
    with tenant_context(shops.a):
        assert not FanDataRequest.objects.filter(fan=fan).exists()


@pytest.mark.django_db
def test_a_deletion_request_reaches_the_creators_list_with_its_due_date(shops, shop_client):
    with tenant_context(shops.a):
        fan = fan_make(name="想删除", mobile="13911112222")
    client = shop_client("a.localhost")
    fan_signed_in(shops.a, client, fan.pk)

    unconfirmed = client.post("/me/data/delete/")
    with tenant_context(shops.a):
        assert unconfirmed.status_code == 302
        assert not FanDataRequest.objects.filter(fan=fan).exists()
    before = timezone.now()
    assert client.post("/me/data/delete/", {"confirm": "1"}).status_code == 302
    assert client.post("/me/data/delete/", {"confirm": "1"}).status_code == 302  # once only

    with tenant_context(shops.a):
        [req] = FanDataRequest.objects.filter(fan=fan)
        assert (req.kind, req.state) == ("delete", "pending")
        due = before + timedelta(days=DELETION_DAYS)
        assert abs((req.due_at - due).total_seconds()) < 60
        # The account page's section says when it will be done, with a way back.
        request = RequestFactory().get("/me/", HTTP_HOST="a.localhost")
        html = render_to_string("storefront/fans/account_data.html", {"fan": fan}, request=request)
        assert timezone.localtime(req.due_at).strftime("%Y") in html
        assert "/me/data/delete/withdraw/" in html and "/me/data/download/" in html
    owner = superuser_client(shops.a, shop_client)
    page = owner.get("/admin/fans/requests/")
    assert page.status_code == 200
    assert "139****2222" in page.text  # masked: the list is about requests, not contacts
    assert timezone.localtime(req.due_at).strftime("%Y-%m-%d %H:%M") in page.text

    assert client.post("/me/data/delete/withdraw/").status_code == 302
    with tenant_context(shops.a):
        req.refresh_from_db()
        assert req.state == "withdrawn"
        html = render_to_string("storefront/fans/account_data.html", {"fan": fan}, request=request)
        assert "/me/data/delete/withdraw/" not in html and 'name="confirm"' in html


@pytest.mark.django_db
def test_the_creator_may_complete_a_request_early(shops, shop_client):
    with tenant_context(shops.a):
        fan = fan_make(name="早点删", mobile=unique_mobile())
        order = order_make(fan, total=9_900)
        req = fan_deletion_request(fan=fan)
    owner = superuser_client(shops.a, shop_client)

    assert owner.post("/admin/fans/requests/", {"request": req.pk}).status_code == 302
    again = owner.post("/admin/fans/requests/", {"request": req.pk}, follow=True)
    assert "no longer pending" in again.text

    with tenant_context(shops.a):
        fan.refresh_from_db()
        order.refresh_from_db()
        assert fan.erased_at and (fan.name, fan.mobile, fan.email) == ("", "", "")
        assert (order.total_fen, order.recipient_phone, order.contact_mobile) == (9_900, "", "")
    assert "早点删" not in owner.get("/admin/fans/").text


# --- the task, as beat runs it ------------------------------------------------------------------


@pytest.fixture
def pooled_schema(committed_db) -> Iterator[str]:
    """One committed schema in the warm pool (beat sees it), dropped again afterwards."""
    before = set(Tenant.objects.filter(state=Tenant.State.POOLED).values_list("pk", flat=True))
    assert pool_refill(size=len(before) + 1) == 1
    made = Tenant.objects.filter(state=Tenant.State.POOLED).exclude(pk__in=before).get()
    yield made.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{made.schema_name}" CASCADE')
    Tenant.objects.filter(pk=made.pk).delete()


def _text_columns_holding(schema: str, needle: str) -> list[str]:
    """Every text column (any table of SCHEMA) whose value contains NEEDLE: table.column."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "JOIN information_schema.tables USING (table_schema, table_name) "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' AND data_type IN "
            "('character varying', 'text', 'character', 'json', 'jsonb')",
            [schema],
        )
        columns = cursor.fetchall()
        assert len(columns) > 100  # storefront's, Wagtail's, auth's … all of them
        found = []
        for table, column in columns:
            cursor.execute(
                f'SELECT 1 FROM "{schema}"."{table}" WHERE "{column}"::text LIKE %s LIMIT 1',
                [f"%{needle}%"],
            )
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


def test_the_due_task_erases_her_personal_information_everywhere_in_the_shop(
    shops, shop_client, pooled_schema
):
    listing, item = listed(shops.a, price=8_800, stock=20)
    mobile = unique_mobile()
    email, name = f"a3-{unique_mobile()}@example.com", f"林小雨{mobile[-4:]}"
    made: dict[str, list[int]] = {"fans": [], "orders": []}
    try:
        with tenant_context(shops.a):
            fan = fan_make(name=name, mobile=mobile, email=email)
            street = f"梧桐路 {mobile[-5:]} 号"
            first = order_make(fan, total=item.retail_price_fen, street=street)
            second = order_make(
                fan, total=item.retail_price_fen * 2, status="pending_payment", street=street
            )
            review_line = line_make(first, item)
            line_make(second, item, quantity=2)
            Review.objects.create(line=review_line, listing=listing, fan=fan, rating=4, text="好用")
            link = ShareLink.objects.create(code="a3erase1", listing=listing, sharer=fan)
            friend = fan_make(name="她的朋友", mobile=unique_mobile())
            # A friend's order through her link, sent to her as a gift (her phone as recipient's).
            gift = order_make(friend, total=3_000, share_link=link, phone=mobile)
            FanNote.objects.create(fan=fan, text=f"老客户 {mobile}")
            fan.tags.add(FanTag.objects.get_or_create(name="a3-删除测试")[0])
            FanExport.objects.create(
                username="owner", purpose="回访", query=mobile, file_format="csv", row_count=1
            )
            fan_deletion_request(fan=fan)
            waiting = fan_make(name="还没到期", mobile=unique_mobile())
            order_make(waiting, total=1_000)
            not_due = fan_deletion_request(fan=waiting)
            # Her request was made 15 days ago: it is due now.
            FanDataRequest.objects.filter(fan=fan).update(
                due_at=timezone.now() - timedelta(seconds=1)
            )
            made["fans"] = [fan.pk, friend.pk, waiting.pk]
            made["orders"] = [first.pk, second.pk, gift.pk]
            totals_before = Order.objects.aggregate(s=Sum("total_fen"))["s"]
            lines_before = OrderLine.objects.filter(order__fan=fan).count()
            assert _text_columns_holding(shops.a.schema_name, mobile)  # the probe finds it
        connection.set_schema_to_public()

        # As beat sends it: from the public schema, no arguments; the template and pool exist.
        result = fan_requests_due_task.apply()

        assert result.successful(), result.traceback
        assert result.get() >= 1
        with tenant_context(shops.a):
            for needle in (mobile, email, name, street):
                assert _text_columns_holding(shops.a.schema_name, needle) == [], needle
            # Orders kept, with their amounts: the shop's books still add up.
            assert Order.objects.aggregate(s=Sum("total_fen"))["s"] == totals_before
            assert Order.objects.filter(fan=fan).count() == 2
            assert OrderLine.objects.filter(order__fan=fan).count() == lines_before
            kept = Order.objects.get(pk=second.pk)
            assert kept.total_fen == second.total_fen
            assert (kept.province, kept.city, kept.street) == ("浙江", "杭州市", "")
            fan.refresh_from_db()
            assert fan.erased_at is not None and not fan.tags.exists() and not fan.notes.exists()
            review = Review.objects.get(fan=fan)
            assert review.text == "好用" and review.buyer_name == "?**"
            link.refresh_from_db()
            assert link.sharer_id == fan.pk  # kept for the orders it brought, but nameless
            assert Order.objects.get(pk=gift.pk).share_link_id == link.pk
            assert FanDataRequest.objects.get(fan=fan, kind="delete").state == "done"
            not_due.refresh_from_db()
            assert not_due.state == "pending"
            assert Fan.objects.get(pk=waiting.pk).mobile  # not due: untouched
        connection.set_schema_to_public()
        # Beat again next hour: nothing left to do, nothing done twice.
        again = fan_requests_due_task.apply()
        assert again.successful()
        with tenant_context(shops.a):
            assert FanDataRequest.objects.filter(fan=fan, state="done").count() == 1
    finally:
        with tenant_context(shops.a):
            Review.objects.filter(fan_id__in=made["fans"]).delete()
            Order.objects.filter(fan_id__in=made["fans"]).delete()
            ShareLink.objects.filter(sharer_id__in=made["fans"]).delete()
            FanDataRequest.objects.filter(fan_id__in=made["fans"]).delete()
            FanExport.objects.filter(username="owner", purpose="回访").delete()
            FanTag.objects.filter(name="a3-删除测试").delete()
            Fan.objects.filter(pk__in=made["fans"]).delete()
        connection.set_schema_to_public()
