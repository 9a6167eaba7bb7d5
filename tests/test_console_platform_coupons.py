"""Staff console: platform coupons listed, made (amounts in yuan), paused, resumed and ended
with a confirmation, uses per shop; staff only; bad input is a form error, never a 500."""

from __future__ import annotations

import pytest

from billing.coupons.models import PlatformCoupon
from billing.coupons.services import platform_coupon_confirm, platform_coupon_hold
from billing.payouts.testing import creator_make
from catalog.testing import PASSWORD, staff_make, supplier_make, user_make
from tests.c3_helpers import platform_coupon_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_english")]

LIST = "/console/platform-coupons/"
NEW = "/console/platform-coupons/new/"


@pytest.fixture
def console(shop_client):
    def login(user=None):
        user = user or staff_make()
        client = shop_client("localhost")
        assert client.login(username=user.username, password=PASSWORD)
        client.user = user
        return client

    return login


def form(**changes: str) -> dict[str, str]:
    data = {
        "name": "平台新人券",
        "code": "xinren5",
        "kind": "threshold",
        "amount": "5",
        "min_goods": "30.00",
        "budget": "500",
        "starts_at": "2026-01-01T00:00",
        "ends_at": "2036-01-01T00:00",
        "all_shops": "on",
        "shops": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_only_staff_reach_platform_coupons(console, shop_client):
    coupon = platform_coupon_make()
    owner = user_make()
    shop = creator_make()
    shop.owner = owner
    shop.save(update_fields=["owner"])
    pages = [LIST, NEW, f"{LIST}{coupon.pk}/", f"{LIST}{coupon.pk}/end/"]
    posts = [f"{LIST}{coupon.pk}/pause/", f"{LIST}{coupon.pk}/end/", NEW]

    anonymous = shop_client("localhost")
    for who in (anonymous, console(supplier_make().user), console(owner)):
        for url in pages:
            response = who.get(url)
            assert response.status_code == 302 and "/login/" in response["Location"], url
        for url in posts:
            response = who.post(url, {**form(code="HACK01"), "confirm": "yes"})
            assert response.status_code == 302 and "/login/" in response["Location"], url

    coupon.refresh_from_db()
    assert coupon.status == PlatformCoupon.Status.ACTIVE
    assert not PlatformCoupon.objects.filter(code="HACK01").exists()
    assert console().get(LIST).status_code == 200


def test_staff_make_a_coupon_in_yuan_and_see_budget_spent_and_uses(console):
    client = console()

    response = client.post(NEW, form())

    coupon = PlatformCoupon.objects.get(code="XINREN5")
    assert response.status_code == 302 and response["Location"] == f"{LIST}{coupon.pk}/"
    assert (coupon.kind, coupon.amount_fen, coupon.min_goods_fen) == ("threshold", 500, 3000)
    assert (coupon.budget_fen, coupon.spent_fen, coupon.all_shops) == (50_000, 0, True)
    assert coupon.created_by == client.user

    shop = creator_make(name="育儿小店")
    platform_coupon_hold(coupon_id=coupon.pk, tenant_id=shop.pk, order_number="V1", amount_fen=500)
    platform_coupon_confirm(tenant_id=shop.pk, order_number="V1")
    listing = client.get(LIST).text
    assert "XINREN5" in listing and "¥500.00" in listing and "¥5.00" in listing
    assert "<td>1</td>" in listing  # one use


def test_uses_are_shown_per_shop(console):
    client = console()
    coupon = platform_coupon_make(amount_fen=500)
    yuer, chufang = creator_make(name="育儿小店"), creator_make(name="厨房小店")
    for n in range(3):
        platform_coupon_hold(
            coupon_id=coupon.pk, tenant_id=yuer.pk, order_number=f"Y{n}", amount_fen=500
        )
        platform_coupon_confirm(tenant_id=yuer.pk, order_number=f"Y{n}")
    platform_coupon_hold(
        coupon_id=coupon.pk, tenant_id=chufang.pk, order_number="C1", amount_fen=300
    )

    page = client.get(f"{LIST}{coupon.pk}/").text

    assert "育儿小店" in page and "¥15.00" in page
    assert "厨房小店" in page and "¥3.00" in page
    assert "¥18.00" in page  # spent in all


def test_a_coupon_for_chosen_shops_names_them_by_sub_domain(console, shops):
    client = console()

    response = client.post(NEW, form(code="ONLYA", all_shops=None, shops="a"))

    assert response.status_code == 302
    coupon = PlatformCoupon.objects.get(code="ONLYA")
    assert not coupon.all_shops
    assert list(coupon.shops.all()) == [shops.a]


def test_an_unknown_shop_is_a_form_error(console, shops):
    client = console()

    response = client.post(NEW, form(code="ONLYX", all_shops=None, shops="a nosuchshop"))

    assert response.status_code == 400
    assert "No shop at: nosuchshop" in response.text
    assert not PlatformCoupon.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "新人\x00券"}, "name"),
        ({"name": "新人\x1b[31m券"}, "name"),
        ({"name": "券" * 10_000}, "name"),
        ({"code": "NEW\u202e5"}, "code"),
        ({"code": "ab"}, "code"),
        ({"amount": "1e99"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "5.001"}, "amount"),
        ({"budget": "1e99"}, "budget"),
        ({"budget": "9" * 40}, "budget"),
        ({"budget": ""}, "budget"),
        ({"kind": "percent", "percent_off": "100"}, "percent_off"),
        ({"kind": "percent", "percent_off": "9" * 30}, "percent_off"),
        ({"kind": "percent", "percent_off": ""}, "percent_off"),
        ({"kind": "gift"}, "kind"),
        ({"min_goods": "5"}, "min_goods"),
        ({"ends_at": "2025-12-31T00:00"}, "ends_at"),
        ({"starts_at": "not a date"}, "starts_at"),
        ({"all_shops": None, "shops": ""}, "shops"),
        ({"all_shops": None, "shops": "a " * 300}, "shops"),
    ],
)
def test_bad_input_is_a_form_error_never_a_500(console, shops, changes, field):
    client = console()

    response = client.post(NEW, form(**changes))

    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not PlatformCoupon.objects.exists()


def test_a_taken_code_is_a_form_error(console):
    client = console()
    platform_coupon_make(code="TAKEN1")

    response = client.post(NEW, form(code="taken1"))

    assert response.status_code == 400
    assert "This code is already taken." in response.text
    assert PlatformCoupon.objects.count() == 1


def test_pause_and_resume_are_posts(console):
    client = console()
    coupon = platform_coupon_make()

    assert client.get(f"{LIST}{coupon.pk}/pause/").status_code == 405
    client.post(f"{LIST}{coupon.pk}/pause/")
    coupon.refresh_from_db()
    assert coupon.status == PlatformCoupon.Status.PAUSED
    assert "Resume" in client.get(f"{LIST}{coupon.pk}/").text

    client.post(f"{LIST}{coupon.pk}/resume/")
    coupon.refresh_from_db()
    assert coupon.status == PlatformCoupon.Status.ACTIVE


def test_ending_asks_for_confirmation_first(console):
    client = console()
    coupon = platform_coupon_make()

    page = client.get(f"{LIST}{coupon.pk}/end/")
    assert page.status_code == 200
    assert 'name="confirm"' in page.text and "cannot be resumed" in page.text

    client.post(f"{LIST}{coupon.pk}/end/")
    coupon.refresh_from_db()
    assert coupon.status == PlatformCoupon.Status.ACTIVE

    response = client.post(f"{LIST}{coupon.pk}/end/", {"confirm": "yes"}, follow=True)
    coupon.refresh_from_db()
    assert coupon.status == PlatformCoupon.Status.ENDED
    assert "ended for good" in response.text

    client.post(f"{LIST}{coupon.pk}/resume/")
    coupon.refresh_from_db()
    assert coupon.status == PlatformCoupon.Status.ENDED


def test_an_unknown_coupon_is_404(console):
    client = console()
    assert client.get(f"{LIST}999999/").status_code == 404
    assert client.post(f"{LIST}999999/pause/").status_code == 404


def test_uses_of_a_coupon_for_several_shops_are_counted_once(console, shops):
    client = console()
    coupon = platform_coupon_make(
        code="TWOSHOPS", all_shops=False, shop_ids=[shops.a.pk, shops.b.pk]
    )
    platform_coupon_hold(
        coupon_id=coupon.pk, tenant_id=shops.a.pk, order_number="T1", amount_fen=500
    )

    listing = client.get(LIST).text

    row = listing.split("TWOSHOPS", 1)[1].split("</tr>", 1)[0]
    assert "<td>2</td>" in row  # shops
    assert "<td>1</td>" in row  # uses
