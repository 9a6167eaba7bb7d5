"""Which article an order came from: the last article whose product card the buyer tapped.

The tap is reported by the beacon (views.py), the one request of ours a cached article makes:
its answer sets a small signed cookie naming the article (SOURCE_COOKIE, SOURCE_DAYS). Checkout
then copies it into the buyer's session (source_page_carry, at the checkout step the funnel
counts), where checkout reads it onto the order (Order.source_page_id, storefront/orders).

Why a cookie of its own and not the session, written by the beacon itself:
- the page cache serves nothing cached to a visitor with a session cookie (cms/page_cache.py),
  so a session made by a tap would take every later page off the cache's hit path; this
  cookie is not one the cache looks at;
- the tap's beacon and the tap's own request (the card's 立即购买 posts to the cart at the same
  moment) would both write the session: whichever saved last would drop the other's change,
  and a first-time reader with no session yet would get two sessions, one of them lost. The
  cookie is written by the beacon alone; the session only by the checkout's own request.

Only an article of this shop is ever named: the beacon checks the page (known.py) and the
cookie is signed (a forged or another shop's value is ignored: the salt carries the host).
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse

SOURCE_COOKIE = "vs_from"
# The session key checkout reads onto the order. storefront.orders.visitor names the same key
# (tests/test_analytics_sales.py checks they agree): orders imports analytics, and analytics
# is imported by sharing, which may not reach orders (make lint's storefront contract).
SESSION_SOURCE_PAGE = "storefront_source_page"
# Last tap wins for a week: a reader who taps today and buys tomorrow is still the article's.
SOURCE_DAYS = 7
_SALT = "storefront.analytics.source-page"


def _salt(request: HttpRequest) -> str:
    # Cookies are per host already; the host in the salt makes a value copied from one shop's
    # cookie into another's worthless there too.
    return f"{_SALT}:{request.get_host().lower()}"


def source_page_remember(request: HttpRequest, response: HttpResponse, *, page_id: int) -> None:
    """Name PAGE_ID (an article of this shop) as where this visitor last tapped a card."""
    response.set_signed_cookie(
        SOURCE_COOKIE,
        str(page_id),
        salt=_salt(request),
        max_age=SOURCE_DAYS * 86_400,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def source_page_of(request: HttpRequest) -> int | None:
    """The article REQUEST's cookie names, or None (none, expired, forged or malformed)."""
    try:
        value = request.get_signed_cookie(
            SOURCE_COOKIE, salt=_salt(request), max_age=SOURCE_DAYS * 86_400
        )
    except (KeyError, signing.BadSignature, ValueError):
        return None
    if not value or not value.isdigit() or len(value) > 10:
        return None
    page_id = int(value)
    return page_id if 0 < page_id < 2**31 else None


def source_page_carry(request: HttpRequest) -> int | None:
    """Copy the tapped article into the session checkout reads (SESSION_SOURCE_PAGE); returns
    it. Called at the checkout step (a request of the buyer's own, before she places the
    order), so nothing else writes her session at the same moment. No cookie: the session is
    left as it is (nothing is made for a visitor who has none)."""
    page_id = source_page_of(request)
    if page_id is not None and request.session.get(SESSION_SOURCE_PAGE) != page_id:
        request.session[SESSION_SOURCE_PAGE] = page_id
    return page_id if page_id is not None else _session_page(request, SESSION_SOURCE_PAGE)


def _session_page(request: HttpRequest, key: str) -> int | None:
    value = request.session.get(key)
    return value if isinstance(value, int) and 0 < value < 2**31 else None
