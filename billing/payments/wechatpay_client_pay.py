"""WeChat Pay v3 channels other than Native: JSAPI (inside WeChat) and H5 (phone browsers).

Pure pieces the provider in `wechatpay` puts together; nothing here talks to the network.

JSAPI (公众号支付): POST /v3/pay/transactions/jsapi with the buyer's openid answers a
`prepay_id`. The page then calls WeixinJSBridge.invoke("getBrandWCPayRequest", {appId,
timeStamp, nonceStr, package: "prepay_id=…", signType: "RSA", paySign}), where paySign is the
base64 SHA256withRSA signature, made with the merchant's API private key, over four lines each
ending in "\\n": appId, timeStamp, nonceStr, package. signType is not signed.

H5 (H5支付): POST /v3/pay/transactions/h5 with scene_info {payer_client_ip, h5_info {type:
"Wap"}} answers an `h5_url` (valid for five minutes) that opens the WeChat app's cashier. To come
back to our page afterwards, WeChat Pay documents appending `&redirect_url=` and the URL-encoded
return address; that address must be on the H5 domain registered with WeChat Pay.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from urllib.parse import quote

from core.text import text_problem

from . import signing
from .base import ChannelError, Payer

NATIVE = "native"
JSAPI = "jsapi"
H5 = "h5"
CHANNELS = (NATIVE, JSAPI, H5)
PATHS = {
    NATIVE: "/v3/pay/transactions/native",
    JSAPI: "/v3/pay/transactions/jsapi",
    H5: "/v3/pay/transactions/h5",
}
# The answer's field that carries what the buyer needs, per channel.
ANSWER_FIELDS = {NATIVE: "code_url", JSAPI: "prepay_id", H5: "h5_url"}
# WeChat Pay's documented bounds for payer.openid (string[1,128]).
OPENID_MAX = 128
PACKAGE_PREFIX = "prepay_id="


def channel_payload(channel: str, payer: Payer | None) -> dict[str, object]:
    """The fields `channel` adds to the common order body; ChannelError if it cannot be placed.

    Checked here, before any request: a missing openid would otherwise come back from WeChat Pay
    as a PARAM_ERROR that reads like our fault at the API, and a 500 at the checkout.
    """
    payer = payer or Payer()
    if channel == NATIVE:
        return {}
    if channel == JSAPI:
        openid = payer.openid.strip()
        if not openid:
            raise ChannelError(
                "WeChat JSAPI payment needs the buyer's openid: sign her in through the official "
                "account's OAuth first, or offer the Native QR code"
            )
        if len(openid) > OPENID_MAX or text_problem(openid) or " " in openid:
            raise ChannelError("the WeChat openid is not one WeChat could have issued")
        return {"payer": {"openid": openid}}
    if channel == H5:
        try:
            ip = ipaddress.ip_address(payer.client_ip.strip())
        except ValueError:
            raise ChannelError(
                f"WeChat H5 payment needs the buyer's IP address, not {payer.client_ip!r}"
            ) from None
        return {"scene_info": {"payer_client_ip": str(ip), "h5_info": {"type": "Wap"}}}
    raise ChannelError(f"WeChat Pay has no {channel!r} channel (only {', '.join(CHANNELS)})")


def pay_sign_message(app_id: str, timestamp: str, nonce: str, package: str) -> bytes:
    """What paySign signs: four lines, the last one ended by "\\n" too, as documented."""
    return f"{app_id}\n{timestamp}\n{nonce}\n{package}\n".encode()


def jsapi_pay_params(
    private_key: signing.PrivateKey,
    *,
    app_id: str,
    package: str,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The object for getBrandWCPayRequest, signed now (a page view may sign again: the
    prepay_id stays valid for two hours, and a fresh timeStamp costs nothing)."""
    if not package.startswith(PACKAGE_PREFIX) or len(package) == len(PACKAGE_PREFIX):
        raise ValueError(f"not a JSAPI package: {package!r}")
    # Seconds as a string: the bridge refuses a number, and milliseconds fail the signature.
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce_str = nonce or secrets.token_hex(16)  # 32 characters, WeChat's maximum
    return {
        "appId": app_id,
        "timeStamp": ts,
        "nonceStr": nonce_str,
        "package": package,
        "signType": "RSA",
        "paySign": signing.sign(private_key, pay_sign_message(app_id, ts, nonce_str, package)),
    }


def h5_redirect(h5_url: str, return_url: str) -> str:
    """`h5_url` that brings the buyer back to `return_url` after paying (or cancelling)."""
    if not return_url:
        return h5_url
    joiner = "&" if "?" in h5_url else "?"
    return f"{h5_url}{joiner}redirect_url={quote(return_url, safe='')}"
