"""A flash sale's buyer pages: the sale page, 预约, the grab token, and the won page.

The sale page is the same for every anonymous visitor and is kept in the shop's cache for a few
seconds (it has no form and no token); what moves (countdown, 立即抢购, units left, 已抢光) is
drawn by static/flash/sale.js from the lean status endpoint (edge.py), never by rendering the
page again. A signed-in fan's page is hers (her registration, and once the sale is open her
grab token), rendered for her.

预约 by a visitor reuses the shop's sign-in by code (storefront.fans): the register link keeps
the sale in her session and sends her through /me/code/; back on the sale page, signed in, she
is registered at once (the way a coupon claim waits for the code).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from core.shop import current_schema
from storefront.fans.account import SESSION_FAN, signed_in_fan
from storefront.models import Fan

from .edge import GRAB_PATH, IDEM
from .models import FlashGrab, FlashSale
from .registration import flash_register, registered_count, registration_problem
from .tokens import grab_token_make

# A visitor's 预约 waiting for her sign-in code (the sale's id).
SESSION_PENDING = "storefront_flash_register"
# The anonymous page is kept this long (its live parts come from the status endpoint).
PAGE_SECONDS = 5


def _sale(sale_id: int) -> FlashSale:
    """This shop's sale SALE_ID as buyers may see it: announced and not cancelled; 404 else (a
    sale of another shop is simply not in this shop's schema)."""
    sale = (
        FlashSale.objects.select_related("item__listing", "item__sku")
        .filter(pk=sale_id)
        .exclude(state=FlashSale.State.CANCELLED)
        .first()
    )
    if sale is None or timezone.now() < sale.announce_at:
        raise Http404
    return sale


def sale_open(sale: FlashSale, *, now: float | None = None) -> bool:
    """Whether SALE's window is open now (the gate decides each press; this decides tokens)."""
    now = time.time() if now is None else now
    return (
        sale.state in (FlashSale.State.SCHEDULED, FlashSale.State.LIVE)
        and sale.starts_at.timestamp() <= now < sale.ends_at.timestamp()
    )


def grab_token_for(*, sale: FlashSale, fan: Fan) -> str:
    """A grab token for FAN in SALE, valid until the sale ends; only once it is open."""
    return grab_token_make(
        schema=current_schema(),
        sale_id=sale.pk,
        fan_id=fan.pk,
        expires=int(sale.ends_at.timestamp()),
    )


def _context(request: HttpRequest, sale: FlashSale, fan: Fan | None) -> dict[str, object]:
    item = sale.item
    registered = registered_count(sale=sale)
    mine = False
    if fan is not None:
        from .registration import fan_registered

        mine = fan_registered(sale=sale, fan=fan)
    return {
        "sale": sale,
        "item": item,
        "listing": item.listing,
        "fan": fan,
        "registered": registered,
        "is_registered": mine,
        "registration_closed": registration_problem(sale),
        "token": grab_token_for(sale=sale, fan=fan) if fan is not None and sale_open(sale) else "",
        "grab_url": GRAB_PATH,
        "status_url": f"/flash/status/{sale.pk}",
        "token_url": reverse("storefront:flash_token", args=[sale.pk]),
        "signin_url": reverse("storefront:code_request")
        + "?"
        + urlencode({"next": reverse("storefront:flash_sale", args=[sale.pk])}),
        "starts_ms": int(sale.starts_at.timestamp() * 1000),
        "ends_ms": int(sale.ends_at.timestamp() * 1000),
        "now_ms": int(time.time() * 1000),
        "saving_fen": max(item.retail_price_fen - sale.price_fen, 0),
        "messages_js": _script_messages(),
    }


def _script_messages() -> dict[str, str]:
    """sale.js's words in the page's language (%(name)s is filled in by the script)."""
    return {
        "won": _("You got one! Pay within %(minutes)s minutes, or it goes to the next buyer."),
        "sold_out": _("Sold out. Every unit has found a buyer."),
        "limit": _("You already have as many as one person may buy."),
        "not_open": _("Not open yet: wait for the countdown."),
        "closed": _("This flash sale has ended."),
        "not_registered": _("Only fans who registered before the start may buy."),
        "too_fast": _("Too fast. Please wait a moment, then try again."),
        "invalid": _("This page is out of date. Please reload it."),
        "captcha": _("Please confirm you are not a robot, then try again."),
        "retry": _("Busy. Trying again…"),
        "bad": _("Something went wrong. Please try again."),
        "network": _("No connection. Please try again."),
        # A live counter filled in by the script (the same words elsewhere are plural-aware).
        "left": pgettext("flash counter", "%(n)s left"),
        "registered": pgettext("flash counter", "%(n)s registered"),
        "days": _("%(n)s d"),
        "starts_in": _("Starts in"),
        "ends_in": _("Ends in"),
        "sold_out_state": _("Sold out"),
        "ended": _("Ended"),
    }


@require_GET
def sale_view(request: HttpRequest, sale_id: int) -> HttpResponse:
    """The sale page: its rules in plain sight, the count of who registered, the countdown and
    立即抢购 (sale.js), and the answer to a press."""
    sale = _sale(sale_id)
    # No session, no messages: a visitor who sees exactly what every other visitor sees.
    anonymous = not {settings.SESSION_COOKIE_NAME, "messages"} & set(request.COOKIES)
    if anonymous:
        key = f"flash:page:{sale.pk}:{get_language()}"
        body = cache.get(key)
        if body is None:
            response = TemplateResponse(
                request, "storefront/flash/sale.html", _context(request, sale, None)
            )
            response.render()
            body = response.content
            cache.set(key, body, PAGE_SECONDS)
        page = HttpResponse(body)
        page["Cache-Control"] = f"public, max-age={PAGE_SECONDS}"
        return page
    fan = signed_in_fan(request)
    if fan is not None and request.session.get(SESSION_PENDING) == sale.pk:
        # Back from the sign-in code with a 预约 waiting: made now, one tap in all.
        request.session.pop(SESSION_PENDING, None)
        _register(request, sale=sale, fan=fan)
    response = TemplateResponse(request, "storefront/flash/sale.html", _context(request, sale, fan))
    response["Cache-Control"] = "private, no-cache"
    return response


def _register(request: HttpRequest, *, sale: FlashSale, fan: Fan) -> None:
    try:
        new = flash_register(sale=sale, fan=fan)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return
    if new:
        messages.success(request, _("You are registered. We will remind you before it starts."))
    else:
        messages.info(request, _("You were already registered."))


@never_cache
@require_http_methods(["GET", "POST"])
def register_view(request: HttpRequest, sale_id: int) -> HttpResponse:
    """预约: a signed-in fan's POST registers her; a visitor is sent through the sign-in code
    first (GET or POST) and registered when she comes back."""
    sale = _sale(sale_id)
    page = reverse("storefront:flash_sale", args=[sale.pk])
    fan = signed_in_fan(request)
    if fan is None:
        problem = registration_problem(sale)
        if problem:
            messages.error(request, problem)
            return redirect(page)
        request.session[SESSION_PENDING] = sale.pk
        return redirect(reverse("storefront:code_request") + "?" + urlencode({"next": page}))
    if request.method == "POST":
        _register(request, sale=sale, fan=fan)
    return redirect(page)


@never_cache
@require_GET
def token_view(request: HttpRequest, sale_id: int) -> JsonResponse:
    """The grab token for a page loaded before the start, asked for when its countdown ends:
    only once the sale is open, only for a signed-in fan."""
    sale = _sale(sale_id)
    fan = signed_in_fan(request)
    if fan is None:
        return JsonResponse({"result": "signin"}, status=403)
    if not sale_open(sale):
        return JsonResponse({"result": "not_open"}, status=403)
    return JsonResponse({"token": grab_token_for(sale=sale, fan=fan)})


@never_cache
@require_GET
def won_view(request: HttpRequest, sale_id: int) -> HttpResponse:
    """After 抢到了: the unit is hers for the sale's pay window; the way to checkout, and an
    offer (never more) to share the sale."""
    from .kind import flash_grab_for_ticket, flash_ticket

    sale = _sale(sale_id)
    fan = signed_in_fan(request)
    key = request.GET.get("k", "")
    if fan is None or not IDEM.match(key):
        raise Http404
    # Her grab's row; written now from the gate when she was quicker than the writer's next
    # batch (idempotent: the writer's own run later records nothing twice).
    grab = flash_grab_for_ticket(sale=sale, fan_id=fan.pk, idem=key)
    if grab is None or grab.fan_id != fan.pk or grab.status == FlashGrab.Status.EXPIRED:
        raise Http404
    ticket = flash_ticket(grab)
    share_url = request.build_absolute_uri(reverse("storefront:flash_sale", args=[sale.pk]))
    return TemplateResponse(
        request,
        "storefront/flash/won.html",
        {
            "sale": sale,
            "grab": grab,
            "listing": sale.item.listing,
            "checkout_url": reverse("storefront:checkout") + "?" + urlencode({"campaign": ticket}),
            "share_url": share_url,
            "session_fan": request.session.get(SESSION_FAN),
        },
    )
