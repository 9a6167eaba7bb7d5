"""A price drop's page (/drop/<id>/), a sharer's link to it (/drop/<id>/s/<code>/), its live
figures (/drop/<id>/live/) and buying at the current price (/drop/<id>/buy/).

Views are thin: the counting rules are counting.py's, the price the services'. A visit through
a link is counted on the GET that follows the link (the way every share counter works); bots
and link previewers are not visitors (analytics' list), and a Redis failure never fails the
page: the visit is simply not counted.
"""

from __future__ import annotations

import logging

import redis
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from core.clients import client_bucket
from core.qr import qr_svg
from storefront.analytics.counting import is_bot
from storefront.fans.account import signed_in_fan
from storefront.selectors import listing_url
from storefront.sharing.cookies import share_code_remember

from . import counting
from .device import device_of, device_remember
from .kind import KIND
from .models import DropSharer, PriceDrop
from .services import (
    pricedrop_fan_units,
    pricedrop_own_keys_note,
    pricedrop_sharer_ensure,
    pricedrop_standing,
    pricedrop_ticket,
    pricedrop_visit,
)

logger = logging.getLogger(__name__)

# 我要分享 pressed before signing in: her link is made when she comes back signed in.
SESSION_PENDING = "storefront_pricedrop_pending"


def _own_keys(request: HttpRequest, device: str) -> list[str]:
    return [counting.identity("d", device), counting.identity("a", client_bucket(request))]


def _campaign(pk: str) -> PriceDrop:
    return get_object_or_404(
        PriceDrop.objects.select_related("item__listing", "item__sku"),
        pk=pk,
        status__in=[PriceDrop.Status.RUNNING, PriceDrop.Status.ENDED, PriceDrop.Status.SCHEDULED],
    )


@never_cache
@require_http_methods(["GET", "POST"])
def pricedrop_view(request: HttpRequest, pk: str) -> HttpResponse:
    campaign = _campaign(pk)
    here = reverse("storefront:pricedrop", args=[campaign.pk])
    device, new_device = device_of(request.COOKIES)
    fan = signed_in_fan(request)
    if request.method == "POST":  # 我要分享: her own link (she signs in first)
        if fan is None:
            request.session[SESSION_PENDING] = campaign.pk
            return redirect(f"{reverse('storefront:code_request')}?{urlencode({'next': here})}")
        if campaign.status == PriceDrop.Status.RUNNING:
            pricedrop_sharer_ensure(campaign=campaign, fan=fan, own_keys=_own_keys(request, device))
        return device_remember(redirect(f"{here}#pricedrop-share"), device, new_device)
    if fan is not None and request.session.get(SESSION_PENDING) == campaign.pk:
        # Her 我要分享 from before she signed in (a CSRF-checked POST): made now, once.
        del request.session[SESSION_PENDING]
        if campaign.status == PriceDrop.Status.RUNNING:
            pricedrop_sharer_ensure(campaign=campaign, fan=fan, own_keys=_own_keys(request, device))
    sharer = (
        DropSharer.objects.select_related("share_link").filter(campaign=campaign, fan=fan).first()
        if fan is not None
        else None
    )
    if sharer is not None and campaign.status == PriceDrop.Status.RUNNING:
        # Every device and address she uses signed in is hers: visits from them never count.
        pricedrop_own_keys_note(sharer=sharer, keys=_own_keys(request, device))
    standing = pricedrop_standing(campaign=campaign)
    mine = pricedrop_fan_units(campaign=campaign, fan_id=fan.pk) if fan is not None else 0
    can_buy = max(min(campaign.per_fan_limit - mine, standing.left), 0)
    link = (
        request.build_absolute_uri(
            reverse("storefront:pricedrop_share", args=[campaign.pk, sharer.share_link.code])
        )
        if sharer is not None
        else ""
    )
    response = TemplateResponse(
        request,
        "storefront/pricedrop/campaign.html",
        {
            "campaign": campaign,
            "standing": standing,
            "fan": fan,
            "sharer": sharer,
            "link": link,
            "qr": qr_svg(link) if link else "",
            "quantities": range(1, can_buy + 1),
            "mine": mine,
            "counting": counting,
            "listing_url": listing_url(campaign.item.listing_id),
        },
    )
    return device_remember(response, device, new_device)


@never_cache  # it sets the visitor's cookies: no cache may keep it for the next visitor
@require_GET
def pricedrop_share_view(request: HttpRequest, pk: str, code: str) -> HttpResponse:
    """A visit through a sharer's link: counted by counting's rules, then the campaign page."""
    # The hot path of a share: two columns by the link's unique code, no model instances and
    # no ORDER BY (first() would add one by id, and PostgreSQL may then walk the sharers'
    # primary key instead of looking the code up).
    found = next(
        iter(
            DropSharer.objects.filter(campaign_id=int(pk), share_link__code=code)
            .order_by()
            .values_list("fan_id", "campaign__status")[:1]
        ),
        None,
    )
    if found is None:
        raise Http404
    sharer = DropSharer(campaign_id=int(pk), fan_id=found[0])
    status = found[1]
    device, new_device = device_of(request.COOKIES)
    if status == PriceDrop.Status.RUNNING and not is_bot(request.META.get("HTTP_USER_AGENT")):
        fan_id = request.session.get("storefront_fan")
        try:
            pricedrop_visit(
                sharer=sharer,
                visitor_fan_id=fan_id if isinstance(fan_id, int) else None,
                device=counting.identity("d", device),
                address=counting.identity("a", client_bucket(request)),
            )
        except redis.RedisError:
            logger.warning("pricedrop %s: visit not counted (Redis)", pk, exc_info=True)
    # An order she places is the sharer's (sharing/): in a cookie, not the session, so a new
    # visitor costs no session row.
    response = share_code_remember(redirect("storefront:pricedrop", pk=pk), code)
    return device_remember(response, device, new_device)


@never_cache
@require_GET
def pricedrop_live_view(request: HttpRequest, pk: str) -> JsonResponse:
    """The live figures a cached page fills in (price, counted shares, units left)."""
    campaign = _campaign(pk)
    standing = pricedrop_standing(campaign=campaign)
    return JsonResponse(
        {
            "price_fen": standing.price_fen,
            "counted": standing.counted,
            "left": standing.left,
            "open": standing.open,
        }
    )


@require_GET
def pricedrop_buy_view(request: HttpRequest, pk: str) -> HttpResponse:
    """Checkout for QUANTITY units at the price of the moment the order is placed."""
    campaign = _campaign(pk)
    raw = request.GET.get("quantity", "1")
    quantity = int(raw) if raw.isdigit() and len(raw) < 3 else 0
    if not 1 <= quantity <= campaign.per_fan_limit:
        messages.error(request, _("Choose how many you want to buy."))
        return redirect("storefront:pricedrop", pk=campaign.pk)
    if not pricedrop_standing(campaign=campaign).open:
        messages.error(request, _("This price drop has ended or sold out."))
        return redirect("storefront:pricedrop", pk=campaign.pk)
    ticket = pricedrop_ticket(campaign=campaign, quantity=quantity)
    query = urlencode({"campaign": f"{KIND}:{ticket}"})
    return redirect(f"{reverse('storefront:checkout')}?{query}")
