"""A price drop's share link answered in front of Django (storefront/pricedrop/edge.py): the
same count, redirect and cookies as the view, without Django's middleware; everything the
edge does not know to answer goes on to Django; shops kept apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.conf import settings as django_settings
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from werkzeug.test import Client as WsgiClient

from storefront.pricedrop import counting
from storefront.pricedrop.device import DEVICE_COOKIE
from storefront.pricedrop.edge import PriceDropEdge, edge_maps_forget
from storefront.pricedrop.models import PriceDrop
from storefront.pricedrop.services import pricedrop_counted, pricedrop_recount
from storefront.sharing.cookies import SHARE_COOKIE, share_code_of
from tenants.edge_hosts import edge_shops_forget

from .edge_helpers import DjangoInTheTest
from .pricedrop_helpers import drop_make, pricedrop_redis_clean, sharer_make  # noqa: F401

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("catalog_english", "pricedrop_redis_clean"),
]

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0"


class Django(DjangoInTheTest):
    """Django behind the edge, counting the requests the edge passed on."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return super().__call__(environ, start_response)


@pytest.fixture
def edge():
    edge_shops_forget()
    edge_maps_forget()
    django = Django()
    yield WsgiClient(PriceDropEdge(django)), django
    edge_maps_forget()


def get(client: WsgiClient, path: str, *, host: str = "a.localhost", agent: str = PHONE,
        address: str = "10.30.0.1"):  # fmt: skip
    return client.get(
        path, headers={"Host": host, "User-Agent": agent}, environ_base={"REMOTE_ADDR": address}
    )


def counted(shop, campaign) -> int:
    with tenant_context(shop):
        found = pricedrop_counted(campaign=PriceDrop.objects.get(pk=campaign.pk))
    connection.set_schema_to_public()
    return found


def live_drop(shop):
    """A running price drop whose live state is in Redis (as after its first visit, which the
    view answers: test_when_redis_lost_the_campaign_the_view_rebuilds_it_and_counts)."""
    campaign = drop_make(shop)
    with tenant_context(shop):
        pricedrop_recount(campaign_id=campaign.pk)
    connection.set_schema_to_public()
    return campaign


def link_of(shop, campaign) -> str:
    with tenant_context(shop):
        code = sharer_make(campaign).share_link.code
    connection.set_schema_to_public()
    return f"/drop/{campaign.pk}/s/{code}/"


def cookie(answer, name: str) -> str:
    for header in answer.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    return ""


def test_a_friend_is_counted_and_sent_on_with_the_views_cookies_without_django(shops, edge):
    client, django = edge
    campaign = live_drop(shops.a)
    path = link_of(shops.a, campaign)

    answer = get(client, path)
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/drop/{campaign.pk}/"
    assert django.calls == 0
    assert counted(shops.a, campaign) == 1
    # Never cached, and the headers Django's security middleware gives every answer.
    assert "no-store" in answer.headers["Cache-Control"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    # Her order will be the sharer's: the signed cookie verifies in shop A, and in A only.
    share = cookie(answer, SHARE_COOKIE)
    assert "HttpOnly" in share and "SameSite=Lax" in share
    value = share.split(";", 1)[0].split("=", 1)[1].strip('"')
    checkout = RequestFactory().get("/checkout/")
    checkout.COOKIES[SHARE_COOKIE] = value
    checkout.session = {}
    with tenant_context(shops.a):
        assert share_code_of(checkout) == path.split("/")[-2]
    with tenant_context(shops.b):
        assert share_code_of(checkout) == ""
    connection.set_schema_to_public()
    assert cookie(answer, DEVICE_COOKIE) and not cookie(answer, "sessionid")

    # The same browser again (its device cookie kept), a hundred times: still one share.
    for _ in range(100):
        assert get(client, path).status_code == 302
    assert counted(shops.a, campaign) == 1
    assert not cookie(get(client, path), DEVICE_COOKIE)  # she has one: no new one


def test_a_new_link_costs_one_query_and_a_warm_one_none(shops, edge):
    client, _django = edge
    campaign = live_drop(shops.a)
    path = link_of(shops.a, campaign)
    get(client, link_of(shops.a, campaign))  # the campaign's state is known now
    with CaptureQueriesContext(connection) as queries:
        assert get(client, path).status_code == 302
    assert len(queries) == 1, [q["sql"] for q in queries]  # the sharer, by the link's code
    with CaptureQueriesContext(connection) as queries:
        assert get(client, path, address="10.30.0.2").status_code == 302
    assert len(queries) == 0


def test_the_sharer_herself_and_bots_do_not_count(shops, edge):
    client, django = edge
    campaign = live_drop(shops.a)
    with tenant_context(shops.a):
        sharer = sharer_make(campaign, address="10.31.0.9")
    connection.set_schema_to_public()
    path = f"/drop/{campaign.pk}/s/{sharer.share_link.code}/"
    assert get(client, path, address="10.31.0.9").status_code == 302  # her own address
    assert get(client, path, agent="facebookexternalhit/1.1").status_code == 302
    assert get(client, path, agent="").status_code == 302
    assert django.calls == 0
    assert counted(shops.a, campaign) == 0


@pytest.mark.parametrize("ending", ["ended", "past_end"])
def test_a_campaign_that_is_over_counts_nothing_but_still_leads_to_its_page(shops, edge, ending):
    client, _django = edge
    campaign = live_drop(shops.a)
    path = link_of(shops.a, campaign)
    with tenant_context(shops.a):
        if ending == "ended":
            PriceDrop.objects.filter(pk=campaign.pk).update(status=PriceDrop.Status.ENDED)
        else:  # the minute task has not ended it yet: its end time is enough
            PriceDrop.objects.filter(pk=campaign.pk).update(
                ends_at=timezone.now() - timedelta(seconds=1)
            )
    connection.set_schema_to_public()
    answer = get(client, path)
    assert answer.status_code == 302 and answer.headers["Location"] == f"/drop/{campaign.pk}/"
    assert counted(shops.a, campaign) == 0


def test_what_the_edge_does_not_know_goes_on_to_django(shops, edge):
    client, django = edge
    campaign = live_drop(shops.a)
    path = link_of(shops.a, campaign)

    assert get(client, f"/drop/{campaign.pk}/s/NoSuchCode1/").status_code == 404
    assert get(client, f"/drop/{campaign.pk + 1000}/s/NoSuchCode1/").status_code == 404
    assert client.head(path, headers={"Host": "a.localhost"}).status_code == 405
    assert client.post(path, headers={"Host": "a.localhost"}).status_code in (302, 403)
    assert django.calls == 4
    # A visitor with a session (perhaps a signed-in fan): the view counts her by her account.
    client.set_cookie(django_settings.SESSION_COOKIE_NAME, "x" + "0" * 31, domain="a.localhost")
    with_session = get(client, path)
    assert with_session.status_code == 302 and django.calls == 5
    assert "no-store" in with_session.headers["Cache-Control"]  # the view's answer as the edge's
    assert counted(shops.a, campaign) == 1


def test_another_shops_host_never_counts_or_follows_this_shops_link(shops, edge):
    client, django = edge
    campaign = live_drop(shops.a)
    path = link_of(shops.a, campaign)
    assert get(client, path, host="b.localhost").status_code == 404
    assert get(client, path, host="nowhere.localhost").status_code in (400, 404)
    assert django.calls == 2
    assert counted(shops.a, campaign) == 0
    # Shop A's own host still counts it (B's miss left nothing behind for A).
    assert get(client, path).status_code == 302
    assert counted(shops.a, campaign) == 1


def test_when_redis_lost_the_campaign_the_view_rebuilds_it_and_counts(shops, edge):
    client, django = edge
    campaign = drop_make(shops.a)
    first, second = link_of(shops.a, campaign), link_of(shops.a, campaign)
    get(client, first, address="10.32.0.1")  # no live state yet: the view loads it
    assert django.calls == 1
    with tenant_context(shops.a):
        from storefront.pricedrop.services import pricedrop_flush

        pricedrop_flush(campaign_id=campaign.pk)  # the first share is in PostgreSQL
        counting.client().delete(counting.key(campaign.pk, "ready"))
    connection.set_schema_to_public()

    another_friend = WsgiClient(client.application)  # her own browser: her own device cookie
    assert get(another_friend, second, address="10.32.0.2").status_code == 302
    assert django.calls == 2  # the rebuild is the view's
    assert counted(shops.a, campaign) == 2


def test_with_redis_away_the_visit_is_led_on_uncounted(shops, edge, settings):
    client, django = edge
    campaign = live_drop(shops.a)
    path = link_of(shops.a, campaign)
    working = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    answer = get(client, path)
    assert answer.status_code == 302 and django.calls == 0
    settings.REDIS_URL = working
    assert counted(shops.a, campaign) == 0


def test_a_counted_share_sends_its_flush_to_the_shops_schema(shops, edge):
    client, _django = edge
    campaign = live_drop(shops.a)
    path = link_of(shops.a, campaign)
    with tenant_context(shops.a):
        counting.client().delete(counting.key(campaign.pk, "flushq"))
    connection.set_schema_to_public()
    sent: list[dict] = []

    def seen(sender=None, headers=None, **_kwargs):
        if sender and sender.endswith("pricedrop_flush_task"):
            sent.append(dict(headers or {}))

    another = link_of(shops.a, campaign)
    before_task_publish.connect(seen)
    try:
        assert get(client, path).status_code == 302
        # A second share within FLUSH_DELAY is written by the same task.
        assert get(WsgiClient(client.application), another, address="10.33.0.2").status_code == 302
    finally:
        before_task_publish.disconnect(seen)
    assert counted(shops.a, campaign) == 2
    # The edge runs in the public schema: the task must be sent to the shop's, not to that.
    assert [h.get("_schema_name") for h in sent] == [shops.a.schema_name]


@pytest.mark.parametrize(
    "host", ["a\x00.localhost", "a.localhost\x00", "a b.localhost", "ä.localhost", "x" * 300, ""]
)
def test_a_forged_host_reaches_no_query_and_no_500(shops, host):
    from storefront.flash.edge import flash_grab_answer
    from tenants.edge_hosts import edge_shop, environ_hostname

    edge_shops_forget()
    environ = {"HTTP_HOST": host, "REQUEST_METHOD": "POST"}
    assert environ_hostname(environ) == ""
    with CaptureQueriesContext(connection) as queries:
        assert edge_shop(environ_hostname(environ)) is None
        assert flash_grab_answer(environ) == (404, {"result": "bad"})
    assert len(queries) == 0
    assert environ_hostname({"HTTP_HOST": "WWW.A.localhost:8000"}) == "a.localhost"
