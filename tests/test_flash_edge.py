"""A flash sale's buyer side: the lean 抢购 and status paths in front of Django (edge.py), the
signed grab token, 预约 and its batched writes, the reminder, and shops kept apart."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from werkzeug.test import Client as WsgiClient

from storefront.fans.account import SESSION_FAN
from storefront.flash.demo import DEMO_TITLE, flash_demo_seed
from storefront.flash.edge import FlashEdge, redis_client
from storefront.flash.gate import gate_left, gate_register, gate_status
from storefront.flash.models import FlashRegistration, FlashSale
from storefront.flash.registration import (
    REMIND_KEY,
    _queue_key,
    flash_register,
    flash_reminders_send,
    flash_reminders_task,
    registered_count,
    registrations_flush,
)
from storefront.flash.tokens import TokenInvalid, grab_token_make, grab_token_read
from storefront.models import Fan
from tenants.edge_hosts import edge_shops_forget

from .edge_helpers import DjangoInTheTest
from .f2_helpers import edge_server, fans_make, sale_make  # noqa: F401 (fixture)
from .storefront_helpers import listed

pytestmark = pytest.mark.usefixtures("catalog_english")


@pytest.fixture
def edge_client() -> WsgiClient:
    """config.wsgi's stack (FlashEdge in front of Django) called in the test's own thread, so
    it sees the test's transaction and its queries are counted."""
    edge_shops_forget()
    return WsgiClient(FlashEdge(DjangoInTheTest()))


def signed_in(shop_client, shop, fan: Fan, host: str):
    """A test client for HOST whose session is FAN's (as after her sign-in code)."""
    with tenant_context(shop):
        store = SessionStore()
        store[SESSION_FAN] = fan.pk
        store.save()
    client = shop_client(host)
    client.cookies[django_settings.SESSION_COOKIE_NAME] = store.session_key
    return client


def press(base: str, host: str, *, token: str, key: str) -> tuple[int, dict]:
    body = f"t={token}&k={key}".encode()
    request = urllib.request.Request(
        f"{base}/flash/grab", data=body, method="POST", headers={"Host": host}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def token_for(shop, sale: FlashSale, fan: Fan) -> str:
    return grab_token_make(
        schema=shop.schema_name,
        sale_id=sale.pk,
        fan_id=fan.pk,
        expires=int(sale.ends_at.timestamp()),
    )


@pytest.mark.django_db
def test_a_press_through_a_real_http_server_is_answered_at_once(shops, edge_server, settings):  # noqa: F811
    settings.VSTORE_FLASH_EDGE_RATES = {"fan": (10, 3), "client": (1000, 1)}
    sale = sale_make(shops.a, quantity=2, limit=1)
    first, second, third = fans_make(shops.a, 3, prefix="1391000")
    port = edge_server.rsplit(":", 1)[1]
    host = f"a.localhost:{port}"

    code, won = press(edge_server, host, token=token_for(shops.a, sale, first), key="key-first-1")
    assert code == 200 and won["result"] == "won" and won["duplicate"] is False
    assert won["next"] == f"/flash/{sale.pk}/won/?k=key-first-1"
    # Her pay deadline: the sale's pay window from now.
    minutes = (won["pay_by"] / 1000 - timezone.now().timestamp()) / 60
    assert sale.pay_minutes - 1 < minutes <= sale.pay_minutes
    # A retry of the same press (a lost answer) is the same grab, not another unit.
    again = press(edge_server, host, token=token_for(shops.a, sale, first), key="key-first-1")
    assert again == (200, {**won, "duplicate": True})
    # A second tab, a new key: one per person.
    assert press(edge_server, host, token=token_for(shops.a, sale, first), key="key-first-2") == (
        200,
        {"result": "limit"},
    )
    assert press(edge_server, host, token=token_for(shops.a, sale, second), key="key-second")[1][
        "result"
    ] == ("won")
    assert press(edge_server, host, token=token_for(shops.a, sale, third), key="key-third") == (
        200,
        {"result": "sold_out"},
    )
    assert gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 0

    # Bad input gets a clear answer, never a 500.
    assert press(edge_server, host, token=token_for(shops.a, sale, third), key="x")[0] == 400
    assert press(edge_server, host, token="nonsense", key="key-third-2") == (
        403,
        {"result": "invalid"},
    )
    assert _get_once(edge_server + "/flash/grab", host)[0] == 405
    status, _body = _get_once(edge_server + "/flash/grab", "nowhere.localhost:" + port, post=True)
    assert status == 404


def _get_once(url: str, host: str, *, post: bool = False) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=b"t=x&k=yyyyyyyy" if post else None, headers={"Host": host}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.django_db
def test_a_hammering_client_gets_too_fast_and_never_an_extra_unit(shops, edge_server, settings):  # noqa: F811
    # Windows of a million seconds: a window's end (they are fixed, not sliding) never falls
    # inside the test's few seconds in practice, so every press below counts in one window.
    window = 1_000_000
    settings.VSTORE_FLASH_EDGE_RATES = {"fan": (3, window), "client": (12, window)}
    sale = sale_make(shops.a, quantity=10, limit=2)
    bot, *others = fans_make(shops.a, 12, prefix="1392000")
    host = f"a.localhost:{edge_server.rsplit(':', 1)[1]}"
    token = token_for(shops.a, sale, bot)

    # One fan, 30 presses at once, each with a new key (a script, not a double tap).
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(
                lambda i: press(edge_server, host, token=token, key=f"bot-key-{i:03d}"), range(30)
            )
        )
    results = [a[1]["result"] for a in answers]
    assert results.count("won") == 2  # her limit, however fast she presses
    assert results.count("too_fast") == 27  # beyond 3 presses a window, refused before the gate
    assert {r for r in results} == {"won", "limit", "too_fast"}
    assert all(code == 429 for code, a in answers if a["result"] == "too_fast")
    # Many fans from one address: the client's rate (12 a window here) stops the rest. Her 27
    # presses refused by her own rate do not count against the address everyone behind it shares.
    more = [
        press(edge_server, host, token=token_for(shops.a, sale, fan), key=f"other-key-{fan.pk}")
        for fan in others
    ]
    # 3 + 11 presses, 12 allowed: the 8 units left go to the first 8, the 9th finds none.
    assert [a["result"] for _c, a in more] == ["won"] * 8 + ["sold_out"] + ["too_fast"] * 2
    assert gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 0


# The captcha hook (VSTORE_FLASH_CAPTCHA): a provider's check between the limits and the gate.
captcha_seen: list[tuple[str, int, int]] = []


def captcha_check(environ, *, schema: str, sale_id: int, fan_id: int) -> bool:
    captcha_seen.append((schema, sale_id, fan_id))
    return environ.get("HTTP_X_TEST_CAPTCHA") == "solved"


@pytest.mark.django_db
def test_a_failed_captcha_takes_no_unit_and_a_solved_one_buys(shops, edge_client, settings):
    settings.VSTORE_FLASH_CAPTCHA = "tests.test_flash_edge.captcha_check"
    settings.VSTORE_FLASH_EDGE_RATES = {"fan": (2, 1_000_000), "client": (100, 1_000_000)}
    captcha_seen.clear()
    sale = sale_make(shops.a, quantity=1, limit=1)
    (fan,) = fans_make(shops.a, 1, prefix="1397000")
    data = {"t": token_for(shops.a, sale, fan), "k": "captcha-key-1"}

    refused = edge_client.post("/flash/grab", data=data, headers={"Host": "a.localhost"})
    assert (refused.status_code, refused.get_json()) == (403, {"result": "captcha"})
    assert gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 1
    assert captcha_seen == [(shops.a.schema_name, sale.pk, fan.pk)]
    solved = edge_client.post(
        "/flash/grab", data=data, headers={"Host": "a.localhost", "X-Test-Captcha": "solved"}
    )
    assert solved.get_json()["result"] == "won"
    assert gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 0
    # The rate limits still come first: a third press in the window is not even checked.
    again = edge_client.post("/flash/grab", data=data, headers={"Host": "a.localhost"})
    assert (again.status_code, again.get_json()) == (429, {"result": "too_fast"})
    assert len(captcha_seen) == 2


@pytest.mark.django_db
def test_the_status_comes_from_redis_without_a_database_query(
    shops, edge_client, django_assert_num_queries
):
    sale = sale_make(shops.a, quantity=7)
    (fan,) = fans_make(shops.a, 1, prefix="1393000")
    gate_register(schema=shops.a.schema_name, sale_id=sale.pk, fan_id=fan.pk)
    client = edge_client
    client.get(f"/flash/status/{sale.pk}", headers={"Host": "a.localhost"})  # learns the host
    with django_assert_num_queries(0):
        response = client.get(f"/flash/status/{sale.pk}", headers={"Host": "a.localhost"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=1, s-maxage=1"
    status = response.get_json()
    assert (status["state"], status["left"], status["registered"]) == ("live", 7, 1)
    assert status["starts_at"] == int(sale.starts_at.timestamp())
    # Not a path of the edge: any other goes on to Django, which answers it as it answers any
    # page it does not have (its slash rule first, then not found), never with an error.
    other = client.get("/flash/status/x1", headers={"Host": "a.localhost"})
    assert other.status_code == 301 and other.headers["Location"].endswith("/flash/status/x1/")
    assert client.get("/flash/status/x1/", headers={"Host": "a.localhost"}).status_code == 404


@pytest.mark.django_db
def test_the_token_is_refused_before_the_start_forged_or_for_another_sale_or_shop(
    shops, shop_client
):
    upcoming = sale_make(shops.a, starts_in=timedelta(minutes=10))
    live = sale_make(shops.a)
    (fan,) = fans_make(shops.a, 1, prefix="1394000")
    client = signed_in(shop_client, shops.a, fan, "a.localhost")

    # A page loaded before the start gets no token, and asks in vain until the start.
    page = client.get(f"/flash/{upcoming.pk}/")
    assert page.status_code == 200 and 'data-token=""' in page.content.decode()
    assert client.get(f"/flash/{upcoming.pk}/token/").json() == {"result": "not_open"}
    # Signed out: no token at all.
    assert shop_client("a.localhost").get(f"/flash/{live.pk}/token/").status_code == 403
    # After the start: a token for her, this shop and this sale only.
    token = client.get(f"/flash/{live.pk}/token/").json()["token"]
    assert f'data-token="{token}"' in client.get(f"/flash/{live.pk}/").content.decode()
    read = grab_token_read(token, schema=shops.a.schema_name, sale_id=live.pk)
    assert (read.fan_id, read.sale_id) == (fan.pk, live.pk)
    for bad in (
        lambda: grab_token_read(token, schema=shops.b.schema_name),  # another shop
        lambda: grab_token_read(token, schema=shops.a.schema_name, sale_id=upcoming.pk),
        lambda: grab_token_read(token[:-2] + "AA", schema=shops.a.schema_name),  # forged
        lambda: grab_token_read(token.replace(f".{fan.pk}.", f".{fan.pk + 1}."), schema="shop_a"),
        lambda: grab_token_read(token, schema=shops.a.schema_name, now=live.ends_at.timestamp()),
    ):
        with pytest.raises(TokenInvalid):
            bad()
    connection.set_schema_to_public()


@pytest.mark.django_db
def test_a_sale_of_shop_a_is_not_reachable_from_shop_b(shops, shop_client, edge_client):
    sale = sale_make(shops.a, title="A 店秒杀锅", quantity=3)
    connection.set_schema_to_public()
    page = shop_client("a.localhost").get(f"/flash/{sale.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    # The rules in plain sight: price, units, limit, pay window, who may buy.
    for text in ("A 店秒杀锅", "¥66.00", "¥88.00", "Units in this sale", "at most 1 unit"):
        assert text in html
    assert "15 minutes after you get one" in html and "Every signed-in fan" in html
    assert 'aria-live="polite"' in html
    assert shop_client("b.localhost").get(f"/flash/{sale.pk}/").status_code == 404
    assert shop_client("b.localhost").get(f"/flash/{sale.pk}/token/").status_code == 404
    # Nor through the lean paths: B's host has no such gate, and A's token means nothing there.
    client = edge_client
    status = client.get(f"/flash/status/{sale.pk}", headers={"Host": "b.localhost"}).get_json()
    assert status["left"] == 0 and status["state"] == "ended"
    (fan,) = fans_make(shops.a, 1, prefix="1395000")
    response = client.post(
        "/flash/grab",
        data={"t": token_for(shops.a, sale, fan), "k": "cross-shop-1"},
        headers={"Host": "b.localhost"},
    )
    assert (response.status_code, response.get_json()) == (403, {"result": "invalid"})
    assert gate_left(schema=shops.a.schema_name, sale_id=sale.pk) == 3


@pytest.mark.django_db
def test_registrations_are_written_in_idempotent_batches_and_counted(shops, shop_client):
    sale = sale_make(shops.a, starts_in=timedelta(hours=1))
    fans = fans_make(shops.a, 30, prefix="1396000")
    with tenant_context(shops.a):
        assert [flash_register(sale=sale, fan=f) for f in fans] == [True] * 30
        assert flash_register(sale=sale, fan=fans[0]) is False  # twice is once
        assert registered_count(sale=sale) == 30
        assert registrations_flush(sale_id=sale.pk, batch=7) == 30
        # A crash between the insert and the trim: the same ids again change nothing.
        redis_client().rpush(_queue_key(shops.a.schema_name, sale.pk), *[f.pk for f in fans[:10]])
        assert registrations_flush(sale_id=sale.pk) == 0
        sale.refresh_from_db()
        assert sale.registrations == 30
        assert FlashRegistration.objects.filter(sale=sale).count() == 30
    connection.set_schema_to_public()


@pytest.mark.django_db
def test_a_visitor_registers_with_a_code_and_the_page_counts_her(shops, shop_client, settings):
    sale = sale_make(shops.a, starts_in=timedelta(hours=1))
    connection.set_schema_to_public()
    client = shop_client("a.localhost")
    page = client.get(f"/flash/{sale.pk}/")
    assert "0 registered" in page.content.decode()
    # 预约 signed out: the shop's sign-in by code, then back to the sale, registered.
    start = client.get(f"/flash/{sale.pk}/register/")
    assert start.status_code == 302 and start["Location"].startswith("/me/code/?next=")
    client.get(start["Location"])
    mail.outbox.clear()
    client.post("/me/code/", {"contact": "flash-visitor@example.com"})
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    back = client.post("/me/verify/", {"code": code})
    assert back["Location"] == f"/flash/{sale.pk}/"
    page = client.get(back["Location"]).content.decode()
    assert "You are registered" in page and "1 registered" in page
    with tenant_context(shops.a):
        registrations_flush(sale_id=sale.pk)
        row = FlashRegistration.objects.select_related("fan").get(sale=sale)
        assert row.fan.email == "flash-visitor@example.com"
    connection.set_schema_to_public()


@pytest.mark.django_db
def test_the_reminder_names_the_sale_and_its_time(shops, settings):
    sale = sale_make(shops.a, starts_in=timedelta(minutes=5), title="路由器秒杀")
    with tenant_context(shops.a):
        fan = Fan.objects.create(email="remind-me@example.com")
        flash_register(sale=sale, fan=fan)
        mail.outbox.clear()
        assert flash_reminders_send(sale_id=sale.pk) == 1
        assert flash_reminders_send(sale_id=sale.pk) == 0
    assert len(mail.outbox) == 1
    assert "路由器秒杀" in mail.outbox[0].subject and f"/flash/{sale.pk}/" in mail.outbox[0].body
    connection.set_schema_to_public()


def test_the_reminder_goes_once_through_the_task_on_a_real_worker(
    shops, committed_db, celery_worker
):
    sale = sale_make(shops.a, starts_in=timedelta(minutes=5))
    try:
        with tenant_context(shops.a):
            fans = [Fan.objects.create(email=f"worker-remind-{i}@example.com") for i in range(3)]
            for fan in fans:
                flash_register(sale=sale, fan=fan)
        assert redis_client().zscore(REMIND_KEY, f"{shops.a.schema_name}:{sale.pk}") is not None
        assert flash_reminders_task.delay().get(timeout=120) == 3
        assert flash_reminders_task.delay().get(timeout=60) == 0
        with tenant_context(shops.a):
            rows = FlashRegistration.objects.filter(sale=sale)
            assert rows.count() == 3 and not rows.filter(reminded_at__isnull=True).exists()
            assert FlashSale.objects.get(pk=sale.pk).registrations == 3
    finally:
        with tenant_context(shops.a):
            FlashSale.objects.filter(pk=sale.pk).delete()
            Fan.objects.filter(email__startswith="worker-remind-").delete()
        connection.set_schema_to_public()


@pytest.mark.django_db
def test_the_demo_seed_makes_one_sale_opening_soon_with_registrations(
    shops, django_capture_on_commit_callbacks
):
    listed(shops.a, price=8800, stock=20, title="演示秒杀好物")
    with django_capture_on_commit_callbacks(execute=True):
        flash_demo_seed(shop=shops.a)
    with django_capture_on_commit_callbacks(execute=True):
        flash_demo_seed(shop=shops.a)  # again: the same sale, nothing more
    with tenant_context(shops.a):
        sale = FlashSale.objects.get(title=DEMO_TITLE)
        opens_in = (sale.starts_at - timezone.now()).total_seconds()
        assert 60 < opens_in <= 180
        status = gate_status(schema=shops.a.schema_name, sale_id=sale.pk)
        assert (status["state"], status["left"], status["registered"]) == ("upcoming", 5, 25)
    connection.set_schema_to_public()


@pytest.mark.django_db
def test_the_won_page_leads_her_alone_to_checkout(shops, shop_client):
    from storefront.flash.gate import gate_grab

    sale = sale_make(shops.a, quantity=2)
    winner, other = fans_make(shops.a, 2, prefix="1397000")
    won = gate_grab(
        schema=shops.a.schema_name, sale_id=sale.pk, fan_id=winner.pk, idem_key="won-page-1"
    )
    assert won.status == "won"
    connection.set_schema_to_public()
    url = f"/flash/{sale.pk}/won/?k=won-page-1"
    # Before the writer's batch: the page records her grab from the gate and links checkout.
    page = signed_in(shop_client, shops.a, winner, "a.localhost").get(url)
    assert page.status_code == 200
    assert re.search(r'href="/checkout/\?campaign=flash%3A[^"]+"', page.content.decode())
    assert "only if you like" in page.content.decode()  # sharing is offered, never required
    assert signed_in(shop_client, shops.a, other, "a.localhost").get(url).status_code == 404
    assert shop_client("a.localhost").get(url).status_code == 404
    connection.set_schema_to_public()
