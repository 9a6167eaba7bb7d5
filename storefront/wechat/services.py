"""Tying a WeChat identity to a fan of this shop, and signing her in by it.

An openid is linked to a fan only once she has proved who she is in a session that has the
openid: a sign-in code (storefront.fans, through VSTORE_FAN_VERIFIED_HOOK), or a session that was
already signed in when WeChat's answer came back. Never from a mobile number typed at checkout:
anyone can type anyone's number, and a link made that way would let the typist's WeChat sign in
as that fan from then on.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from storefront.models import Fan, Order
from storefront.orders.selectors import SESSION_FAN
from storefront.orders.visitor import SESSION_ORDERS
from storefront.orders.wx_identity import cookie_identity, session_openid

from .identity import SESSION_UNIONID

log = logging.getLogger(__name__)

# As many of her latest orders as the code sign-in lets her session see.
ORDERS_REMEMBERED = 20


def wechat_link(fan: Fan, openid: str, unionid: str | None = None) -> bool:
    """Store OPENID (and UNIONID) on FAN if she has none yet; True if OPENID is hers now.

    An openid another fan of this shop holds is never moved (False), nor is hers replaced; two
    requests at once are settled by the database's unique constraints, never by a second look.
    """
    if not openid or fan.erased_at is not None:
        return False
    if fan.wechat_openid:
        return fan.wechat_openid == openid
    if held_elsewhere(fan, wechat_openid=openid):
        return False
    if unionid and held_elsewhere(fan, wechat_unionid=unionid):
        unionid = None  # someone else's; the openid alone still says who she is here
    try:
        with transaction.atomic():
            linked = Fan.objects.filter(pk=fan.pk, wechat_openid="", erased_at__isnull=True).update(
                wechat_openid=openid, wechat_unionid=unionid or ""
            )
    except IntegrityError:  # another fan took it (or the unionid) a moment ago
        log.info("wechat: openid not linked to fan %s: another fan of the shop holds it", fan.pk)
        return False
    fan.refresh_from_db(fields=["wechat_openid", "wechat_unionid"])
    if linked:
        log.info("wechat: openid linked to fan %s", fan.pk)
    return fan.wechat_openid == openid


def held_elsewhere(fan: Fan, **value: str) -> bool:
    """Whether another fan of this shop holds VALUE (a look first: the common case is
    answered without a failed insert; the constraint still decides a race)."""
    return Fan.objects.filter(**value).exclude(pk=fan.pk).exists()


def session_fan_link(*, request: HttpRequest, fan: Fan) -> None:
    """VSTORE_FAN_VERIFIED_HOOK: FAN proved who she is in REQUEST's session; the session's
    openid (if any) becomes hers, if she has none and no other fan holds it."""
    openid = session_openid(request)
    if openid:
        unionid = request.session.get(SESSION_UNIONID)
        if SESSION_UNIONID not in request.session:  # kept in the cookie with the openid
            kept = cookie_identity(request)
            unionid = kept[1] if kept and kept[0] == openid else None
        wechat_link(fan, openid, unionid if isinstance(unionid, str) and unionid else None)


def fan_sign_in(request: HttpRequest, fan: Fan) -> None:
    """Sign FAN in on this session, as a verified sign-in code does (storefront.fans.views):
    a new session key, her id, and her latest orders visible."""
    request.session.cycle_key()
    request.session[SESSION_FAN] = fan.pk
    numbers = Order.objects.filter(fan=fan).order_by("-created_at")[:ORDERS_REMEMBERED]
    request.session[SESSION_ORDERS] = list(numbers.values_list("number", flat=True))


def fan_by_openid(openid: str) -> Fan | None:
    return Fan.objects.filter(wechat_openid=openid, erased_at__isnull=True).first()
