"""The creator's group buys in her shop's Wagtail admin: the list with live figures, a new
group buy, and changing one (in buyers' favour only, once anyone joined).

A group buy spends the shop's margin and takes stock, so every page needs
storefront.manage_shop, the owner's permission (team.roles); other roles never see the menu
item. Group buys live in the shop's own schema: another shop's id is simply not found here.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from storefront.team.access import perm_required
from storefront.team.roles import MANAGE_SHOP

from .forms import GroupBuyForm, form_initial
from .models import GroupBuy
from .selectors import groupbuys_of_shop, live_of
from .services import groupbuy_create, groupbuy_update


@perm_required(MANAGE_SHOP)
def groupbuys_index(request: HttpRequest) -> HttpResponse:
    rows = [(campaign, live_of(campaign)) for campaign in groupbuys_of_shop()]
    return TemplateResponse(
        request,
        "storefront/groupbuy/admin_index.html",
        {"page_title": _("Group buys"), "header_icon": "group", "rows": rows},
    )


def _form_page(
    request: HttpRequest, form: GroupBuyForm, campaign: GroupBuy | None, status: int = 200
) -> HttpResponse:
    return TemplateResponse(
        request,
        "storefront/groupbuy/admin_form.html",
        {
            "page_title": campaign.title if campaign else _("New group buy"),
            "header_icon": "group",
            "form": form,
            "campaign": campaign,
        },
        status=status,
    )


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def groupbuy_new(request: HttpRequest) -> HttpResponse:
    form = GroupBuyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = groupbuy_create(
                kind=form.cleaned_data["kind"], item=form.cleaned_data["item"], terms=form.terms()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            started = _("Group buy “%(title)s” started.") % {"title": campaign.title}
            messages.success(request, started)
            return redirect("storefront_groupbuys")
    return _form_page(request, form, None, status=400 if form.errors else 200)


@perm_required(MANAGE_SHOP)
@require_http_methods(["GET", "POST"])
def groupbuy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(GroupBuy, pk=pk)
    initial = form_initial(campaign)
    form = GroupBuyForm(request.POST or None, initial=initial, editing=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            groupbuy_update(campaign=campaign, terms=form.terms())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Group buy saved."))
            return redirect("storefront_groupbuys")
    return _form_page(request, form, campaign, status=400 if form.errors else 200)
