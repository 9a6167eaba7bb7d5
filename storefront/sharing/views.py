"""A visit through a buyer's share link."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from storefront.analytics.counting import request_event_count
from storefront.selectors import listing_url

from .cookies import share_code_remember
from .services import share_visit


@require_GET
def share_visit_view(request: HttpRequest, code: str) -> HttpResponse:
    """Count the visit (once per session and link), remember the link for checkout, and show
    the product."""
    seen = request.session.get("storefront_share_seen", [])
    share = share_visit(code=code, counted=code in seen)
    if share is None:
        raise Http404
    if code not in seen:
        request.session["storefront_share_seen"] = [code, *seen][:50]
        request_event_count(
            request, event="share_visit", listing_id=share.listing_id, source="share"
        )
    return share_code_remember(redirect(listing_url(share.listing_id)), code)
