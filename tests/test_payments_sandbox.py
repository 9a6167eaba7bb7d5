"""The sandbox provider and the notification handling every provider shares.

Notifications here are signed with the sandbox's real RSA key and go through the real notify
view; the end-to-end test pays on the hosted page and lets the real Celery worker deliver the
notification over HTTP.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Payment, PaymentNotification, Refund, SandboxTrade
from billing.payments import sandbox, signing
from billing.payments.base import Event, IncomingRequest, StaleNotification
from billing.payments.registry import provider_get
from billing.services import (
    PaymentError,
    RefundRefused,
    payment_create,
    payment_expire,
    payment_notification_handle,
    payment_reconcile,
    payment_refund,
    payments_reconcile_due,
    sandbox_trade_pay,
)

from .payments_helpers import NOTIFY, new_payment, platform, post_notification

pytestmark = pytest.mark.django_db


def test_creating_a_sandbox_payment_opens_a_hosted_pay_page(shops):
    payment = new_payment(shops)

    assert payment.status == Payment.Status.CREATED
    assert payment.checkout_url.endswith(f"/pay/sandbox/{payment.out_trade_no}/")
    page = platform().get(f"/pay/sandbox/{payment.out_trade_no}/")
    assert page.status_code == 200
    assert "¥88.00" in page.text
    assert 'value="pay"' in page.text and 'value="cancel"' in page.text
    assert 'name="viewport"' in page.text


def test_a_good_notification_captures_the_payment_once(shops):
    payment = new_payment(shops)

    response = post_notification(payment)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment.provider_trade_id.startswith("SBX")
    assert payment.captured_at is not None
    record = PaymentNotification.objects.get(payment=payment)
    assert record.outcome == PaymentNotification.Outcome.CAPTURED
    assert "x-sandbox-signature" in record.headers


def test_a_bad_signature_gets_400_and_changes_nothing(shops):
    payment = new_payment(shops)
    stranger = signing.private_key_generate()

    forged = post_notification(payment, key=stranger)
    tampered = post_notification(payment, tamper=True)

    assert forged.status_code == 400
    assert tampered.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert not PaymentNotification.objects.exists()


def test_a_notification_without_signature_headers_gets_400(shops):
    payment = new_payment(shops)

    response = platform().post(NOTIFY, data=b'{"id":"x"}', content_type="application/json")

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


def test_a_stale_notification_is_refused(shops):
    payment = new_payment(shops)

    response = post_notification(payment, timestamp=int(time.time()) - 301)

    assert response.status_code == 400
    assert response.text == "StaleNotification"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    with pytest.raises(StaleNotification):
        body = b"{}"
        headers = sandbox.notification_sign(
            body, key=sandbox.sandbox_private_key(), timestamp=int(time.time()) + 600
        )
        provider_get("sandbox").parse_notification(
            IncomingRequest(headers={k.lower(): v for k, v in headers.items()}, body=body)
        )


def test_a_wrong_amount_is_refused_logged_and_not_captured(shops, caplog):
    payment = new_payment(shops)

    response = post_notification(payment, amount=1)

    assert response.status_code == 400
    assert response.json() == {"status": "refused"}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    record = PaymentNotification.objects.get()
    assert record.outcome == PaymentNotification.Outcome.REFUSED_AMOUNT
    assert any("REFUSED" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_a_wrong_merchant_is_refused(shops, caplog):
    payment = new_payment(shops)

    response = post_notification(payment, merchant_id="someone-else")

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert PaymentNotification.objects.get().outcome == "refused_merchant"
    assert any("someone-else" in r.getMessage() for r in caplog.records)


def test_the_same_notification_ten_times_captures_once(shops, django_capture_on_commit_callbacks):
    payment = new_payment(shops)

    with django_capture_on_commit_callbacks() as hooks:
        answers = [post_notification(payment, notification_id="SBN-same") for _ in range(10)]

    assert [a.status_code for a in answers] == [200] * 10
    assert all(a.json() == {"status": "ok"} for a in answers)
    assert PaymentNotification.objects.count() == 1
    assert len(hooks) == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED


def test_a_refused_notification_repeated_is_refused_the_same_way(shops):
    payment = new_payment(shops)

    answers = [post_notification(payment, amount=1, notification_id="SBN-bad") for _ in range(3)]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert PaymentNotification.objects.count() == 1


def test_closed_and_refund_events_before_paid_change_nothing_then_paid_captures(shops):
    payment = new_payment(shops)

    closed = post_notification(payment, event="closed")
    refund = post_notification(
        payment, event="refund_succeeded", out_refund_no="RFNOSUCH", refund_id="SBR1"
    )
    payment.refresh_from_db()
    assert closed.status_code == refund.status_code == 200
    assert payment.status == Payment.Status.CREATED

    paid = post_notification(payment)

    assert paid.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    outcomes = list(PaymentNotification.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["ignored", "ignored", "captured"]


def test_an_older_paid_notification_after_capture_and_refund_changes_nothing(shops):
    payment = new_payment(shops)
    post_notification(payment)
    payment.refresh_from_db()
    captured_at = payment.captured_at
    sandbox_trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    sandbox_trade.status = SandboxTrade.Status.PAID
    sandbox_trade.save()
    payment_refund(payment=payment, amount=payment.amount, idempotency_key="return-1")

    late = post_notification(payment, notification_id="SBN-older-retry")

    assert late.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert payment.captured_at == captured_at
    assert PaymentNotification.objects.get(notification_id="SBN-older-retry").outcome == (
        "already_captured"
    )


def test_a_notification_for_an_expired_payment_refunds_instead_of_capturing(shops):
    payment = new_payment(shops)
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    trade.status = SandboxTrade.Status.PAID  # the buyer paid just as the order expired
    trade.save()
    payment = payment_expire(payment=payment)
    assert payment.status == Payment.Status.EXPIRED

    first = post_notification(payment)
    second = post_notification(payment)  # a second "paid" event for the same trade

    assert first.status_code == second.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED
    assert payment.captured_at is None
    assert payment.refunded_amount == payment.amount
    refund = Refund.objects.get(payment=payment)
    assert refund.amount == payment.amount
    assert refund.status == Refund.Status.SUCCEEDED
    trade.refresh_from_db()
    assert trade.refunded_amount == payment.amount
    outcomes = set(PaymentNotification.objects.values_list("outcome", flat=True))
    assert outcomes == {"refunded_expired"}


def test_a_payment_made_after_its_deadline_is_refunded_even_if_not_yet_expired(shops):
    payment = new_payment(shops)
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    trade.status = SandboxTrade.Status.PAID
    trade.save()
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = post_notification(payment)

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED
    assert Refund.objects.filter(payment=payment, amount=payment.amount).count() == 1


def test_expire_leaves_a_captured_payment_captured(shops):
    payment = new_payment(shops)
    post_notification(payment)

    payment = payment_expire(payment=payment)

    assert payment.status == Payment.Status.CAPTURED


def test_refunds_are_idempotent_and_bounded(shops):
    payment = new_payment(shops, amount=10000)
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    trade.status = SandboxTrade.Status.PAID
    trade.save()
    post_notification(payment)
    payment.refresh_from_db()

    first = payment_refund(payment=payment, amount=3000, idempotency_key="ret-1")
    again = payment_refund(payment=payment, amount=3000, idempotency_key="ret-1")

    assert again.pk == first.pk
    assert first.status == Refund.Status.SUCCEEDED
    trade.refresh_from_db()
    assert trade.refunded_amount == 3000  # the provider was asked once
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    with pytest.raises(RefundRefused, match="exceeds the 7000 fen"):
        payment_refund(payment=payment, amount=7001, idempotency_key="ret-2")
    with pytest.raises(RefundRefused, match="another refund"):
        payment_refund(payment=payment, amount=10, idempotency_key="ret-1")
    payment_refund(payment=payment, amount=7000, idempotency_key="ret-2")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert payment.refunded_amount == 10000


def test_an_uncaptured_payment_cannot_be_refunded(shops):
    payment = new_payment(shops)

    with pytest.raises(RefundRefused):
        payment_refund(payment=payment, amount=1, idempotency_key="nope")


def test_payment_create_refuses_bad_amounts_and_deadlines(shops):
    with pytest.raises(PaymentError):
        new_payment(shops, amount=0)
    with pytest.raises(PaymentError):
        new_payment(shops, minutes=-1)
    with pytest.raises(PaymentError):
        payment_create(
            tenant=shops.a,
            order_number="A1",
            amount=1.5,  # type: ignore[arg-type]
            provider="sandbox",
            expires_at=timezone.now() + timedelta(minutes=5),
        )


def test_the_database_refuses_a_refund_above_the_amount(shops):
    from django.db import IntegrityError, transaction

    payment = new_payment(shops, amount=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=101)


def test_the_post_capture_hook_runs_once_after_commit(
    shops, settings, django_capture_on_commit_callbacks
):
    settings.VSTORE_PAYMENT_CAPTURED_HOOK = "tests.test_payments_sandbox.hook_record"
    HOOK_CALLS.clear()
    payment = new_payment(shops)

    with django_capture_on_commit_callbacks(execute=True):
        post_notification(payment, notification_id="SBN-hook")
        post_notification(payment, notification_id="SBN-hook")
        post_notification(payment, notification_id="SBN-hook-2")

    assert [(shops.a.schema_name, "A1001", Payment.Status.CAPTURED)] == HOOK_CALLS


HOOK_CALLS: list[tuple[str, str, str]] = []
HOOK_DONE = threading.Event()


def hook_record(payment: Payment) -> None:
    HOOK_CALLS.append((payment.tenant.schema_name, payment.order_number, payment.status))
    HOOK_DONE.set()


def test_the_notification_handler_is_a_service_the_view_only_wraps(shops):
    payment = new_payment(shops)
    provider = provider_get("sandbox")
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    body = sandbox.notification_body(trade, event="paid", merchant_id=provider.merchant_id)
    headers = sandbox.notification_sign(body, key=sandbox.sandbox_private_key())
    notification = provider.parse_notification(
        IncomingRequest(headers={k.lower(): v for k, v in headers.items()}, body=body)
    )

    record = payment_notification_handle(provider=provider, notification=notification)

    assert notification.event is Event.PAID
    assert notification.amount == payment.amount
    assert record.accepted and record.outcome == "captured"


def test_reconcile_captures_a_paid_payment_whose_notification_was_lost(shops):
    payment = new_payment(shops)
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    trade.status, trade.paid_at = SandboxTrade.Status.PAID, timezone.now()
    trade.save()

    record = payment_reconcile(payment=payment)
    payment.refresh_from_db()
    again = payment_reconcile(payment=payment)
    late_notification = post_notification(payment)

    assert record is not None and record.outcome == "captured"
    assert record.notification_id == f"query:{trade.trade_id}"
    assert again is None
    assert late_notification.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment.captured_at == trade.paid_at
    assert list(PaymentNotification.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "captured",
        "already_captured",
    ]


def test_reconcile_does_nothing_while_the_buyer_has_not_paid(shops):
    payment = new_payment(shops)

    assert payment_reconcile(payment=payment) is None
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


def test_staff_see_payments_read_only_in_the_admin(shops):
    from django.contrib.auth import get_user_model

    payment = new_payment(shops)
    post_notification(payment)
    staff = get_user_model().objects.create_superuser("paystaff", "p@example.com", "pw-123456")
    client = platform()
    client.force_login(staff)

    listing = client.get("/admin/billing/payment/")
    detail = client.get(f"/admin/billing/payment/{payment.pk}/change/")
    notifications = client.get("/admin/billing/paymentnotification/")

    assert listing.status_code == detail.status_code == notifications.status_code == 200
    assert payment.out_trade_no in listing.text
    assert 'name="_save"' not in detail.text


# The state machine, one row per (state, event): what a verified notification does.
TRANSITIONS = [
    ("created", Event.PAID, "captured", "captured"),
    ("created", Event.CLOSED, "created", "ignored"),
    ("created", Event.PENDING, "created", "ignored"),
    ("created", Event.REFUND_SUCCEEDED, "created", "ignored"),
    ("captured", Event.PAID, "captured", "already_captured"),
    ("captured", Event.CLOSED, "captured", "ignored"),
    ("captured", Event.REFUND_FAILED, "captured", "ignored"),
    ("partially_refunded", Event.PAID, "partially_refunded", "already_captured"),
    ("refunded", Event.PAID, "refunded", "already_captured"),
    ("refunded", Event.CLOSED, "refunded", "ignored"),
    ("expired", Event.PAID, "expired", "refunded_expired"),
    ("expired", Event.CLOSED, "expired", "ignored"),
    ("expired", Event.REFUND_SUCCEEDED, "expired", "ignored"),
]


@pytest.mark.parametrize(("state", "event", "after", "outcome"), TRANSITIONS)
def test_state_machine(shops, state, event, after, outcome):
    from billing.payments.base import Notification

    payment = new_payment(shops)
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    trade.status = SandboxTrade.Status.PAID
    trade.save()
    refunded = {"partially_refunded": 100, "refunded": payment.amount}.get(state, 0)
    Payment.objects.filter(pk=payment.pk).update(status=state, refunded_amount=refunded)
    provider = provider_get("sandbox")
    notification = Notification(
        provider="sandbox",
        id=f"SBN-{state}-{event}",
        event=event,
        out_trade_no=payment.out_trade_no,
        amount=payment.amount,
        currency="CNY",
        merchant_id=provider.merchant_id,
        app_id="",
        provider_trade_id=trade.trade_id,
        occurred_at=timezone.now(),
        out_refund_no="RFNOTOURS" if event in (Event.REFUND_SUCCEEDED, Event.REFUND_FAILED) else "",
    )

    record = payment_notification_handle(provider=provider, notification=notification)

    payment.refresh_from_db()
    assert (payment.status, record.outcome) == (after, outcome)
    assert (payment.captured_at is not None) == (outcome == "captured")
    assert Refund.objects.filter(payment=payment).exists() == (outcome == "refunded_expired")


def test_shop_hosts_do_not_answer_payment_notifications(shops, shop_client):
    payment = new_payment(shops)

    response = post_notification(payment, client=shop_client("a.localhost"))

    assert response.status_code == 404
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


def test_unknown_or_unconfigured_providers_get_404(shops):
    for path in ("/pay/notify/paypal/", "/pay/notify/wechatpay/"):
        response = platform().post(path, data=b"{}", content_type="application/json")
        assert response.status_code == 404


def test_cancel_returns_to_the_shop_and_an_expired_trade_cannot_be_paid(shops):
    payment = payment_create(
        tenant=shops.a,
        order_number="A-cancel",
        amount=500,
        provider="sandbox",
        expires_at=timezone.now() + timedelta(minutes=5),
        return_url="http://a.localhost/orders/A-cancel/",
    )
    url = f"/pay/sandbox/{payment.out_trade_no}/"

    cancelled = platform().post(url, {"action": "cancel"})
    SandboxTrade.objects.filter(out_trade_no=payment.out_trade_no).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    late = platform().post(url, {"action": "pay"}, follow=True)

    assert cancelled.status_code == 302
    assert cancelled["Location"] == "http://a.localhost/orders/A-cancel/"
    assert late.status_code == 200
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    assert trade.status == SandboxTrade.Status.WAITING
    with pytest.raises(PaymentError):
        sandbox_trade_pay(trade=trade)


def test_the_reconcile_sweep_picks_open_payments_past_the_notification_window(shops):
    fresh = new_payment(shops, order="A-fresh")
    waiting = new_payment(shops, order="A-waiting")
    paid = new_payment(shops, order="A-paid")
    post_notification(paid)
    long_gone = new_payment(shops, order="A-gone")
    later = timezone.now() + timedelta(minutes=3)
    Payment.objects.filter(pk=fresh.pk).update(created_at=later)
    Payment.objects.filter(pk=long_gone.pk).update(expires_at=later - timedelta(days=2))

    due = payments_reconcile_due(now=later)

    assert due == [waiting.pk]


# --- issue 11: notifications that must never give a 500 ------------------------------------------


@pytest.mark.parametrize("notification_id", ["SBN\x00x", "SBN" + "x" * 10_240, "SBN\u202ex"])
def test_a_signed_notification_with_an_unstorable_id_gets_a_clean_400(shops, notification_id):
    payment = new_payment(shops)

    response = post_notification(payment, notification_id=notification_id)

    assert response.status_code == 400
    assert response.text == "MalformedNotification"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert not PaymentNotification.objects.exists()


def test_a_signed_notification_with_a_time_without_offset_gets_a_clean_400(shops):
    payment = new_payment(shops)
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    body = sandbox.notification_body(trade, event="paid", merchant_id="vstore-sandbox")
    body = body.replace(b'"occurred_at":"', b'"occurred_at":"2026-01-01T00:00:00","x":"')
    headers = sandbox.notification_sign(body, key=sandbox.sandbox_private_key())

    response = platform().post(NOTIFY, data=body, content_type="application/json", headers=headers)

    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED


def test_a_late_payment_the_provider_cannot_refund_yet_is_acknowledged_and_kept(shops):
    payment = payment_expire(payment=new_payment(shops))
    # The sandbox has not booked the trade as paid, so its refund API refuses for now.

    response = post_notification(payment)
    again = post_notification(payment)

    assert response.status_code == again.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.EXPIRED and payment.captured_at is None
    refund = Refund.objects.get(payment=payment)
    assert refund.status == Refund.Status.PENDING and refund.last_error
    assert refund.amount == payment.refunded_amount == payment.amount

    from billing.services import refund_resubmit, refunds_pending_due

    assert refund.pk in refunds_pending_due(now=timezone.now() + timedelta(minutes=6))

    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    trade.status = SandboxTrade.Status.PAID
    trade.save()
    assert refund_resubmit(refund_id=refund.pk).status == Refund.Status.SUCCEEDED
    assert refund_resubmit(refund_id=refund.pk).status == Refund.Status.SUCCEEDED  # once
    trade.refresh_from_db()
    assert trade.refunded_amount == payment.amount


def test_a_notification_retried_after_the_deadline_tells_when_the_buyer_paid(shops):
    payment = new_payment(shops)
    trade = SandboxTrade.objects.get(out_trade_no=payment.out_trade_no)
    trade.status, trade.paid_at = SandboxTrade.Status.PAID, timezone.now()
    trade.save()
    # The worker was down; its retry reaches us after the payment's deadline.
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now())

    response = post_notification(payment)

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment.captured_at == trade.paid_at
