"""Sandbox payments with committed data: concurrent deliveries, and the whole path through the
hosted pay page, the real Celery worker and an HTTP server (no test transaction around them)."""

from __future__ import annotations

import json
import threading

from django.db import connection
from django.test import Client

from billing.models import Payment, PaymentNotification, SandboxTrade
from billing.payments import sandbox
from billing.services import sandbox_trade_pay

from .payments_helpers import NOTIFY, new_payment, platform

HOOK_CALLS: list[tuple[str, str, str]] = []
HOOK_DONE = threading.Event()


def hook_record(payment: Payment) -> None:
    HOOK_CALLS.append((payment.tenant.schema_name, payment.order_number, payment.status))
    HOOK_DONE.set()


def test_two_identical_notifications_at_once_capture_once(shops, committed_db):
    payment = new_payment(shops, order="A-race")
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    body = sandbox.notification_body(
        trade, event="paid", merchant_id="vstore-sandbox", notification_id="SBN-race"
    )
    headers = sandbox.notification_sign(body, key=sandbox.sandbox_private_key())
    start = threading.Barrier(2)
    answers: list[int] = []

    def deliver() -> None:
        try:
            client = platform()
            start.wait(timeout=30)
            answer = client.post(
                NOTIFY, data=body, content_type="application/json", headers=headers
            )
            answers.append(answer.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert answers == [200, 200]
    assert PaymentNotification.objects.filter(notification_id="SBN-race").count() == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED


def test_paying_on_the_sandbox_page_captures_through_the_celery_worker(
    shops, settings, platform_server, celery_worker
):
    settings.VSTORE_PAYMENT_NOTIFY_BASE_URL = platform_server
    settings.VSTORE_PAYMENT_CAPTURED_HOOK = "tests.test_payments_sandbox_live.hook_record"
    HOOK_CALLS.clear()
    HOOK_DONE.clear()
    payment = new_payment(shops, order="A-e2e")
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    assert trade.notify_url == f"{platform_server}/pay/notify/sandbox/"

    browser = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    page = browser.get(f"/pay/sandbox/{payment.out_trade_no}/")
    token = page.cookies["csrftoken"].value
    paid = browser.post(
        f"/pay/sandbox/{payment.out_trade_no}/",
        {"action": "pay", "csrfmiddlewaretoken": token},
    )
    assert paid.status_code == 302

    # The worker signs and POSTs the notification to the server thread, which runs the hook.
    assert HOOK_DONE.wait(timeout=120), "the worker's notification never captured the payment"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert [(shops.a.schema_name, "A-e2e", "captured")] == HOOK_CALLS
    record = PaymentNotification.objects.get(payment=payment)
    assert json.loads(record.raw_body)["out_trade_no"] == payment.out_trade_no
    assert sandbox_trade_pay(trade=trade).status == SandboxTrade.Status.PAID  # paying again: no-op
