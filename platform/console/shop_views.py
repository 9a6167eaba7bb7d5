"""Staff console: shops. Thin views over tenants.services and tenants.selectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.text import text_problem
from tenants import selectors, services
from tenants.models import DomainClaim, ShopEvent

if TYPE_CHECKING:
    # AUTH_USER_MODEL is Django's own: the type get_user_model() returns, and ShopEvent.actor's.
    from django.contrib.auth.models import User

staff: Callable[[Callable[..., Any]], Callable[..., Any]] = staff_member_required(login_url="login")


@staff
def shop_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    state = request.GET.get("state", "")
    shops = selectors.shop_search(query=query, state=state)
    page = Paginator(shops, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "console/shops/list.html",
        {"page": page, "query": query, "state": state, "states": selectors.SHOP_STATES},
    )


@staff
def shop_detail(request: HttpRequest, pk: int) -> HttpResponse:
    shop = get_object_or_404(selectors.shops(), pk=pk)
    return render(
        request,
        "console/shops/detail.html",
        {
            "shop": shop,
            "domains": shop.domains.order_by("-is_primary", "domain"),
            "claims": shop.domain_claims.order_by("-created_at"),
            "events": shop.events.select_related("actor")[:50],
        },
    )


def _run(request: HttpRequest, action, success: str, **kwargs) -> bool:
    try:
        action(actor=request.user, **kwargs)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return False
    messages.success(request, success)
    return True


@staff
@require_POST
def shop_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    shop = get_object_or_404(selectors.shops(), pk=pk)
    reason = request.POST.get("reason", "")
    problem = text_problem(reason)
    if problem:  # a NUL byte would reach PostgreSQL as an error page
        messages.error(request, problem)
        return redirect("console:shop-detail", pk=pk)
    _run(request, services.shop_suspend, _("Shop suspended."), tenant=shop, reason=reason)
    return redirect("console:shop-detail", pk=pk)


@staff
@require_POST
def shop_resume(request: HttpRequest, pk: int) -> HttpResponse:
    shop = get_object_or_404(selectors.shops(), pk=pk)
    _run(request, services.shop_resume, _("Shop resumed."), tenant=shop)
    return redirect("console:shop-detail", pk=pk)


@staff
@require_POST
def shop_export(request: HttpRequest, pk: int) -> HttpResponse:
    shop = get_object_or_404(selectors.shops(), pk=pk)
    # staff_required let only a logged-in staff member through: never AnonymousUser here.
    services.shop_export(tenant=shop, actor=cast("User", request.user))
    messages.success(request, _("Export ready: see the shop's history."))
    return redirect("console:shop-detail", pk=pk)


@staff
def export_download(request: HttpRequest, event_pk: int) -> FileResponse:
    event = get_object_or_404(
        ShopEvent, pk=event_pk, action__in=[ShopEvent.Action.EXPORTED, ShopEvent.Action.DELETED]
    )
    name = event.detail.get("file") or event.detail.get("export")
    if not name or not default_storage.exists(name):
        raise Http404(_("The export file is gone."))
    return FileResponse(
        default_storage.open(name, "rb"), as_attachment=True, filename=name.rsplit("/", 1)[-1]
    )


@staff
def shop_delete(request: HttpRequest, pk: int) -> HttpResponse:
    shop = get_object_or_404(selectors.shops(), pk=pk)
    if request.method == "POST":
        confirm = request.POST.get("confirm_name", "")
        if _run(
            request,
            services.shop_delete,
            _("Shop deleted; its export is kept in the history below."),
            tenant=shop,
            confirm_name=confirm,
        ):
            return redirect("console:shop-list")
    return render(request, "console/shops/delete.html", {"shop": shop}, status=200)


@staff
@require_POST
def claim_verify(request: HttpRequest, pk: int, claim_pk: int) -> HttpResponse:
    claim = get_object_or_404(DomainClaim, pk=claim_pk, tenant_id=pk)
    _run(
        request,
        services.domain_claim_verify,
        _("Domain verified by hand."),
        claim=claim,
        by_hand=True,
    )
    return redirect("console:shop-detail", pk=pk)
