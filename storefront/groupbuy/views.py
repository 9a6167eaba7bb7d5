"""A group buy's pages for buyers: the campaign (rules, live state, join), a 拼团 group's link,
the live state as JSON, and leaving a group buy. Thin: services decide, pages show."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.qr import qr_svg
from storefront.fans.account import signed_in_fan
from storefront.models import Order
from storefront.orders.visitor import SESSION_ORDERS, order_for_visitor
from storefront.selectors import listing_url

from . import selectors, services
from .forms import JoinForm
from .models import GroupBuy, GroupMember, GroupTeam

TEAM_CODE_LEN = 10


def _checkout_url(ticket: str) -> str:
    return reverse("storefront:checkout") + "?" + urlencode({"campaign": f"group:{ticket}"})


def _tier_rows(campaign: GroupBuy, buyers: int) -> list[dict]:
    rows = []
    reached = services.tier_price(campaign.price_list, max(buyers, 1))
    for threshold, price in campaign.price_list:
        rows.append({"buyers": threshold, "price_fen": price, "reached": price == reached})
    return rows


def _join(request: HttpRequest, campaign: GroupBuy, team: GroupTeam | None) -> HttpResponse | str:
    """The join button: a checkout link for this buyer, or why she cannot join."""
    form = JoinForm(request.POST, limit=campaign.per_fan_limit)
    if not form.is_valid():
        return " ".join(str(e) for errors in form.errors.values() for e in errors)
    quantity = form.cleaned_data["quantity"]
    fan = signed_in_fan(request)
    problem = services.join_problem(campaign, fan=fan, quantity=quantity)
    if not problem and team is not None:
        problem = services.team_join_problem(team) or services.new_buyer_problem(campaign, fan)
    if problem:
        return problem
    ticket = services.ticket_make(
        campaign=campaign, quantity=quantity, team_code=team.code if team else ""
    )
    return redirect(_checkout_url(ticket))


def _page_context(request: HttpRequest, campaign: GroupBuy) -> dict:
    live = selectors.live_of(campaign)
    return {
        "campaign": campaign,
        "live": live,
        "tiers": _tier_rows(campaign, live.buyers),
        "listing": campaign.item.listing,
        "listing_url": listing_url(campaign.item.listing_id),
        "form": JoinForm(limit=campaign.per_fan_limit),
        "fan": signed_in_fan(request),
        "state_url": reverse("storefront:groupbuy_state", args=[campaign.pk]),
        "my_orders": _my_orders(request, campaign),
    }


def _my_orders(request: HttpRequest, campaign: GroupBuy) -> list:
    """This visitor's orders in CAMPAIGN (the ones her session placed or looked up): the page
    shows her price, the final price and her refund beside the campaign."""
    numbers = [n for n in request.session.get(SESSION_ORDERS, []) if isinstance(n, str)][:20]
    if not numbers:
        return []
    return list(
        Order.objects.filter(number__in=numbers, group_member__campaign=campaign)
        .select_related("group_member")
        .order_by("-id")
    )


@never_cache
@require_http_methods(["GET", "POST"])
def groupbuy_view(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.groupbuy_get(campaign_id=pk)
    if campaign is None:
        raise Http404
    error = ""
    if request.method == "POST":
        outcome = _join(request, campaign, None)
        if isinstance(outcome, HttpResponse):
            return outcome
        error = outcome
    context = _page_context(request, campaign)
    context["error"] = error
    if campaign.kind == GroupBuy.Kind.FIXED:
        context["teams"] = selectors.teams_open(campaign=campaign)
    return TemplateResponse(
        request, "storefront/groupbuy/page.html", context, status=409 if error else 200
    )


@never_cache
@require_http_methods(["GET", "POST"])
def team_view(request: HttpRequest, code: str) -> HttpResponse:
    """A 拼团 group's link: who is in (counts only), the time left, and joining it."""
    if len(code) != TEAM_CODE_LEN or not code.isalnum():
        raise Http404
    team = selectors.team_by_code(code=code)
    if team is None:
        raise Http404
    campaign = selectors.groupbuy_get(campaign_id=team.campaign_id)
    assert campaign is not None
    error = ""
    if request.method == "POST":
        outcome = _join(request, campaign, team)
        if isinstance(outcome, HttpResponse):
            return outcome
        error = outcome
    context = _page_context(request, campaign)
    link = request.build_absolute_uri(reverse("storefront:groupbuy_team", args=[team.code]))
    context.update(
        {
            "team": team,
            "error": error,
            "team_problem": services.team_join_problem(team),
            "places_left": max(0, team.size - team.paid_count),
            "link": link,
            "qr": qr_svg(link),
        }
    )
    return TemplateResponse(
        request, "storefront/groupbuy/team.html", context, status=409 if error else 200
    )


@never_cache
@require_GET
def groupbuy_state_view(request: HttpRequest, pk: int) -> JsonResponse:
    """The live figures, read from the campaign's row: pages and strips ask every few
    seconds, and nothing in between caches it (never a stale count)."""
    live = selectors.groupbuy_live(campaign_id=pk)
    if live is None:
        return JsonResponse({"error": _("No such group buy.")}, status=404)
    response = JsonResponse(live.as_json())
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def member_cancel_view(request: HttpRequest, number: str) -> HttpResponse:
    """The buyer leaves a tiered group buy before its deadline (when its rules allow)."""
    order = order_for_visitor(request, number)
    try:
        services.member_cancel(order=order)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("You have left the group buy. Your payment is refunded in full.")
        )
    return redirect("storefront:order_detail", number=number)


def member_of(order_id: int) -> GroupMember | None:
    return selectors.member_for_order(order_id=order_id)
