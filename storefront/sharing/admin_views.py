"""The creator's 分享达人 page in her shop's Wagtail admin: who spreads the word.

Storefront.view_orders: whoever may see the orders may see who brought them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from storefront.team.access import perm_required
from storefront.team.roles import VIEW_ORDERS

from .selectors import share_reward_coupon, top_sharers

TOP = 50


@perm_required(VIEW_ORDERS)
def sharers_index(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(
        request,
        "storefront/sharing/admin_sharers.html",
        {
            "page_title": _("Top sharers"),
            "header_icon": "group",
            "sharers": top_sharers(limit=TOP),
            "reward": share_reward_coupon(),
            "top": TOP,
        },
    )
