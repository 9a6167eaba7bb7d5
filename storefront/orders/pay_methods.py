"""The ways to pay a buyer is offered at checkout: her browser's channels, configured providers.

`billing.payments.channels.payment_channels_for` says which channels her browser can use (WeChat
JSAPI inside WeChat with her openid, H5 in other phone browsers, a QR code on a desktop); this
keeps those whose provider is configured, then the sandbox where it is on (development and
tests, as before). The first is preselected.

In development (DEBUG) without WeChat Pay, a buyer inside WeChat (or a session that acts as
WeChat) gets a stand-in of JSAPI instead: the sandbox provider through its "jsapi" channel, paid
on the page by static/storefront/wx-standin.js, so the in-WeChat path can be tried in any
browser. It is never offered with DEBUG off.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

from billing.payments.base import Payer
from billing.payments.channels import payment_channels_for
from billing.payments.registry import providers
from core.clients import client_address

from .wx_identity import acts_as_wechat, session_openid

JSAPI = "jsapi"
# A User-Agent longer than this is not a browser's; only its start is read.
UA_MAX = 1000


@dataclass(frozen=True)
class PayMethod:
    provider: str  # a registry name
    channel: str  # the provider's channel ("" for its default)

    @property
    def value(self) -> str:
        """The form's word for it: "wechatpay-jsapi", or "sandbox" for a default channel."""
        return f"{self.provider}-{self.channel}" if self.channel else self.provider

    @property
    def standin(self) -> bool:
        """The development stand-in of WeChat JSAPI (the sandbox, paid on the page)."""
        return self.provider == "sandbox" and self.channel == JSAPI

    @property
    def in_wechat_pay(self) -> bool:
        """Paid on this page through WeChat's bridge (JSAPI, or its stand-in)."""
        return self.channel == JSAPI

    @property
    def label(self) -> str:
        if self.standin:
            return _("WeChat Pay (development stand-in)")
        if self.provider == "wechatpay":
            return _("WeChat Pay (scan a QR code)") if self.channel == "native" else _("WeChat Pay")
        if self.provider == "alipay":
            return _("Alipay")
        return _("Sandbox")


def user_agent(request: HttpRequest) -> str:
    return str(request.META.get("HTTP_USER_AGENT") or "")[:UA_MAX]


def standin_allowed() -> bool:
    """Development only, and only while WeChat Pay itself is not configured."""
    configured = providers()
    return bool(settings.DEBUG) and "wechatpay" not in configured and "sandbox" in configured


def pay_methods_for(request: HttpRequest) -> list[PayMethod]:
    """What this buyer's browser is offered, the one to preselect first."""
    configured = providers()
    ua = user_agent(request)
    openid = session_openid(request)
    methods: list[PayMethod] = []

    def add(method: PayMethod) -> None:
        if method not in methods:
            methods.append(method)

    if standin_allowed() and acts_as_wechat(request) and openid:
        add(PayMethod("sandbox", JSAPI))
    for offered in payment_channels_for(ua, wechat_openid=openid):
        backend = configured.get(offered.provider)
        if backend is None:
            continue
        # A channel the provider does not have here (Alipay's desktop "page"): its default.
        channel = offered.channel if offered.channel in backend.channels else ""
        add(PayMethod(offered.provider, channel))
    if "sandbox" in configured:
        add(PayMethod("sandbox", ""))
    return methods


def pay_method_pick(methods: list[PayMethod], value: object) -> PayMethod | None:
    """The method the form asked for: the first when it asked none, None for one not offered
    (forged, or from another browser's page)."""
    if not methods:
        return None
    if value is None or value == "":
        return methods[0]
    return next((m for m in methods if m.value == value), None)


def payer_for(request: HttpRequest) -> Payer:
    """What the channels need to know of this buyer: her WeChat openid, her address (the
    trusted-proxy rule of core.clients)."""
    return Payer(openid=session_openid(request) or "", client_ip=client_address(request))


def wechat_page(request: HttpRequest) -> bool:
    """Inside WeChat (the address button, the bridge), or a development session acting as it."""
    return acts_as_wechat(request)
