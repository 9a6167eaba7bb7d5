"""The beacon: cached pages report views, card impressions and taps here (/a/e).

The full-page cache (cms/page_cache.py) serves articles and product pages without running any
of our Python, so counting happens in a separate tiny request the page's script sends
(storefront/templates/storefront/analytics/beacon.html). It writes nothing but Redis counters,
so it is exempt from CSRF (sendBeacon cannot carry a token from a cached page); what stops a
forged flood is the per-client rate limit (VSTORE_RATES["analytics_beacon"]): one client adds at
most one view, and one impression and tap per listing, per beacon, and only so many beacons a
minute. Another site's pages cannot post here from their visitors' browsers (Origin is checked).

Input, POST (a JSON body, as sendBeacon sends it) or GET (a query string):
    {"p": page id, "e": [[event, listing id], ...], "s": source}   /a/e?p=7&e=card_tap:12&s=share
Only what a page can see is accepted: article_view, product_view, card_impression, card_tap.
Share visits, checkout starts and paid orders are counted by the server where they happen.
Answers: 204 counted (or a known bot, silently), 400 bad input, 405, 403 another origin, 429.
A card tap in an article also sets the cookie that names the article for the order she may
place next (attribution.py); nothing else of the beacon's answer differs between visitors.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from core.clients import client_bucket, rate_limited
from core.shop import current_shop_id, in_shop

from .attribution import source_page_remember
from .counting import SOURCE, Event, events_count, is_bot, visitor_of
from .known import article_known, ids_known

BEACON_EVENTS = ("article_view", "product_view", "card_impression", "card_tap")
VIEWS = ("article_view", "product_view")
# A page shows at most a few dozen cards; the script sends impressions in batches of 50.
EVENTS_MAX = 60
BODY_MAX = 4096


class BadBeacon(ValueError):
    pass


def _id(value: object) -> int:
    if isinstance(value, bool):
        raise BadBeacon("id")
    if isinstance(value, str) and value.isdigit() and len(value) <= 10:
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= 2_147_483_647:
        raise BadBeacon("id")
    return value


def beacon_parse(request: HttpRequest) -> tuple[int, list[tuple[str, int]], str]:
    """(page id, [(event, listing id)], source) from the request; BadBeacon if malformed."""
    if request.method == "POST":
        if len(request.body) > BODY_MAX:
            raise BadBeacon("size")
        try:
            data = json.loads(request.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadBeacon("json") from exc
        if not isinstance(data, dict):
            raise BadBeacon("shape")
        page, raw_events, source = data.get("p", 0), data.get("e", []), data.get("s", "")
    else:
        if len(request.META.get("QUERY_STRING", "")) > BODY_MAX:
            raise BadBeacon("size")
        page, source = request.GET.get("p", "0"), request.GET.get("s", "")
        raw_events = [part.rsplit(":", 1) for part in request.GET.getlist("e")]
        raw_events = [item if len(item) == 2 else [item[0], 0] for item in raw_events]
    if not isinstance(raw_events, list) or len(raw_events) > EVENTS_MAX:
        raise BadBeacon("events")
    if not isinstance(source, str) or SOURCE.match(source) is None:
        raise BadBeacon("source")
    events: list[tuple[str, int]] = []
    for item in raw_events:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise BadBeacon("event")
        name, listing = item
        if name not in BEACON_EVENTS:
            raise BadBeacon("event name")
        listing = _id(listing)
        if name != "article_view" and listing == 0:
            raise BadBeacon("listing")
        events.append((name, 0 if name == "article_view" else listing))
    return _id(page), events, source


def _foreign_origin(request: HttpRequest) -> bool:
    origin = request.META.get("HTTP_ORIGIN")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc.lower() != request.get_host().lower()


@csrf_exempt
def beacon_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    if not in_shop():
        return HttpResponse(status=404)
    if _foreign_origin(request):
        return HttpResponse(status=403)
    try:
        page_id, raw, source = beacon_parse(request)
    except BadBeacon as exc:
        return HttpResponse(f"bad beacon: {exc}", status=400, content_type="text/plain")
    user_agent = str(request.META.get("HTTP_USER_AGENT", ""))
    if is_bot(user_agent):
        return HttpResponse(status=204)
    if rate_limited(name="analytics_beacon", value=client_bucket(request)):
        return HttpResponse(status=429)
    # One view per beacon; each listing's impression and tap once per beacon.
    unique = list(dict.fromkeys(raw))
    views = [item for item in unique if item[0] in VIEWS][:1]
    unique = views + [item for item in unique if item[0] not in VIEWS]
    pages_ok, listings_ok = ids_known(
        page_ids={page_id} - {0}, listing_ids={listing for _name, listing in unique} - {0}
    )
    if (page_id and page_id not in pages_ok) or any(
        listing and listing not in listings_ok for _name, listing in unique
    ):
        return HttpResponse("bad beacon: unknown id", status=400, content_type="text/plain")
    shop_id = current_shop_id()
    events_count(
        shop_id=shop_id,
        events=[Event(name, page_id, listing, source) for name, listing in unique],
        visitor=visitor_of(request, shop_id=shop_id),
        user_agent=user_agent,
    )
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    if page_id and any(name == "card_tap" for name, _listing in unique) and article_known(page_id):
        # The order she may now place came from this article (attribution.py).
        source_page_remember(request, response, page_id=page_id)
    return response
