"""Rewards for sharing (single level, coupons only): a fan whose share link brought a new buyer
gets the shop's share-reward coupon once that order is past its return window; nothing else
ever earns one. What the sharer sees at 我的, what the order page promises, and 分享达人."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.fulfilment import services as fulfilment
from billing.fulfilment.models import ReturnCase, SupplierOrder
from core.contact import Contact
from storefront.coupons.models import Coupon, CouponClaim
from storefront.coupons.selectors import fan_coupons
from storefront.fans.account import SESSION_FAN
from storefront.models import Fan, Order
from storefront.sharing.rewards import share_reward_check, share_rewards_grant
from storefront.sharing.selectors import Why, share_reward_coupon, sharer_summary
from storefront.sharing_demo import FRIEND_MOBILE, REWARD_CODE, SHARER_MOBILE, demo_seed
from storefront.team import services as team
from storefront.team.roles import EDITOR, SERVICE

from .c5_helpers import (
    bought,
    email_new,
    friend_buys,
    mobile_new,
    reward_coupon,
    sharer_make,
)
from .storefront_helpers import listed, ship_and_deliver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media", "catalog_english")]


def grant(shop) -> None:
    """One run of what the hourly task does in SHOP. Tests assert on their own sharers' wallets,
    not on the run's count: rows committed by other test modules live in the same shops."""
    with tenant_context(shop):
        share_rewards_grant()
    connection.set_schema_to_public()


def rewards_of(shop, fan: Fan) -> list[str]:
    """The reward orders of FAN's reward claims in SHOP (what her wallet holds from sharing)."""
    with tenant_context(shop):
        numbers = sorted(
            c.reward_order_number for c in fan_coupons(fan=fan) if c.source == "reward"
        )
    connection.set_schema_to_public()
    return numbers


@pytest.fixture
def goods(shops):
    _listing, item = listed(shops.a, price=8800, stock=50)
    return item


def test_a_friend_brought_through_a_share_link_earns_the_sharer_her_coupon_once(
    shops, shop_client, goods
):
    coupon = reward_coupon(shops.a, name="分享好友得 5 元")
    sharer, link, _own = sharer_make(shops.a, shop_client, goods)
    friend_order = friend_buys(shops.a, shop_client, goods, link)
    assert friend_order.share_link_id == link.pk

    # Paid, then delivered yesterday: she could still send it back, so nothing yet.
    ship_and_deliver(friend_order, days_ago=1)
    grant(shops.a)
    assert rewards_of(shops.a, sharer) == []
    with tenant_context(shops.a):
        [seen] = sharer_summary(fan=sharer).brought
    assert seen.why == Why.WINDOW_OPEN
    assert (
        seen.until == SupplierOrder.objects.get(order_number=friend_order.number).returns_close_at
    )

    # Eight days after delivery the window has closed: the reward is hers.
    SupplierOrder.objects.filter(order_number=friend_order.number).update(
        delivered_at=timezone.now() - timedelta(days=8),
        returns_close_at=timezone.now() - timedelta(days=1),
    )
    grant(shops.a)
    assert rewards_of(shops.a, sharer) == [friend_order.number]
    # Run again (the hourly task, next hour): still one reward for one friend.
    grant(shops.a)
    assert rewards_of(shops.a, sharer) == [friend_order.number]
    with tenant_context(shops.a):
        claim = CouponClaim.objects.get(fan=sharer, reward_order_number=friend_order.number)
        assert claim.coupon_id == coupon.pk
        html = render_to_string("storefront/sharing/account_rewards.html", {"fan": sharer})
    # What she sees: whom she brought (masked), and what it earned her.
    friend_mobile = friend_order.contact_mobile
    assert friend_mobile not in html
    assert f"{friend_mobile[0]}*********{friend_mobile[-1]}" in html
    assert "Reward earned: 分享好友得 5 元" in html
    assert "This month: 1 of 5 rewards" in html


def test_a_sharer_buying_through_her_own_link_or_a_second_account_earns_nothing(
    shops, shop_client, goods
):
    reward_coupon(shops.a)
    sharer, link, own = sharer_make(shops.a, shop_client, goods)
    # The same fan again, through her own link: not even attributed to the link.
    again = friend_buys(shops.a, shop_client, goods, link, contact=sharer.mobile)
    assert again.share_link_id is None
    # A second account (an e-mail) shipping to her own phone: her household, not a friend.
    alias = friend_buys(
        shops.a, shop_client, goods, link, contact=email_new(), recipient_phone=own.recipient_phone
    )
    assert alias.share_link_id == link.pk
    for order in (again, alias):
        ship_and_deliver(order, days_ago=8)

    grant(shops.a)
    assert rewards_of(shops.a, sharer) == []
    with tenant_context(shops.a):
        assert [b.why for b in sharer_summary(fan=sharer).brought] == [Why.SELF]


def test_a_returning_buyer_earns_the_sharer_nothing(shops, shop_client, goods):
    reward_coupon(shops.a)
    sharer, link, _own = sharer_make(shops.a, shop_client, goods)
    regular = mobile_new()
    first = bought(shops.a, shop_client("a.localhost"), goods, contact=regular)
    through_link = friend_buys(shops.a, shop_client, goods, link, contact=regular)
    for order in (first, through_link):
        ship_and_deliver(order, days_ago=8)

    grant(shops.a)
    with tenant_context(shops.a):
        assert [b.why for b in sharer_summary(fan=sharer).brought] == [Why.RETURNING_BUYER]


def test_at_most_the_monthly_cap_of_friends_is_rewarded(shops, shop_client, goods):
    reward_coupon(shops.a, cap=2)
    sharer, link, _own = sharer_make(shops.a, shop_client, goods)
    friends = [friend_buys(shops.a, shop_client, goods, link) for _ in range(3)]
    for order in friends:
        ship_and_deliver(order, days_ago=8)

    grant(shops.a)
    grant(shops.a)
    # The first two friends to buy earned the two rewards; the third never will this month.
    assert rewards_of(shops.a, sharer) == sorted(o.number for o in friends[:2])
    with tenant_context(shops.a):
        summary = sharer_summary(fan=sharer)
    assert (summary.this_month, summary.cap) == (2, 2)
    assert sorted(b.why for b in summary.brought) == [Why.OVER_CAP, Why.REWARDED, Why.REWARDED]


def test_an_order_refunded_in_full_earns_nothing_and_an_open_return_waits(
    shops, shop_client, goods
):
    reward_coupon(shops.a)
    sharer, link, _own = sharer_make(shops.a, shop_client, goods)
    returned = friend_buys(shops.a, shop_client, goods, link)
    so = ship_and_deliver(returned, days_ago=6)
    line = so.lines.get()
    case = fulfilment.return_open(
        tenant=shops.a,
        order_number=returned.number,
        items=[(line.line_ref, line.quantity)],
        reason="",
    )
    # The window closes while the goods travel back: the return is still open.
    SupplierOrder.objects.filter(pk=so.pk).update(
        returns_close_at=timezone.now() - timedelta(hours=1)
    )
    grant(shops.a)
    with tenant_context(shops.a):
        assert [b.why for b in sharer_summary(fan=sharer).brought] == [Why.RETURN_OPEN]

    case = fulfilment.return_receive(case=case, supplier=so.supplier)
    assert case.status == ReturnCase.Status.REFUNDED
    grant(shops.a)
    assert rewards_of(shops.a, sharer) == []
    with tenant_context(shops.a):
        assert [b.why for b in sharer_summary(fan=sharer).brought] == [Why.REFUNDED]


def test_a_friend_of_a_friend_rewards_only_her_own_sharer(shops, shop_client, goods):
    """Single level: A brings B, B brings C. C's order rewards B and never A."""
    reward_coupon(shops.a)
    anna, anna_link, _own = sharer_make(shops.a, shop_client, goods)
    bella_order = friend_buys(shops.a, shop_client, goods, anna_link)
    with tenant_context(shops.a):
        from storefront.sharing.services import share_links_ensure

        [bella_link] = share_links_ensure(order=bella_order)
        bella = Fan.objects.get(pk=bella_order.fan_id)
    connection.set_schema_to_public()
    carla_order = friend_buys(shops.a, shop_client, goods, bella_link)
    for order in (bella_order, carla_order):
        ship_and_deliver(order, days_ago=8)

    grant(shops.a)
    assert rewards_of(shops.a, anna) == [bella_order.number]
    assert rewards_of(shops.a, bella) == [carla_order.number]
    # Only C's order through B's link, rewarded to B: A's summary never lists C.
    with tenant_context(shops.a):
        assert [b.why for b in sharer_summary(fan=anna).brought] == [Why.REWARDED]


def test_a_sharer_of_shop_a_earns_nothing_in_shop_b(shops, shop_client, goods):
    reward_coupon(shops.a)
    reward_coupon(shops.b)
    _listing, item_b = listed(shops.b, price=8800, stock=10)
    sharer, link, _own = sharer_make(shops.a, shop_client, goods)

    # Shop A's link code means nothing in shop B.
    visitor = shop_client("b.localhost")
    assert visitor.get(f"/s/{link.code}/").status_code == 404
    order_b = bought(shops.b, visitor, item_b, contact=mobile_new())
    assert order_b.share_link_id is None
    ship_and_deliver(order_b, days_ago=8)

    grant(shops.b)
    with tenant_context(shops.b):
        assert not CouponClaim.objects.filter(reward_order_number=order_b.number).exists()
    assert rewards_of(shops.a, sharer) == []


def test_the_reward_rule_accepts_only_a_share_reward_coupon_single_level(shops):
    good = reward_coupon(shops.a)
    with tenant_context(shops.a):
        for cap in (1, 5, 31):
            good.reward_monthly_cap = cap
            share_reward_check(coupon=good)
        # Cash, a commission rate, an amount: anything but a coupon is refused.
        for not_a_coupon in (Decimal("5.00"), 500, {"cash_fen": 500}, {"percent_of_sales": 5}):
            with pytest.raises(ValidationError) as refused:
                share_reward_check(coupon=not_a_coupon)
            assert refused.value.code == "not_a_coupon"
        public = Coupon(name="x", purpose=Coupon.Purpose.PUBLIC, reward_monthly_cap=5)
        with pytest.raises(ValidationError):
            share_reward_check(coupon=public)
        for cap in (0, 51):
            good.reward_monthly_cap = cap
            with pytest.raises(ValidationError) as refused:
                share_reward_check(coupon=good)
            assert refused.value.code == "cap"
        good.reward_monthly_cap = 5
        # Nothing on a coupon can name the sharer's own sharer.
        assert not {f.name for f in Coupon._meta.get_fields()} & {
            "levels",
            "upline",
            "parent_sharer",
            "second_level",
            "cash_fen",
        }
    connection.set_schema_to_public()


def test_two_active_share_rewards_are_refused_and_grant_nothing(shops, shop_client, goods):
    first = reward_coupon(shops.a)
    sharer, link, _own = sharer_make(shops.a, shop_client, goods)
    ship_and_deliver(friend_buys(shops.a, shop_client, goods, link), days_ago=8)
    with tenant_context(shops.a):
        second = Coupon.objects.get(pk=first.pk)
        second.pk = None
        second.code = "SRTWIN01"
        second.save()  # as if made past the checks: the grant must still refuse
        with pytest.raises(ValidationError) as refused:
            share_reward_check(coupon=second)
        assert refused.value.code == "one_active"
    connection.set_schema_to_public()

    grant(shops.a)
    assert rewards_of(shops.a, sharer) == []


def test_the_order_page_promises_a_reward_only_when_the_shop_offers_one(shops, shop_client, goods):
    buyer = shop_client("a.localhost")
    order = bought(shops.a, buyer, goods, contact=mobile_new())
    page = buyer.get(f"/orders/{order.number}/")
    assert page.status_code == 200
    assert "/s/" in page.text
    share = page.text.split('class="share ')[1].split("</section>")[0]
    assert "coupon" not in share.lower()

    reward_coupon(shops.a, name="好友券", cap=3)
    page = buyer.get(f"/orders/{order.number}/")
    share = page.text.split('class="share ')[1].split("</section>")[0]
    assert "好友券" in share and "at most 3 friends a month" in share
    assert "never cash" in share


def _member(shop, shop_client, role):
    with tenant_context(shop):
        user = team.member_invite(contact=Contact(mobile=mobile_new()), role=role).user
        client = shop_client(f"{shop.schema_name.removeprefix('shop_')}.localhost")
        client.force_login(user)
    connection.set_schema_to_public()
    return client


def test_the_creator_sees_her_top_sharers_masked_and_only_her_own(
    shops, shop_client, creator, goods
):
    reward_coupon(shops.a)
    sharer, link, _own = sharer_make(shops.a, shop_client, goods)
    friend = friend_buys(shops.a, shop_client, goods, link)
    ship_and_deliver(friend, days_ago=8)
    grant(shops.a)

    owner = creator("a")
    page = owner.get("/admin/sharers/")
    assert page.status_code == 200
    masked = f"{sharer.mobile[0]}*********{sharer.mobile[-1]}"
    row = page.text.split(masked)[1].split("</tr>")[0]
    # links, visits, new buyers brought, rewards granted
    assert [c.split("<")[0] for c in row.split("<td>")[1:]] == ["1", "1", "1", "1"]
    assert sharer.mobile not in page.text
    assert '"/admin/sharers/"' in owner.get("/admin/").text

    # Customer service sees orders, so it sees this too; an editor does not.
    assert _member(shops.a, shop_client, SERVICE).get("/admin/sharers/").status_code == 200
    editor = _member(shops.a, shop_client, EDITOR)
    refused = editor.get("/admin/sharers/")
    assert (refused.status_code, refused["Location"]) == (302, "/admin/")
    assert '"/admin/sharers/"' not in editor.get("/admin/").text
    # Not signed in: the admin's login page.
    anonymous = shop_client("a.localhost").get("/admin/sharers/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    # Shop B's owner sees none of shop A's sharers.
    other = creator("b").get("/admin/sharers/")
    assert other.status_code == 200 and masked not in other.text


def test_the_sharer_sees_whom_she_brought_at_her_account_page(shops, shop_client, goods):
    reward_coupon(shops.a, name="分享好友得 5 元", cap=4)
    sharer, link, _own = sharer_make(shops.a, shop_client, goods)
    friend = friend_buys(shops.a, shop_client, goods, link)
    so = ship_and_deliver(friend, days_ago=1)
    client = shop_client("a.localhost")
    with tenant_context(shops.a):
        session = client.session
        session[SESSION_FAN] = sharer.pk
        session.save()
    connection.set_schema_to_public()

    page = client.get("/me/")

    assert page.status_code == 200
    part = page.text.split('id="share-rewards-h"')[1].split("</section>")[0]
    assert "Friends you brought" in page.text
    assert "分享好友得 5 元" in part and "at most 4 friends a month" in part
    assert f"{friend.contact_mobile[0]}*********{friend.contact_mobile[-1]}" in part
    assert friend.contact_mobile not in page.text
    closes = timezone.localtime(so.returns_close_at).strftime("%Y-%m-%d %H:%M")
    assert f"Return window open until {closes}" in part


def test_the_demo_seeds_a_share_reward_and_a_sharer_who_earned_it(shops, goods):
    demo_seed(shop=shops.a)
    demo_seed(shop=shops.a)  # again: nothing new

    with tenant_context(shops.a):
        coupon = share_reward_coupon()
        assert coupon is not None and coupon.code == REWARD_CODE
        sharer = Fan.objects.get(mobile=SHARER_MOBILE)
        [claim] = CouponClaim.objects.filter(fan=sharer, source="reward")
        assert claim.coupon_id == coupon.pk
        friend = Order.objects.get(number=claim.reward_order_number)
        assert friend.contact_mobile == FRIEND_MOBILE
        assert friend.share_link is not None and friend.share_link.sharer_id == sharer.pk
        assert [b.why for b in sharer_summary(fan=sharer).brought] == [Why.REWARDED]
        assert Fan.objects.filter(mobile=SHARER_MOBILE).count() == 1


def test_an_hour_with_nothing_due_costs_the_same_few_queries_however_many_wait(
    shops, shop_client, goods
):
    """Orders waiting for their return windows are looked at in bulk: the hourly run's cost in
    a shop does not grow with them (one statement for the orders, three for billing's view of
    up to 200 of them)."""
    reward_coupon(shops.a)
    _sharer, link, _own = sharer_make(shops.a, shop_client, goods)
    ship_and_deliver(friend_buys(shops.a, shop_client, goods, link), days_ago=1)

    def queries() -> int:
        with tenant_context(shops.a), CaptureQueriesContext(connection) as run:
            share_rewards_grant()
        connection.set_schema_to_public()
        return len(run.captured_queries)

    one_waiting = queries()
    for _ in range(2):
        ship_and_deliver(friend_buys(shops.a, shop_client, goods, link), days_ago=1)

    assert queries() == one_waiting
