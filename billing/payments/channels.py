"""Which ways to pay a buyer's browser can use, best first.

A pure function of the User-Agent (and whether we know the buyer's WeChat openid): the checkout
offers these, intersected with the providers that are configured (`registry.providers()`), and
passes the chosen one's `channel` to `payment_create` → `PaymentProvider.create_payment`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaymentChannel:
    provider: str  # a registry name: "wechatpay", "alipay"
    channel: str  # the provider's `channel` for create_payment

    @property
    def key(self) -> str:
        """One word for forms and URLs: "wechatpay-jsapi"."""
        return f"{self.provider}-{self.channel}"


WECHAT_JSAPI = PaymentChannel("wechatpay", "jsapi")
WECHAT_H5 = PaymentChannel("wechatpay", "h5")
WECHAT_NATIVE = PaymentChannel("wechatpay", "native")
ALIPAY_WAP = PaymentChannel("alipay", "wap")
ALIPAY_PAGE = PaymentChannel("alipay", "page")

# Words phone browsers put in their User-Agent. iPadOS sends a desktop Mac one, so an iPad is
# offered the desktop channels: a QR code to scan with the phone, which works.
_PHONE_MARKERS = ("mobile", "android", "iphone", "ipod", "openharmony", "harmonyos")


def in_wechat(user_agent: str) -> bool:
    """WeChat's own browser, on a phone or on the desktop client (both say MicroMessenger)."""
    return "micromessenger" in user_agent.lower()


def on_phone(user_agent: str) -> bool:
    lowered = user_agent.lower()
    return any(marker in lowered for marker in _PHONE_MARKERS)


def payment_channels_for(user_agent: str, *, wechat_openid: str | None) -> list[PaymentChannel]:
    """The channels to offer in this browser, the one to preselect first."""
    if in_wechat(user_agent):
        # Alipay is not offered inside WeChat: WeChat blocks links to Alipay's pages (the buyer
        # gets "open in a browser" instead of a cashier), so the button could only fail.
        # H5 is not offered either: WeChat Pay refuses H5 orders opened inside WeChat itself.
        if wechat_openid:
            return [WECHAT_JSAPI]
        # JSAPI needs the openid, from the official account's OAuth (snsapi_base is silent, so
        # the checkout should get it before this step). Without it the QR code is the one
        # WeChat way left that needs neither the openid nor another browser.
        return [WECHAT_NATIVE]
    if on_phone(user_agent):
        # H5 opens the WeChat app from the browser; Alipay's WAP page opens the Alipay app.
        return [WECHAT_H5, ALIPAY_WAP]
    # A desktop cannot open either app: a QR code to scan, and Alipay's desktop cashier.
    return [WECHAT_NATIVE, ALIPAY_PAGE]
