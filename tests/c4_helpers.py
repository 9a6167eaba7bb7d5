"""Makers for the coupon page and coupon admin tests: a coupon in a shop, a signed-in fan, a
member of a shop's admin in a role."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.contact import Contact
from storefront.coupons.models import Coupon
from storefront.coupons.services import coupon_create
from storefront.team import services as team_services
from storefront.team.roles import ROLES

PASSWORD = "pw-coupon-admin-12345"
_n = itertools.count()


def coupon_make(shop, **fields) -> Coupon:
    """A running public ¥10-off coupon in SHOP (fields override), made by the service."""
    now = timezone.now()
    values = {
        "name": "新人立减 10 元",
        "code": f"C4{next(_n):04d}{now.microsecond:06d}"[:16],
        "kind": Coupon.Kind.FIXED,
        "amount_fen": 1000,
        "percent_off": None,
        "max_off_fen": None,
        "min_goods_fen": 0,
        "scope": Coupon.Scope.SHOP,
        "listings": [],
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(days=7),
        "total_limit": None,
        "per_fan_limit": 1,
        "new_buyers_only": False,
        "allow_with_campaign": False,
        "purpose": Coupon.Purpose.PUBLIC,
        "reward_monthly_cap": 5,
        **fields,
    }
    with tenant_context(shop):
        coupon = coupon_create(**values)
    connection.set_schema_to_public()
    return coupon


def signed_in(client, contact: str):
    """Sign CLIENT in to its shop with a code e-mailed to CONTACT (the real flow); returns the
    verify answer (a redirect)."""
    assert client.post("/me/code/", {"contact": contact}).status_code == 302
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    answer = client.post("/me/verify/", {"code": code})
    assert answer.status_code == 302, answer.content[:500]
    return answer


def admin_member(shop, shop_client, sub: str, role_key: str):
    """A client signed in to SHOP's admin as a new member in ROLE_KEY ("none": no role)."""
    with tenant_context(shop):
        login = f"1391111{next(_n):04d}"
        if role_key == "none":
            user = get_user_model().objects.create_user(login, password=PASSWORD)
        else:
            role = next(r for r in ROLES if r.key == role_key)
            user = team_services.member_invite(contact=Contact(mobile=login), role=role).user
            user.set_password(PASSWORD)
            user.save()
        client = shop_client(f"{sub}.localhost")
        client.force_login(user)
    connection.set_schema_to_public()
    return client
