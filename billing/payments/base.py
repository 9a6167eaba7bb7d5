"""What every payment provider does, and what it hands back.

A provider turns a Payment into what the buyer is sent to, turns an incoming HTTP notification
into a verified `Notification` (or raises), says exactly what HTTP answer the provider expects,
and talks to the provider's API for queries and refunds. Only the provider's own module knows
its signature scheme and SDK; the services and views see this interface only.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.text import text_problem

if TYPE_CHECKING:
    from billing.models import Payment


class NotificationError(Exception):
    """A notification that must not be acted on; the view answers 400."""


class BadSignature(NotificationError):
    pass


class StaleNotification(NotificationError):
    pass


class MalformedNotification(NotificationError):
    pass


class ProviderError(Exception):
    """The provider's API refused a request or could not be reached; safe to retry.

    `status` and `code` are the provider's HTTP status and error code when it answered (0 and ""
    when it could not be reached), so a caller can tell "our merchant account may not use this
    product" (WeChat Pay's NO_AUTH) from "try again later" without parsing the message.
    """

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ChannelError(ValueError):
    """The buyer cannot pay through the channel asked for: the provider has no such channel, or
    what the channel needs (a WeChat openid, the buyer's IP address) is missing or malformed.

    Raised before anything is sent to the provider. It is the caller's mistake, not the
    provider's: retrying the same request fails the same way, so the checkout should say so
    (or offer another channel) instead of answering 500.
    """


class Event(enum.StrEnum):
    """What a notification says happened, in the providers' common terms."""

    PAID = "paid"  # the buyer paid: capture
    CLOSED = "closed"  # the trade was closed at the provider
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    PENDING = "pending"  # created, waiting for the buyer: nothing to do
    OTHER = "other"


@dataclass(frozen=True)
class IncomingRequest:
    """The parts of an HTTP request a provider verifies: header names are lower-case."""

    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class Notification:
    """A verified notification, in fen and in the provider's ids."""

    provider: str
    id: str
    event: Event
    out_trade_no: str
    amount: int | None  # fen: for a payment the amount paid, for a refund the amount refunded
    currency: str
    merchant_id: str
    app_id: str
    provider_trade_id: str
    occurred_at: datetime | None
    out_refund_no: str = ""
    provider_refund_id: str = ""
    # What the provider's own event name was (TRANSACTION.SUCCESS, TRADE_SUCCESS, …), for logs.
    raw_event: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        notification_check(self)


# Longest value each field may have: the columns that store them (billing.models), or for the
# ones only compared, a bound no real provider comes near.
_FIELD_MAX = {
    "id": 128,  # PaymentNotification.notification_id
    "out_trade_no": 64,  # PaymentNotification.out_trade_no
    "provider_trade_id": 64,  # Payment.provider_trade_id
    "out_refund_no": 64,  # Refund.out_refund_no
    "provider_refund_id": 64,  # Refund.provider_refund_id
    "currency": 3,
    "merchant_id": 64,
    "app_id": 64,
    "raw_event": 64,
}


def notification_check(n: Notification) -> None:
    """Raise MalformedNotification unless N can be recorded and compared as it is.

    A signature proves who sent a notification, not that its fields fit: an id with a NUL byte
    (PostgreSQL refuses it in text) or of 10 KB (longer than its column), a time without a zone
    (it cannot be compared with a deadline) or an amount beyond a bigint would otherwise fail
    deep in the handler with a 500 on every retry. Refused here, they get a clean 400.
    """
    for name, limit in _FIELD_MAX.items():
        value = getattr(n, name)
        if not isinstance(value, str):
            raise MalformedNotification(f"{name} is not text")
        if len(value) > limit:
            raise MalformedNotification(f"{name} is longer than {limit} characters")
        if text_problem(value):
            raise MalformedNotification(f"{name} holds control or line-break characters")
    if not n.id:
        raise MalformedNotification("the notification has no id")
    if n.amount is not None and (
        not isinstance(n.amount, int) or isinstance(n.amount, bool) or not 0 <= n.amount < 2**63
    ):
        raise MalformedNotification("amount is not a number of fen")
    if n.occurred_at is not None and n.occurred_at.utcoffset() is None:
        raise MalformedNotification("the time has no offset from UTC")


@dataclass(frozen=True)
class Acknowledgement:
    """The exact HTTP answer the provider expects."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain"


# Payment.channel's length: a longer value names no channel of any provider.
CHANNEL_MAX = 8


@dataclass(frozen=True)
class Payer:
    """What some channels must know about the buyer; the others ignore it."""

    # WeChat JSAPI: the buyer's openid under the merchant's app id (from the official
    # account's OAuth), because WeChat Pay opens the cashier in that user's WeChat only.
    openid: str = ""
    # WeChat H5: the buyer's public IP address, which WeChat Pay compares with the phone that
    # opens the pay page (a proxy's own address makes it refuse).
    client_ip: str = ""


@dataclass(frozen=True)
class Checkout:
    """Where the buyer is sent to pay.

    `kind` says what the page does with `url`:
    - "redirect": open it (a pay page, or WeChat Pay's H5 page);
    - "qrcode": show it as a QR code (WeChat Pay Native);
    - "jsapi": inside WeChat, hand `params` to WeixinJSBridge's getBrandWCPayRequest. `url` is
      then the signed `package` ("prepay_id=…"), which is what a later page view needs to sign
      fresh parameters (see WeChatPayProvider.jsapi_pay_params).
    """

    url: str
    kind: str = "redirect"
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TradeState:
    """What the provider says about a payment when asked."""

    out_trade_no: str
    paid: bool
    status: str  # the provider's own word (SUCCESS, TRADE_SUCCESS, paid, …)
    amount: int | None
    provider_trade_id: str
    paid_at: datetime | None = None


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    succeeded: bool  # False: accepted and still processing (a notification will follow)


class PaymentProvider(abc.ABC):
    name: str
    # The merchant and app we accept notifications for (an empty app_id is not checked).
    merchant_id: str
    app_id: str = ""
    # The `channel` values create_payment takes besides "" (the provider's default).
    channels: tuple[str, ...] = ()

    def channel_check(self, channel: str, payer: Payer | None = None) -> None:
        """Raise ChannelError unless create_payment can place a payment through CHANNEL for
        PAYER. Asks nothing of the provider: callers check before they write anything."""
        if not isinstance(channel, str) or len(channel) > CHANNEL_MAX or text_problem(channel):
            raise ChannelError("not a payment channel")
        if channel not in ("", *self.channels):
            raise ChannelError(f"{self.name} has no {channel!r} channel")

    @abc.abstractmethod
    def create_payment(
        self,
        payment: Payment,
        *,
        description: str,
        return_url: str,
        channel: str = "",
        payer: Payer | None = None,
    ) -> Checkout:
        """Register the payment with the provider; where to send the buyer.

        `channel` picks one of the provider's ways to pay ("" is its default, the one callers
        that predate channels get); see billing.payments.channels for which to offer. Raises
        ChannelError for a channel the provider lacks or a `payer` the channel cannot use.
        """

    @abc.abstractmethod
    def parse_notification(self, request: IncomingRequest) -> Notification:
        """Verify and decode; raise BadSignature, StaleNotification or MalformedNotification."""

    @abc.abstractmethod
    def acknowledgement(self, *, accepted: bool) -> Acknowledgement:
        """The answer for a notification we took (or refused: the provider will retry)."""

    @abc.abstractmethod
    def query(self, payment: Payment) -> TradeState:
        """Ask the provider what became of the payment."""

    @abc.abstractmethod
    def refund(
        self, payment: Payment, *, amount: int, out_refund_no: str, reason: str = ""
    ) -> RefundResult:
        """Refund `amount` fen. `out_refund_no` is stable across retries: the provider dedups."""


def notify_url(provider_name: str) -> str:
    from django.conf import settings

    return f"{settings.VSTORE_PAYMENT_NOTIFY_BASE_URL}/pay/notify/{provider_name}/"
