"""Reads of a shop's fans for the creator: the list with its segments and search, one fan's
page, the data requests, and everything a fan may download about herself.

Segments are rules over the shop's own rows, evaluated when asked (never stored lists, so a fan
moves in and out of them as she buys):

- new: became a fan (first order or sign-in) in the last NEW_DAYS days;
- repeat: two or more paid orders;
- lapsed: has bought, but her last paid order is more than LAPSED_DAYS days old;
- top: the top tenth of the fans who spent anything, by what they spent on paid orders (fans
  tied with the last one in are in too);
- sharers: a share link of hers brought a paid order of someone else;
- campaign: took part in a campaign — pre-registered for a flash sale (as a signed-in fan, or
  by the mobile or e-mail she signs in with), joined a group buy, or shared a price drop
  (CAMPAIGN_PARTICIPANTS; the campaign apps are above fans, so they are named, not imported).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from storefront.models import Fan, Order, Review, ShareLink

from .models import FanDataRequest, FanExport, FanTag

NEW_DAYS = 30
LAPSED_DAYS = 90
TOP_SHARE = 0.10

SEGMENTS: dict[str, str | Promise] = {
    "new": _("New (last 30 days)"),
    "repeat": _("Repeat buyers"),
    "lapsed": _("Lapsed (no order for 90 days)"),
    "top": _("Top 10% by spend"),
    "sharers": _("Sharers who brought buyers"),
    "campaign": _("Registered for a campaign"),
}

_MASKED_MOBILE = re.compile(r"^(1\d{2})\*{1,8}(\d{4})$")
_MASKED_EMAIL = re.compile(r"^([^*@\s])\*+@([^@\s]+)$")
_PAID = Q(orders__status=Order.Status.PAID)


def mobile_masked(mobile: str) -> str:
    return f"{mobile[:3]}****{mobile[-4:]}" if mobile else ""


def email_masked(email: str) -> str:
    if not email:
        return ""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


# (app label, model): rows with a `fan` who took part in a campaign. A group buy's member who
# never paid (released) took no part.
CAMPAIGN_PARTICIPANTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("flash", "FlashRegistration", {}),
    ("groupbuy", "GroupMember", {"status__in": ["pending", "paid", "settled", "refunded"]}),
    ("pricedrop", "DropSharer", {}),
)


def _campaign_models() -> list[tuple[type[models.Model], dict[str, Any]]]:
    found = []
    for label, name, where in CAMPAIGN_PARTICIPANTS:
        try:
            found.append((apps.get_model(label, name), where))
        except LookupError:  # that campaign app is not installed
            continue
    return found


def campaign_segment_available() -> bool:
    """Whether any campaign app is installed; without one the segment says so instead of
    quietly listing nobody."""
    return bool(_campaign_models())


def _campaign_q() -> Q | None:
    """Fans who took part in a campaign (see CAMPAIGN_PARTICIPANTS); None: no campaign app."""
    found = _campaign_models()
    if not found:
        return None
    q = Q(pk__in=[])
    for model, where in found:
        rows = model._default_manager.filter(fan__isnull=False, **where)
        q |= Q(pk__in=rows.values("fan_id"))
        if model._meta.label == "flash.FlashRegistration":
            # Registered by a code to her mobile or e-mail, before she was a signed-in fan.
            contacts = model._default_manager.exclude(contact="").values("contact")
            q |= Q(mobile__in=contacts) | Q(email__in=contacts)
    return q


def fans_annotated() -> QuerySet[Any]:
    """Live fans (not erased) with paid_orders, spend_fen and last_paid_at."""
    return Fan.objects.filter(erased_at__isnull=True).annotate(
        paid_orders=Count("orders", filter=_PAID),
        spend_fen=Coalesce(Sum("orders__total_fen", filter=_PAID), 0),
        last_paid_at=Max("orders__paid_at", filter=_PAID),
    )


def top_spend_threshold() -> int | None:
    """The least spend of a fan in the top tenth of spenders (None: nobody spent anything)."""
    spends = (
        fans_annotated().filter(spend_fen__gt=0).order_by("-spend_fen").values_list("spend_fen")
    )
    count = spends.count()
    if not count:
        return None
    return spends[math.ceil(count * TOP_SHARE) - 1][0]


def _brought_buyers() -> Exists:
    return Exists(
        Order.objects.filter(share_link__sharer=OuterRef("pk"), status=Order.Status.PAID).exclude(
            fan=OuterRef("pk")
        )
    )


def segment_filter(fans: QuerySet[Any], *, segment: str) -> QuerySet[Any]:
    """FANS (from fans_annotated) in SEGMENT; an unknown segment is no filter."""
    now = timezone.now()
    if segment == "new":
        return fans.filter(created_at__gte=now - timedelta(days=NEW_DAYS))
    if segment == "repeat":
        return fans.filter(paid_orders__gte=2)
    if segment == "lapsed":
        return fans.filter(paid_orders__gte=1, last_paid_at__lt=now - timedelta(days=LAPSED_DAYS))
    if segment == "top":
        threshold = top_spend_threshold()
        return fans.none() if threshold is None else fans.filter(spend_fen__gte=threshold)
    if segment == "sharers":
        return fans.filter(_brought_buyers())
    if segment == "campaign":
        took_part = _campaign_q()
        return fans.none() if took_part is None else fans.filter(took_part)
    return fans


def search_filter(fans: QuerySet[Any], *, query: str, contacts: bool) -> QuerySet[Any]:
    """Search by name, or by a masked contact as the list shows it (138****8000, m***@qq.com).

    Whole or partial numbers and addresses are searched only for roles that see contacts
    (storefront.view_orders): otherwise the search box would tell an editor whether a given
    phone number is a fan of the shop, which the masking is meant to hide.
    """
    query = query.strip()
    if not query:
        return fans
    masked = _MASKED_MOBILE.fullmatch(query)
    if masked:
        return fans.filter(mobile__startswith=masked.group(1), mobile__endswith=masked.group(2))
    masked = _MASKED_EMAIL.fullmatch(query)
    if masked:
        return fans.filter(
            email__istartswith=masked.group(1), email__iendswith="@" + masked.group(2)
        )
    found = Q(name__icontains=query)
    if contacts:
        digits = re.sub(r"[\s-]", "", query)
        if digits.isdigit() and len(digits) >= 3:
            found |= Q(mobile__contains=digits)
        if len(query) >= 3:
            found |= Q(email__icontains=query)
    return fans.filter(found)


def fans_for_admin(
    *, segment: str = "", query: str = "", tag: str = "", contacts: bool = False
) -> QuerySet[Any]:
    fans = fans_annotated()
    fans = segment_filter(fans, segment=segment)
    fans = search_filter(fans, query=query, contacts=contacts)
    if tag:
        fans = fans.filter(pk__in=FanTag.objects.filter(name=tag).values("fans"))
    return fans.prefetch_related("tags").order_by("-created_at", "-id")


def tags_all() -> list[FanTag]:
    return list(FanTag.objects.annotate(count=Count("fans")).order_by("name"))


def fan_get(*, pk: int) -> Fan | None:
    return Fan.objects.filter(pk=pk).first()


def _model(label: str, name: str) -> type[models.Model] | None:
    """A model of an app that may not exist yet (coupons, share rewards), looked up lazily."""
    try:
        return apps.get_model(label, name)
    except LookupError:
        return None


def fan_coupon_claims(*, fan: Fan) -> list[Any]:
    claims = _model("coupons", "CouponClaim")
    if claims is None:
        return []
    return list(
        claims._default_manager.filter(fan=fan).select_related("coupon").order_by("-pk")[:100]
    )


@dataclass(frozen=True)
class ShareRow:
    link: ShareLink
    brought: int  # paid orders of others through it


@dataclass(frozen=True)
class FanProfile:
    fan: Fan
    orders: list[Order]
    paid_orders: int
    spend_fen: int
    shares: list[ShareRow]
    reviews: list[Review]
    claims: list[Any]
    coupons_available: bool


def fan_profile(*, fan: Fan) -> FanProfile:
    """Everything the fan's page shows, in a fixed number of queries."""
    paid = Order.objects.filter(fan=fan, status=Order.Status.PAID).aggregate(
        n=Count("id"), spend=Coalesce(Sum("total_fen"), 0)
    )
    links = (
        ShareLink.objects.filter(sharer=fan)
        .select_related("listing")
        .annotate(
            brought=Count(
                "orders", filter=Q(orders__status=Order.Status.PAID) & ~Q(orders__fan=fan)
            )
        )
        .order_by("-created_at")
    )
    return FanProfile(
        fan=fan,
        orders=list(Order.objects.filter(fan=fan).prefetch_related("lines")[:50]),
        paid_orders=paid["n"],
        spend_fen=paid["spend"],
        shares=[ShareRow(link, link.brought) for link in links],
        reviews=list(Review.objects.filter(fan=fan).select_related("listing")[:50]),
        claims=fan_coupon_claims(fan=fan),
        coupons_available=_model("coupons", "CouponClaim") is not None,
    )


def data_requests_for_admin(*, state: str = "") -> QuerySet[FanDataRequest]:
    requests = FanDataRequest.objects.select_related("fan")
    if state in FanDataRequest.State.values:
        requests = requests.filter(state=state)
    return requests.order_by("state", "due_at", "-id")


def data_requests_due(*, now: Any = None) -> QuerySet[FanDataRequest]:
    return FanDataRequest.objects.filter(
        kind=FanDataRequest.Kind.DELETE,
        state=FanDataRequest.State.PENDING,
        due_at__lte=now or timezone.now(),
    ).order_by("pk")


def exports_recent(*, limit: int = 20) -> list[FanExport]:
    return list(FanExport.objects.all()[:limit])


# --- what a fan downloads about herself ------------------------------------------------------


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _row(obj: models.Model, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A model row as plain JSON: its own columns (foreign keys as ids), nothing hidden in it
    from her except SKIP (internal figures that are not her data, such as supply prices)."""
    row: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in skip:
            continue
        row[field.attname] = _plain(getattr(obj, field.attname))
    return row


def fan_data(*, fan: Fan) -> dict[str, Any]:
    """Everything this shop holds about FAN, as JSON (PIPL art. 45: a copy of her personal
    information): profile, orders with their lines, reviews, share links, coupons and any
    reward rows of other concerns that name her."""
    orders = Order.objects.filter(fan=fan).prefetch_related("lines").order_by("created_at")
    data: dict[str, Any] = {
        "profile": {
            "name": fan.name,
            "mobile": fan.mobile,
            "email": fan.email,
            "since": _plain(fan.created_at),
            # Only when the shop holds one (storefront.wechat links it once she signed in).
            **({"wechat_openid": fan.wechat_openid} if fan.wechat_openid else {}),
            **({"wechat_unionid": fan.wechat_unionid} if fan.wechat_unionid else {}),
        },
        "orders": [
            {
                **_row(order, skip=("fan", "share_link")),
                "lines": [
                    _row(line, skip=("order", "supply_price_fen", "supplier_id", "sku", "item"))
                    for line in order.lines.all()
                ],
            }
            for order in orders
        ],
        "reviews": [_row(r, skip=("fan", "is_hidden")) for r in Review.objects.filter(fan=fan)],
        "shares": [
            {**_row(s, skip=("sharer",)), "listing": s.listing.title}
            for s in ShareLink.objects.filter(sharer=fan).select_related("listing")
        ],
        "coupons": [
            {**_row(c, skip=("fan",)), "coupon": str(getattr(c, "coupon", ""))}
            for c in fan_coupon_claims(fan=fan)
        ],
        "data_requests": [_row(r, skip=("fan",)) for r in FanDataRequest.objects.filter(fan=fan)],
    }
    return data
