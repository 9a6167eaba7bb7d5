"""Makers for the dashboard and platform-view tests: orders with known figures, daily rows,
shop-admin members in a role. Rows are made directly (not through checkout) so each test states
exactly which orders exist and what they paid."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.contact import Contact
from storefront.models import Fan, Order, OrderLine
from storefront.team import services as team_services
from storefront.team.roles import ROLES

PASSWORD = "pw-dashboard-12345"
_n = itertools.count()


def day_at(days_ago: int, hour: int = 12) -> datetime:
    """Noon (shop time) DAYS_AGO days before today."""
    tz = ZoneInfo(settings.TIME_ZONE)
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour), tzinfo=tz)


def today_minus(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


def fan_make(name: str = "粉丝") -> Fan:
    """A fan of the current shop (run inside tenant_context)."""
    return Fan.objects.create(name=name, mobile=f"139{next(_n) + 10_000_000:08d}"[:11])


def order_make(
    *,
    fan: Fan,
    total_fen: int,
    days_ago: int = 0,
    status: str = Order.Status.PAID,
    item=None,
    quantity: int = 1,
    share_link=None,
) -> Order:
    """An order of the current shop paid DAYS_AGO at noon for TOTAL_FEN (no delivery fee);
    with ITEM (a ListingItem) it has one line of QUANTITY units making up the total."""
    paid_at = day_at(days_ago) if status == Order.Status.PAID else None
    order = Order.objects.create(
        number=uuid.uuid4().hex[:16].upper(),
        status=status,
        fan=fan,
        contact_mobile=fan.mobile,
        recipient="王小明",
        recipient_phone="13800138000",
        province="浙江",
        city="杭州市",
        district="西湖区",
        street="文三路 100 号",
        goods_fen=total_fen,
        shipping_fen=0,
        total_fen=total_fen,
        share_link=share_link,
        pay_deadline=day_at(days_ago) + timedelta(minutes=30),
        paid_at=paid_at,
    )
    if item is not None:
        assert total_fen % quantity == 0
        OrderLine.objects.create(
            order=order,
            listing_id=item.listing_id,
            item=item,
            sku=item.sku,
            supplier_id=item.sku.product.supplier_id,
            title=item.listing.title,
            quantity=quantity,
            retail_price_fen=total_fen // quantity,
            supply_price_fen=item.sku.supply_price_fen,
        )
    return order


def counts_make(rows: list[tuple[int, str, int, int, str, int]]) -> None:
    """DailyCount rows of the current shop: (days_ago, event, page_id, listing_id, source, n)."""
    from storefront.analytics.models import DailyCount
    from storefront.analytics.rollup import page_counts_remake

    DailyCount.objects.bulk_create(
        DailyCount(
            day=today_minus(days),
            event=event,
            page_id=page,
            listing_id=listing,
            source=source,
            count=n,
        )
        for days, event, page, listing, source, n in rows
    )
    if rows:  # and summed over listings, as the rollup would have
        ago = [days for days, *_rest in rows]
        page_counts_remake(first=today_minus(max(ago)), last=today_minus(min(ago)))


def visitors_make(rows: dict[int, int]) -> None:
    """DailyVisitors of the current shop: {days_ago: visitors}."""
    from storefront.analytics.models import DailyVisitors

    DailyVisitors.objects.bulk_create(
        DailyVisitors(day=today_minus(days), visitors=n) for days, n in rows.items()
    )


def member_client(shop, shop_client, role_key: str):
    """A client signed in to SHOP's admin as a new member in ROLE_KEY ("owner", "editor",
    "service")."""
    sub = shop.schema_name.removeprefix("shop_")
    with tenant_context(shop):
        login = f"1370000{next(_n):04d}"
        role = next(r for r in ROLES if r.key == role_key)
        user = team_services.member_invite(contact=Contact(mobile=login), role=role).user
        user.set_password(PASSWORD)
        user.save()
        client = shop_client(f"{sub}.localhost")
        client.force_login(user)
    connection.set_schema_to_public()
    return client


def superuser_client(shop, shop_client):
    sub = shop.schema_name.removeprefix("shop_")
    with tenant_context(shop):
        user = get_user_model().objects.create_superuser(f"boss{next(_n)}", password=PASSWORD)
        client = shop_client(f"{sub}.localhost")
        client.force_login(user)
    connection.set_schema_to_public()
    return client


def figure(html: str, name: str) -> str:
    """The text of the dashboard figure NAME (data-figure="NAME"), or "" when not shown."""
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    return found.group(1).strip() if found else ""


def dashboard_html(html: str) -> str:
    """Just the dashboard panel of the admin home page."""
    start = html.find('id="shop-dashboard-section"')
    assert start != -1, "no dashboard panel on the page"
    end = html.find("</section>", start)  # the panel holds no section of its own
    assert end != -1
    return html[start:end]
