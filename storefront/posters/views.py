"""GET /p/<listing id>/poster.png: the listing's share poster with the signed-in fan's own
share link (her link of this listing), or the product page's address for anyone else."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from core.clients import client_bucket, rate_limited, too_many_requests
from core.shop import current_shop
from storefront.models import Listing, ShareLink
from storefront.orders.selectors import SESSION_FAN, session_fan
from storefront.selectors import listing_url

from .services import poster_png


def poster_share_url(request: HttpRequest, listing: Listing) -> str:
    fan = session_fan(fan_id=request.session.get(SESSION_FAN))
    link = (
        ShareLink.objects.filter(listing=listing, sharer=fan).only("code").first()
        if fan is not None
        else None
    )
    path = reverse("storefront:share", args=[link.code]) if link else listing_url(listing.pk)
    return request.build_absolute_uri(path)


@require_GET
def poster_view(request: HttpRequest, listing_id: str) -> HttpResponse:
    if rate_limited(name="poster", value=client_bucket(request)):
        return too_many_requests(request)
    listing = (
        Listing.objects.select_related("product").filter(pk=int(listing_id), is_active=True).first()
    )
    if listing is None:
        raise Http404
    shop = current_shop()
    _name, png = poster_png(
        listing=listing,
        share_url=poster_share_url(request, listing),
        creator_name=shop.name or request.get_host(),
    )
    response = HttpResponse(png, content_type="image/png")
    # Her poster carries her link: kept by her browser only.
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = f'inline; filename="poster-{listing.pk}.png"'
    return response
