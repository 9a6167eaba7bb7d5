"""Webhooks on the real Celery worker: committed rows, sent after the commit, delivered in the
shop's schema to a receiver on loopback."""

from __future__ import annotations

import json

from django.db import transaction
from django_tenants.utils import tenant_context

from storefront.models import Order
from storefront.shopapi.events import shop_event_emit
from storefront.shopapi.models import ShopWebhook
from storefront.shopapi.services import shop_webhook_create
from tests.api_helpers import receiver, shop_order_make


def test_the_celery_worker_delivers_in_the_shops_schema(shops, celery_worker, committed_db):
    order = None
    with receiver([200]) as rec:
        try:
            with tenant_context(shops.a):
                shop_webhook_create(url=rec.url, events=["order.paid"])
                order = shop_order_make(shops.a)
                with transaction.atomic():
                    shop_event_emit(event="order.paid", payload={"number": order.number})
            got = rec.wait(timeout=120)  # the worker may still be starting
            assert json.loads(got.body)["data"]["number"] == order.number
            assert got.headers["X-VStore-Signature"].startswith("t=")
        finally:
            with tenant_context(shops.a):
                ShopWebhook.objects.all().delete()
                if order is not None:
                    Order.objects.filter(number=order.number).delete()
                    order.fan.delete()
