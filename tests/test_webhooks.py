"""Webhooks: signed as the README says, retried with backoff, paused after failures with a notice,
re-sendable, never carrying another shop's data; sent to a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django_tenants.utils import tenant_context

from billing.fulfilment.services import supplier_order_ship
from billing.fulfilment.testing import Item, order_paid
from billing.supplierapi.events import supplier_event_emit
from billing.supplierapi.machinery import delivery_attempt, retry_delay
from billing.supplierapi.models import SupplierDelivery
from billing.supplierapi.services import supplier_webhook_create
from catalog.testing import first_sku, product_make, supplier_make
from core.webhook_http import UrlRefused, url_check, webhook_post
from core.webhook_sign import signature_make, signature_verify
from storefront.shopapi.events import shop_event_emit
from storefront.shopapi.models import ShopDelivery, ShopWebhook
from storefront.shopapi.services import shop_webhook_create
from storefront.shopapi.tasks import _notify_paused
from tests.api_helpers import call, receiver, shop_order_make, shop_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog_media")]


def _attempt(pk: int, **kw):
    return delivery_attempt(model=ShopDelivery, delivery_id=pk, notify_paused=_notify_paused, **kw)


def receiver_verifies(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """A receiver written from the README alone: t and v1 from the header, HMAC-SHA256 over
    "<t>.<raw body>" with the secret, constant-time compare, a fresh timestamp."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - int(fields["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected.hexdigest(), fields["v1"])


def test_a_delivery_is_signed_so_a_receiver_written_from_the_docs_verifies_it(shops):
    with receiver([200]) as rec, tenant_context(shops.a):
        hook = shop_webhook_create(url=rec.url, events=["order.paid"])
        order = shop_order_make(shops.a)
        (pk,) = shop_event_emit(event="order.paid", payload={"number": order.number})
        assert _attempt(pk) is None
        got = rec.wait()
        assert got.headers["X-VStore-Event"] == "order.paid"
        assert receiver_verifies(hook.secret, got.headers["X-VStore-Signature"], got.body)
        assert not receiver_verifies("whsec_wrong", got.headers["X-VStore-Signature"], got.body)
        assert not receiver_verifies(
            hook.secret, got.headers["X-VStore-Signature"], got.body + b" "
        )
        envelope = json.loads(got.body)
        assert (envelope["event"], envelope["data"]["number"]) == ("order.paid", order.number)
        assert ShopDelivery.objects.get(pk=pk).status == ShopDelivery.Status.SUCCEEDED
    # The library's own check agrees, and refuses a stale timestamp (a replay).
    header = signature_make(secret="s", timestamp=int(time.time()) - 3600, body=b"{}")
    assert not signature_verify(secret="s", header=header, body=b"{}")


def test_a_failed_delivery_is_retried_with_backoff_then_succeeds(shops):
    with receiver([500, 503, 200]) as rec, tenant_context(shops.a):
        shop_webhook_create(url=rec.url, events=["order.paid"])
        (pk,) = shop_event_emit(event="order.paid", payload={"number": "X1"})
        assert _attempt(pk) == retry_delay(1) == 60
        row = ShopDelivery.objects.get(pk=pk)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
        assert row.last_response == "answer 500"
        assert _attempt(pk) == retry_delay(2) == 120
        assert _attempt(pk) is None
        row.refresh_from_db()
        assert (row.status, row.attempts, row.last_status_code) == ("succeeded", 3, 200)
        assert ShopWebhook.objects.get().failures == 0
        # Delivered is delivered: a late duplicate task sends nothing.
        assert _attempt(pk) is None and rec.count == 3
    assert [retry_delay(n) for n in (1, 5, 20)] == [60, 960, 4 * 3600]


def test_a_subscription_that_keeps_failing_is_paused_and_its_owner_told(
    shops, settings, django_capture_on_commit_callbacks
):
    settings.VSTORE_WEBHOOK_PAUSE_AFTER = 3
    with receiver([500]) as rec, tenant_context(shops.a):
        get_user_model().objects.create_superuser("owner-hooks", "owner@example.com", "pw-12345678")
        hook = shop_webhook_create(url=rec.url, events=["order.paid"])
        ids = [shop_event_emit(event="order.paid", payload={"n": n})[0] for n in range(3)]
        with django_capture_on_commit_callbacks(execute=True):
            assert _attempt(ids[0]) and _attempt(ids[1])
            assert _attempt(ids[2]) is None
        hook.refresh_from_db()
        assert hook.is_active is False and "3 failed" in hook.pause_reason
        assert any("owner@example.com" in m.to for m in mail.outbox)
        # Paused: nothing more is sent until resumed; a resend by hand still goes.
        assert _attempt(ids[0]) is None and rec.count == 3
        rec.statuses = [200]
        assert _attempt(ids[0], manual=True) is None
        assert ShopDelivery.objects.get(pk=ids[0]).status == "succeeded"


def test_an_event_of_shop_a_never_reaches_shop_bs_subscriptions(shops):
    with receiver([200]) as rec:
        with tenant_context(shops.b):
            shop_webhook_create(url=rec.url, events=["order.paid"])
        with tenant_context(shops.a):
            assert shop_event_emit(event="order.paid", payload={"number": "A"}) == []
        with tenant_context(shops.b):
            assert ShopDelivery.objects.count() == 0


def test_order_paid_fulfilment_and_refund_events_are_recorded_where_they_happen(
    shops, django_capture_on_commit_callbacks
):
    supplier = supplier_make()
    product = product_make(supplier=supplier, skus=1)
    with receiver([200]) as rec:
        with tenant_context(shops.a):
            shop_webhook_create(
                url=rec.url, events=["order.shipped", "order.delivered", "refund.succeeded"]
            )
        supplier_webhook_create(
            supplier=supplier, url=rec.url, events=["supplier_order.created", "order.shipped"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            _p, orders, _refs = order_paid(
                tenant=shops.a, items=[Item(first_sku(product), 1, 8800)]
            )
            so = orders[0]
            supplier_order_ship(
                supplier_order=so,
                supplier=supplier,
                carrier="顺丰速运",
                tracking_number="SF5550001",
            )
        events = sorted(
            SupplierDelivery.objects.filter(webhook__supplier=supplier).values_list(
                "event", flat=True
            )
        )
        assert events == ["order.shipped", "supplier_order.created"]
        created = SupplierDelivery.objects.get(
            webhook__supplier=supplier, event="supplier_order.created"
        )
        assert created.payload["order_number"] == so.order_number
        with tenant_context(shops.a):
            shipped = ShopDelivery.objects.get(event="order.shipped")
            assert shipped.payload["tracking_number"] == "SF5550001"
            assert "supply_price_fen" not in json.dumps(shipped.payload)
        from storefront.hooks import order_refunded

        order_refunded(tenant_id=shops.a.pk, order_number=so.order_number, fully=False)
        with tenant_context(shops.a):
            assert ShopDelivery.objects.filter(event="refund.succeeded").count() == 1
        # The same shipment told twice (a retried task) is one delivery.
        with django_capture_on_commit_callbacks(execute=True):
            supplier_event_emit(
                supplier_id=supplier.pk,
                event="order.shipped",
                payload={},
                event_id=f"order.shipped:{so.pk}",
            )
        assert SupplierDelivery.objects.filter(event="order.shipped").count() == 1


def test_order_mark_paid_emits_order_paid(shops, shop_client):
    from tests.storefront_helpers import paid_order

    with tenant_context(shops.a):
        shop_webhook_create(url="http://127.0.0.1:9/hook", events=["order.paid"])
    _buyer, order, _line = paid_order(shops, shop_client, quantity=1)
    with tenant_context(shops.a):
        row = ShopDelivery.objects.get(event="order.paid", event_id=f"order.paid:{order.number}")
        assert row.payload["number"] == order.number
        assert "mobile" not in json.dumps(row.payload)  # no contact details in webhooks


def test_webhook_urls_are_https_and_public_in_production():
    for url in (
        "http://example.com/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://user:pw@example.com/",
        "ftp://example.com/",
    ):
        with pytest.raises(UrlRefused):
            url_check(url, allow_private=False)
    url_check("https://hooks.example.com/vstore", allow_private=False)
    with receiver([200]) as rec:
        outcome = webhook_post(
            rec.url.replace("http://", "https://"),
            body=b"{}",
            headers={},
            timeout=2,
            allow_private=False,
        )
        assert outcome.status is None and outcome.text.startswith("refused")
        assert rec.count == 0


def test_webhooks_are_created_and_resent_through_the_api(shops, shop_client, settings):
    client = shop_client("a.localhost")
    token = shop_token(shops.a, ["webhooks:write"])
    made = call(
        client,
        "POST",
        "/api/v1/webhooks",
        token,
        {"url": "http://127.0.0.1:9/x", "events": ["order.paid"]},
    )
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    listed = call(client, "GET", "/api/v1/webhooks", token).json()
    assert "secret" not in listed[0]
    bad = call(client, "POST", "/api/v1/webhooks", token, {"url": "http://x/", "events": ["nope"]})
    assert bad.status_code == 422
    settings.VSTORE_WEBHOOK_ALLOW_PRIVATE = False
    private = call(
        client,
        "POST",
        "/api/v1/webhooks",
        token,
        {"url": "https://10.1.2.3/", "events": ["order.paid"]},
    )
    assert private.status_code == 422 and "url" in private.json()["errors"]
    other = shop_token(shops.b, ["webhooks:write"])
    with tenant_context(shops.a):
        (pk,) = shop_event_emit(event="order.paid", payload={})
    assert (
        call(client, "POST", f"/api/v1/webhooks/deliveries/{pk}/resend", token).status_code == 202
    )
    b = shop_client("b.localhost")
    assert call(b, "POST", f"/api/v1/webhooks/deliveries/{pk}/resend", other).status_code == 404
