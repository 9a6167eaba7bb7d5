"""Makers for the fans tests (helper a3): fans with paid orders at given times, share links,
team members in a role, and a fan signed in to a shop's client."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.contact import Contact
from core.shop import schema_set_public
from storefront.models import Fan, Order, OrderLine, ShareLink
from storefront.team import services as team
from storefront.team.roles import ROLES

_seq = itertools.count(1)
PASSWORD = "pw-fans-member-12345"


def unique_mobile() -> str:
    """A mobile number no other test row uses (139 + 8 random digits)."""
    return "139" + f"{uuid.uuid4().int % 10**8:08d}"


def fan_make(*, name: str = "", mobile: str | None = None, email: str = "", days_ago: int = 0):
    """A fan of the current shop who became one DAYS_AGO days ago."""
    fan = Fan.objects.create(
        name=name, mobile=mobile if mobile is not None else unique_mobile(), email=email
    )
    if days_ago:
        Fan.objects.filter(pk=fan.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        fan.refresh_from_db()
    return fan


def order_make(
    fan: Fan,
    *,
    total: int = 10_000,
    days_ago: int = 1,
    status: str = Order.Status.PAID,
    share_link: ShareLink | None = None,
    phone: str | None = None,
    street: str = "文三路 100 号 1 幢 101 室",
) -> Order:
    """An order of FAN in the current shop, paid DAYS_AGO days ago (no lines needed here)."""
    when = timezone.now() - timedelta(days=days_ago)
    order = Order.objects.create(
        number=uuid.uuid4().hex[:16].upper(),
        status=status,
        fan=fan,
        contact_mobile=fan.mobile,
        contact_email=fan.email,
        recipient=fan.name or "王小明",
        recipient_phone=phone if phone is not None else fan.mobile,
        province="浙江",
        city="杭州市",
        district="西湖区",
        street=street,
        note="请放门卫",
        goods_fen=total,
        shipping_fen=0,
        total_fen=total,
        share_link=share_link,
        pay_deadline=when + timedelta(minutes=30),
        paid_at=when if status == Order.Status.PAID else None,
    )
    Order.objects.filter(pk=order.pk).update(created_at=when)
    return order


def member_client(shop, shop_client, role_key: str):
    """A client signed in to SHOP's admin as a new team member in ROLE_KEY."""
    sub = shop.schema_name.removeprefix("shop_")
    with tenant_context(shop):
        login = f"1370000{next(_seq):04d}"
        role = next(r for r in ROLES if r.key == role_key)
        user = team.member_invite(contact=Contact(mobile=login), role=role).user
        user.set_password(PASSWORD)
        user.save()
        client = shop_client(f"{sub}.localhost")
        client.force_login(user)
    schema_set_public()
    return client


def fan_signed_in(shop, client, fan_id: int) -> None:
    """Sign FAN_ID in on CLIENT as a verified code would (the session of that shop)."""
    with tenant_context(shop):
        session = client.session
        session["storefront_fan"] = fan_id
        session.save()
        client.cookies["sessionid"] = session.session_key
    schema_set_public()


def superuser_client(shop, shop_client):
    sub = shop.schema_name.removeprefix("shop_")
    with tenant_context(shop):
        user = get_user_model().objects.create_superuser(
            f"owner{next(_seq)}-{uuid.uuid4().hex[:6]}", password=PASSWORD
        )
        client = shop_client(f"{sub}.localhost")
        client.force_login(user)
    schema_set_public()
    return client


def line_make(order: Order, item, *, quantity: int = 1) -> OrderLine:
    """A line of ORDER for the listed ITEM, priced as the listing and catalog say (the rows
    order_place leaves; made directly so these tests do not depend on checkout's pricing)."""
    sku = item.sku
    return OrderLine.objects.create(
        order=order,
        listing_id=item.listing_id,
        item=item,
        sku=sku,
        supplier_id=sku.product.supplier_id,
        title=item.listing.title,
        quantity=quantity,
        retail_price_fen=item.retail_price_fen,
        supply_price_fen=sku.supply_price_fen,
    )
