"""Payment endpoints on the platform site: provider notifications and the sandbox pay page."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.money import yuan_plain

from .models import SandboxTrade
from .payments.base import IncomingRequest, NotificationError, ProviderError
from .payments.registry import UnknownProvider, provider_get, sandbox_enabled
from .services import PaymentError, payment_notification_handle, sandbox_trade_pay

logger = logging.getLogger(__name__)

# Kept with each notification for the audit trail; the rest (cookies, proxies) is noise.
_KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-serial",
    "wechatpay-signature",
    "wechatpay-signature-type",
    "x-sandbox-timestamp",
    "x-sandbox-nonce",
    "x-sandbox-signature",
)


def _storable(text: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL; the audit copy shows it as U+FFFD instead.
    return text.replace("\x00", "\ufffd")


@csrf_exempt
@require_POST
def payment_notify(request: HttpRequest, provider_name: str) -> HttpResponse:
    try:
        provider = provider_get(provider_name)
    except UnknownProvider:
        raise Http404("no such payment provider") from None
    headers = {k.lower(): v for k, v in request.headers.items()}
    incoming = IncomingRequest(headers=headers, body=request.body)
    try:
        notification = provider.parse_notification(incoming)
    except NotificationError as exc:
        logger.warning("rejected %s notification: %s: %s", provider.name, type(exc).__name__, exc)
        return HttpResponse(type(exc).__name__, status=400, content_type="text/plain")
    try:
        record = payment_notification_handle(
            provider=provider,
            notification=notification,
            raw_body=_storable(request.body.decode("utf-8", errors="replace")),
            headers={k: _storable(v) for k, v in headers.items() if k in _KEPT_HEADERS},
        )
    except ProviderError as exc:
        # Nothing was recorded; the provider retries and we try again then.
        logger.error("%s notification %s not handled: %s", provider.name, notification.id, exc)
        ack = provider.acknowledgement(accepted=False)
        return HttpResponse(ack.body, status=max(ack.status, 500), content_type=ack.content_type)
    ack = provider.acknowledgement(accepted=record.accepted)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


@require_http_methods(["GET", "POST"])
def sandbox_pay(request: HttpRequest, out_trade_no: str) -> HttpResponse:
    if not sandbox_enabled():
        # Switched off (production): its trades, even old ones, can no longer be "paid".
        raise Http404("the sandbox payment provider is off")
    trade = get_object_or_404(SandboxTrade, out_trade_no=out_trade_no)
    if request.method == "POST":
        if request.POST.get("action") == "pay":
            try:
                trade = sandbox_trade_pay(trade=trade)
            except PaymentError as exc:
                messages.error(request, str(exc))
                return redirect("billing:sandbox-pay", out_trade_no)
        elif trade.return_url:
            return redirect(trade.return_url)
        else:
            messages.info(request, _("Payment cancelled."))
            return redirect("billing:sandbox-pay", out_trade_no)
        if trade.return_url:
            return redirect(trade.return_url)
        return redirect("billing:sandbox-pay", out_trade_no)
    return render(
        request,
        "billing/sandbox_pay.html",
        {"trade": trade, "yuan": yuan_plain(trade.amount)},
    )
