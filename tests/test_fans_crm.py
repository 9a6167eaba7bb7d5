"""The creator's fans (粉丝) in her shop's admin: segments by rule, search with masked contacts,
tags and notes, the audited CSV/XLSX export, roles, isolation between shops, bad input."""

from __future__ import annotations

import csv
import io
import math

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from storefront.fans.models import FanExport, FanTag
from storefront.fans.selectors import fans_annotated, fans_for_admin, segment_filter
from storefront.models import Fan, ShareLink

from .a3_helpers import fan_make, member_client, order_make, superuser_client
from .storefront_helpers import listed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def _segment(name: str) -> set[int]:
    return set(segment_filter(fans_annotated(), segment=name).values_list("pk", flat=True))


def test_segments_follow_their_rules(shops):
    listing, _item = listed(shops.a)
    with tenant_context(shops.a):
        newcomer = fan_make(name="新来的", days_ago=2)
        old_quiet = fan_make(name="老粉没买", days_ago=200)
        repeat = fan_make(name="回头客", days_ago=300)
        order_make(repeat, days_ago=10)
        order_make(repeat, days_ago=40)
        once = fan_make(name="买过一次", days_ago=300)
        order_make(once, days_ago=10)
        lapsed = fan_make(name="流失", days_ago=300)
        order_make(lapsed, days_ago=120)
        # An unpaid order is no order: a fan whose only paid order is old stays lapsed.
        order_make(lapsed, days_ago=5, status="expired")
        sharer = fan_make(name="分享达人", days_ago=300)
        link = ShareLink.objects.create(code="a3share1", listing=listing, sharer=sharer)
        order_make(once, days_ago=3, share_link=link)
        self_sharer = fan_make(name="自己买", days_ago=300)
        own_link = ShareLink.objects.create(code="a3share2", listing=listing, sharer=self_sharer)
        order_make(self_sharer, days_ago=3, share_link=own_link)

        new, rep, lap, sharers = (_segment(s) for s in ("new", "repeat", "lapsed", "sharers"))

        assert newcomer.pk in new and old_quiet.pk not in new and repeat.pk not in new
        assert repeat.pk in rep and once.pk in rep  # once + the order her friend's link brought
        assert lapsed.pk not in rep and newcomer.pk not in rep
        assert lapsed.pk in lap and repeat.pk not in lap and old_quiet.pk not in lap
        assert sharer.pk in sharers
        assert self_sharer.pk not in sharers  # buying through her own link brings nobody
        assert once.pk not in sharers
        # None of them took part in a campaign: the segment names none of them.
        mine = {newcomer.pk, old_quiet.pk, repeat.pk, once.pk, lapsed.pk, sharer.pk}
        assert not _segment("campaign") & mine


def test_the_campaign_segment_is_who_registered_for_a_flash_sale(shops):
    from datetime import timedelta

    from django.utils import timezone

    from storefront.flash.models import FlashRegistration, FlashSale

    _listing, item = listed(shops.a, price=8800)
    with tenant_context(shops.a):
        signed_in = fan_make(name="预约了")
        by_code = fan_make(name="验证码预约")
        bystander = fan_make(name="没预约")
        now = timezone.now()
        sale = FlashSale.objects.create(
            item=item,
            price_fen=8000,
            quantity=1,
            announce_at=now,
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
        )
        FlashRegistration.objects.create(sale=sale, fan=signed_in)
        FlashRegistration.objects.create(sale=sale, contact=by_code.mobile)

        assert _segment("campaign") >= {signed_in.pk, by_code.pk}
        assert bystander.pk not in _segment("campaign")


def test_top_ten_percent_by_spend(shops):
    with tenant_context(shops.a):
        mine = []
        for i in range(20):
            fan = fan_make(name=f"大客户{i}", days_ago=50)
            order_make(fan, total=100_000_000 + i * 1000, days_ago=5)
            mine.append(fan)
        small = fan_make(name="小额", days_ago=50)
        order_make(small, total=100, days_ago=5)
        spenders = fans_annotated().filter(spend_fen__gt=0).count()

        top = _segment("top")

        expected = {f.pk for f in mine[::-1][: math.ceil(spenders / 10)]}
        assert top == expected
        assert small.pk not in top


def test_the_fan_list_searches_and_masks_contacts_by_role(shops, shop_client):
    with tenant_context(shops.a):
        fan = fan_make(name="李妈妈", mobile="13912345678", email="lmama@example.com")
        order_make(fan, total=12_300)
    owner = superuser_client(shops.a, shop_client)
    service = member_client(shops.a, shop_client, "service")
    editor = member_client(shops.a, shop_client, "editor")

    for client in (owner, service):
        page = client.get("/admin/fans/", {"q": "13912345678"})
        assert page.status_code == 200
        assert "13912345678" in page.text and "lmama@example.com" in page.text
        assert "李妈妈" in page.text and "¥123.00" in page.text

    page = editor.get("/admin/fans/", {"q": "李妈妈"})
    assert page.status_code == 200
    assert "李妈妈" in page.text and "139****5678" in page.text and "l***@example.com" in page.text
    assert "13912345678" not in page.text and "lmama@example.com" not in page.text
    # An editor cannot use the search to learn whether a given number is a fan …
    assert "李妈妈" not in editor.get("/admin/fans/", {"q": "13912345678"}).text
    # … but finds her by the masked form the list shows.
    assert "李妈妈" in editor.get("/admin/fans/", {"q": "139****5678"}).text
    assert "李妈妈" in editor.get("/admin/fans/", {"q": "l***@example.com"}).text
    detail = editor.get(f"/admin/fans/{fan.pk}/")
    assert detail.status_code == 200 and "13912345678" not in detail.text
    # Exports and data requests are for the roles that see contacts.
    assert editor.get("/admin/fans/export/").status_code == 302
    assert editor.get("/admin/fans/requests/").status_code == 302
    assert editor.post("/admin/fans/export/", {"purpose": "发货", "file_format": "csv"})[
        "Content-Type"
    ].startswith("text/html")


def test_anonymous_is_sent_to_the_login(shops, shop_client):
    for path in ("/admin/fans/", "/admin/fans/1/", "/admin/fans/export/", "/admin/fans/requests/"):
        answer = shop_client("a.localhost").get(path)
        assert answer.status_code == 302 and "/admin/login/" in answer["Location"]


def test_export_csv_has_the_fans_and_an_audit_row(shops, shop_client):
    with tenant_context(shops.a):
        tagged = fan_make(name="=HYPERLINK(1)", mobile="13900001111")
        order_make(tagged, total=8_800)
        order_make(tagged, total=1_200)
        other = fan_make(name="别人", mobile="13900002222")
        tag = FanTag.objects.create(name="试用团")
        tagged.tags.add(tag)
        before = FanExport.objects.count()
    owner = superuser_client(shops.a, shop_client)

    answer = owner.post(
        "/admin/fans/export/?tag=试用团",
        {"tag": "试用团", "purpose": "给试用团寄样品", "file_format": "csv"},
    )

    assert answer.status_code == 200, answer.content[:500]
    assert answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    text = answer.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2  # the header and the one tagged fan
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Mobile number"] == "13900001111"
    assert row["Name"] == "'=HYPERLINK(1)"  # never a live formula in Excel
    assert row["Paid orders"] == "2" and row["Spent (yuan)"] == "100.00"
    assert row["Tags"] == "试用团"
    assert "13900002222" not in text and str(other.pk) != rows[1][0]
    with tenant_context(shops.a):
        assert FanExport.objects.count() == before + 1
        audit = FanExport.objects.first()
        assert audit.purpose == "给试用团寄样品" and audit.row_count == 1
        assert audit.tag == "试用团" and audit.file_format == "csv" and audit.with_contacts
        assert audit.username and audit.user_id


def test_export_xlsx_opens_with_the_rows(shops, shop_client):
    from openpyxl import load_workbook

    with tenant_context(shops.a):
        fan = fan_make(name="表格粉", mobile="13900003333")
        order_make(fan, total=5_000, days_ago=100)
    owner = superuser_client(shops.a, shop_client)

    answer = owner.post(
        "/admin/fans/export/",
        {"q": "表格粉", "segment": "lapsed", "purpose": "回访老客户", "file_format": "xlsx"},
    )

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 2 and values[1][1] == "表格粉" and values[1][2] == "13900003333"
    with tenant_context(shops.a):
        audit = FanExport.objects.first()
        assert (audit.segment, audit.query, audit.row_count) == ("lapsed", "表格粉", 1)


@pytest.mark.parametrize("purpose", ["", "  ", "ab", "x" * 201, "发货\n寄样"])
def test_export_without_a_stated_purpose_gives_no_file(shops, shop_client, purpose):
    owner = superuser_client(shops.a, shop_client)
    with tenant_context(shops.a):
        before = FanExport.objects.count()

    answer = owner.post("/admin/fans/export/", {"purpose": purpose, "file_format": "csv"})

    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("text/html")
    with tenant_context(shops.a):
        assert FanExport.objects.count() == before


def test_bulk_tag_tags_the_chosen_fans_of_this_shop_only(shops, shop_client):
    with tenant_context(shops.b):
        foreign = fan_make(name="B 店粉丝")
    with tenant_context(shops.a):
        one, two, three = (fan_make(name=f"粉{i}") for i in range(3))
    owner = superuser_client(shops.a, shop_client)

    answer = owner.post(
        "/admin/fans/tag/",
        {"fan": [one.pk, two.pk, "abc", "99999999999"], "tag": "宝妈", "back": "segment=new"},
    )

    assert answer.status_code == 302 and answer["Location"].endswith("/admin/fans/?segment=new")
    with tenant_context(shops.a):
        assert set(FanTag.objects.get(name="宝妈").fans.values_list("pk", flat=True)) >= {
            one.pk,
            two.pk,
        }
        assert not three.tags.exists()
    listed_page = owner.get("/admin/fans/", {"tag": "宝妈"})
    assert "粉0" in listed_page.text and "粉2" not in listed_page.text
    # Shop b's fan by id: that id names nobody in b's tags.
    owner.post("/admin/fans/tag/", {"fan": [foreign.pk], "tag": "宝妈"})
    with tenant_context(shops.b):
        assert not FanTag.objects.filter(name="宝妈").exists()
    # Taking it off again.
    owner.post("/admin/fans/tag/", {"fan": [one.pk], "tag": "宝妈", "remove": "1"})
    with tenant_context(shops.a):
        assert not one.tags.exists() and two.tags.filter(name="宝妈").exists()


def test_a_fans_page_shows_orders_shares_tags_and_takes_notes(shops, shop_client):
    listing, _item = listed(shops.a)
    with tenant_context(shops.a):
        fan = fan_make(name="笔记粉", mobile="13900004444")
        friend = fan_make(name="朋友")
        link = ShareLink.objects.create(code="a3share3", listing=listing, sharer=fan, visits=7)
        mine = order_make(fan, total=6_600)
        order_make(friend, total=3_000, share_link=link)
    owner = superuser_client(shops.a, shop_client)

    owner.post(f"/admin/fans/{fan.pk}/", {"action": "note", "text": "喜欢有机辅食\n周末收货"})
    owner.post(f"/admin/fans/{fan.pk}/", {"action": "tag", "tag": "有机"})
    page = owner.get(f"/admin/fans/{fan.pk}/")

    assert page.status_code == 200
    assert mine.number in page.text and "¥66.00" in page.text
    assert "13900004444" in page.text
    assert "喜欢有机辅食<br>周末收货" in page.text and "有机" in page.text
    assert listing.title in page.text and ">7<" in page.text and ">1<" in page.text
    bad = owner.post(f"/admin/fans/{fan.pk}/", {"action": "note", "text": "x" * 501})
    assert bad.status_code == 400


def test_shops_never_see_each_others_fans(shops, shop_client):
    with tenant_context(shops.a):
        a_ids = set(Fan.objects.values_list("pk", flat=True))
    with tenant_context(shops.b):
        theirs = fan_make(name="只在B店", mobile="13900005555")
        while theirs.pk in a_ids:  # an id that names nobody in shop a
            theirs = fan_make(name="只在B店", mobile=None)
    owner_a = superuser_client(shops.a, shop_client)

    assert "只在B店" not in owner_a.get("/admin/fans/").text
    assert "只在B店" not in owner_a.get("/admin/fans/", {"q": "13900005555"}).text
    assert owner_a.get(f"/admin/fans/{theirs.pk}/").status_code == 404
    with tenant_context(shops.a):
        assert not fans_for_admin(query="只在B店").exists()


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "99999999999999999999"},
        {"segment": "<script>"},
        {"q": "x" * 500},
        {"q": "\x00\u202e"},
        {"tag": "t" * 100},
        {"q": "1**1"},
        {"q": "***@"},
    ],
)
def test_bad_list_input_is_never_a_500(shops, shop_client, query):
    owner = superuser_client(shops.a, shop_client)
    assert owner.get("/admin/fans/", query).status_code == 200


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/fans/tag/", {"fan": ["1"], "tag": ""}),
        ("/admin/fans/tag/", {"fan": ["1"], "tag": "t" * 21}),
        ("/admin/fans/tag/", {"fan": ["1"], "tag": "坏\x00"}),
        ("/admin/fans/tag/", {"tag": "无人"}),
        ("/admin/fans/tag/", {"fan": ["1"], "tag": "ok", "back": "//evil.example/x"}),
        ("/admin/fans/requests/", {"request": "abc"}),
        ("/admin/fans/requests/", {"request": "99999999999999"}),
        ("/admin/fans/export/", {"purpose": "正当目的", "file_format": "pdf"}),
        ("/admin/fans/export/", {"purpose": "正当目的", "file_format": "csv", "segment": "<x>"}),
    ],
)
def test_bad_posts_are_never_a_500(shops, shop_client, path, data):
    owner = superuser_client(shops.a, shop_client)
    answer = owner.post(path, data)
    assert answer.status_code in (200, 302, 400)
    if answer.status_code == 302:
        assert "evil.example" not in answer["Location"]


def test_admin_posts_need_the_csrf_token(shops):
    with tenant_context(shops.a):
        from django.contrib.auth import get_user_model

        fan = fan_make(name="防伪")
        user = get_user_model().objects.create_superuser("csrf-owner-a3", password="pw-12345-abc")
    connection.set_schema_to_public()
    client = Client(HTTP_HOST="a.localhost", enforce_csrf_checks=True)
    with tenant_context(shops.a):
        client.force_login(user)
    connection.set_schema_to_public()

    for path, data in (
        ("/admin/fans/tag/", {"fan": [fan.pk], "tag": "伪造"}),
        (f"/admin/fans/{fan.pk}/", {"action": "note", "text": "伪造"}),
        ("/admin/fans/export/", {"purpose": "伪造的导出", "file_format": "csv"}),
        ("/admin/fans/requests/", {"request": "1"}),
    ):
        assert client.post(path, data).status_code == 403, path
    with tenant_context(shops.a):
        assert not FanTag.objects.filter(name="伪造").exists()
        assert not fan.notes.exists()


def test_the_owner_sends_a_coupon_to_a_segment_once_per_fan(
    shops, shop_client, django_capture_on_commit_callbacks
):
    from config.celery import app
    from storefront.coupons.models import CouponClaim
    from storefront.fans.services import fans_coupon_send

    from .c1_helpers import coupon_make

    listed(shops.a)
    coupon = coupon_make(shops.a, name="回头客专享券")
    with tenant_context(shops.a):
        loyal = [fan_make(name=f"忠粉{i}", days_ago=200) for i in range(2)]
        for fan in loyal:
            order_make(fan, days_ago=5)
            order_make(fan, days_ago=50)
        once = fan_make(name="只买一次", days_ago=200)
        order_make(once, days_ago=5)
        tag = FanTag.objects.create(name="a3-券测试")
        tag.fans.add(*loyal, once)
    owner = superuser_client(shops.a, shop_client)
    assert "回头客专享券" in owner.get("/admin/fans/", {"segment": "repeat"}).text
    service = member_client(shops.a, shop_client, "service")
    filters = {"segment": "repeat", "tag": "a3-券测试", "back": "segment=repeat&tag=a3-券测试"}

    with django_capture_on_commit_callbacks() as refused:
        answer = service.post("/admin/fans/coupon/", {"coupon": coupon.pk, **filters})
    assert answer.status_code == 302 and refused == []  # coupons are the owner's money
    with django_capture_on_commit_callbacks() as forged:  # a forged filter is not "everyone"
        owner.post("/admin/fans/coupon/", {"coupon": coupon.pk, "segment": "<x>"})
    assert forged == []
    with django_capture_on_commit_callbacks() as callbacks:
        answer = owner.post("/admin/fans/coupon/", {"coupon": coupon.pk, **filters})
    assert answer.status_code == 302 and "segment=repeat" in answer["Location"]
    assert len(callbacks) == 1  # the task goes after the request's transaction

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with tenant_context(shops.a):
            callbacks[0]()  # as the worker would run it, in shop a
    finally:
        app.conf.task_always_eager = eager
    with tenant_context(shops.a):
        holders = set(CouponClaim.objects.filter(coupon=coupon).values_list("fan_id", flat=True))
        assert holders == {f.pk for f in loyal}
        # Sent again (a retried task, a second click): nobody gets a second one.
        assert fans_coupon_send(coupon_id=coupon.pk, fan_ids=[f.pk for f in loyal]) == (0, 2)
        assert CouponClaim.objects.filter(coupon=coupon).count() == 2


@pytest.mark.parametrize(
    "data", [{}, {"coupon": "abc"}, {"coupon": "99999999"}, {"coupon": "1", "segment": "<x>"}]
)
def test_a_bad_coupon_send_is_refused_without_a_500(shops, shop_client, data):
    owner = superuser_client(shops.a, shop_client)
    answer = owner.post("/admin/fans/coupon/", data)
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/fans/")


def test_the_demo_seed_tags_fans_and_leaves_one_pending_request_once(shops):
    from storefront.fans.demo import DEMO_NOTE, DEMO_TAGS, demo_seed
    from storefront.fans.models import FanDataRequest, FanNote

    demo_seed(shop=shops.a)
    demo_seed(shop=shops.a)  # make run again: nothing twice

    with tenant_context(shops.a):
        assert set(FanTag.objects.filter(name__in=DEMO_TAGS).values_list("name", flat=True)) == set(
            DEMO_TAGS
        )
        assert FanTag.objects.get(name=DEMO_TAGS[0]).fans.count() == 3
        assert FanNote.objects.filter(text=DEMO_NOTE).count() == 1
        assert FanDataRequest.objects.filter(kind="delete", state="pending").count() == 1
