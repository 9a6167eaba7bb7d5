"""The hourly share-reward task, run as beat runs it (public schema, no arguments) with the
platform tenant (schema public), the shop template and a pooled schema all present, and on a
real Celery worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from storefront.coupons.models import Coupon, CouponClaim
from storefront.models import Order
from storefront.sharing.tasks import sharing_rewards_grant_task
from tenants.models import Tenant
from tenants.provisioning import pool_refill

from .c5_helpers import friend_buys, reward_coupon, sharer_make
from .journey_helpers import paid_rows_removed  # noqa: F401  (fixture)
from .storefront_helpers import listed, ship_and_deliver

pytestmark = pytest.mark.usefixtures("catalog_media", "catalog_english")


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


@pytest.fixture
def committed_rewards(shops, paid_rows_removed) -> Iterator[None]:  # noqa: F811
    """Rows here are committed: afterwards the test's share rewards end and its orders no
    longer count as brought, so later tests in these shops start from no active reward."""
    yield
    for shop in (shops.a, shops.b):
        with tenant_context(shop):
            Coupon.objects.filter(purpose=Coupon.Purpose.SHARE_REWARD).update(
                status=Coupon.Status.ENDED
            )
            Order.objects.filter(share_link__isnull=False).update(share_link=None)
    connection.set_schema_to_public()


def reward_orders(shop, fan) -> list[str]:
    with tenant_context(shop):
        numbers = sorted(
            CouponClaim.objects.filter(fan=fan, source="reward").values_list(
                "reward_order_number", flat=True
            )
        )
    connection.set_schema_to_public()
    return numbers


def delivered_friend(shop, shop_client, *, days_ago: int = 8):
    """A sharer in SHOP and a friend she brought, delivered DAYS_AGO: (sharer, friend's order)."""
    _listing, item = listed(shop, price=8800, stock=10)
    sharer, link, _own = sharer_make(shop, shop_client, item)
    order = friend_buys(shop, shop_client, item, link)
    ship_and_deliver(order, days_ago=days_ago)
    return sharer, order


def test_the_task_rewards_sharers_in_every_shop_once(
    shops, shop_client, pooled_schema, committed_rewards
):
    reward_coupon(shops.a)
    reward_coupon(shops.b)
    sharer_a, order_a = delivered_friend(shops.a, shop_client)
    sharer_b, order_b = delivered_friend(shops.b, shop_client)
    waiting_sharer, _waiting = delivered_friend(shops.b, shop_client, days_ago=2)

    # As beat sends it: from the public schema, no arguments.
    result = sharing_rewards_grant_task.apply()

    assert result.successful(), result.traceback
    assert result.get() >= 2
    assert reward_orders(shops.a, sharer_a) == [order_a.number]
    assert reward_orders(shops.b, sharer_b) == [order_b.number]
    assert reward_orders(shops.b, waiting_sharer) == []  # her friend can still return it
    # Each shop's reward stays in its shop: no claim in B names A's order, nor the other way.
    with tenant_context(shops.b):
        assert not CouponClaim.objects.filter(reward_order_number=order_a.number).exists()
    with tenant_context(shops.a):
        assert not CouponClaim.objects.filter(reward_order_number=order_b.number).exists()
    connection.set_schema_to_public()

    # Beat, an hour later: nothing more.
    again = sharing_rewards_grant_task.apply()
    assert again.successful(), again.traceback
    assert reward_orders(shops.a, sharer_a) == [order_a.number]
    assert reward_orders(shops.b, sharer_b) == [order_b.number]


def test_a_suspended_shop_grants_nothing_until_it_is_active_again(
    shops, shop_client, committed_rewards
):
    reward_coupon(shops.b)
    sharer, order = delivered_friend(shops.b, shop_client)
    Tenant.objects.filter(pk=shops.b.pk).update(state=Tenant.State.SUSPENDED)
    try:
        assert sharing_rewards_grant_task.apply().successful()
        assert reward_orders(shops.b, sharer) == []
    finally:
        Tenant.objects.filter(pk=shops.b.pk).update(state=Tenant.State.ACTIVE)

    assert sharing_rewards_grant_task.apply().successful()
    assert reward_orders(shops.b, sharer) == [order.number]


def test_the_task_on_a_real_worker_grants_the_reward(
    shops, shop_client, committed_rewards, celery_worker
):
    reward_coupon(shops.a)
    sharer, order = delivered_friend(shops.a, shop_client)

    sent = sharing_rewards_grant_task.apply_async(ignore_result=False)

    assert sent.get(timeout=120) >= 1
    assert reward_orders(shops.a, sharer) == [order.number]
