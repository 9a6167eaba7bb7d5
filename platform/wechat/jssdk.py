"""The JS-SDK's wx.config: the signature (pure) and the whole config for a page."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings

from .client import jsapi_ticket

# What a shop page inside WeChat uses: share cards for a chat and for Moments, paying, and the
# buyer's WeChat address book at checkout. One list for every page: the last wx.config a page
# makes is the one WeChat keeps, so two scripts on a page must not ask for different lists.
DEFAULT_JS_API_LIST = (
    "updateAppMessageShareData",
    "updateTimelineShareData",
    "chooseWXPay",
    "openAddress",
)


def jssdk_signature(ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """WeChat's signature of a page: sha1 of the four fields in this order, the URL without its
    #fragment (the browser never sends it, so WeChat signs without it too)."""
    page = url.split("#", 1)[0]
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page}"
    # SHA-1 is WeChat's choice for this signature, not ours; the algorithm is not negotiable.
    return hashlib.sha1(plain.encode()).hexdigest()  # noqa: S324


def jssdk_config(url: str, js_api_list: Sequence[str] = DEFAULT_JS_API_LIST) -> dict[str, Any]:
    """The object for wx.config on the page at URL (the full URL the browser shows)."""
    timestamp = int(time.time())
    nonce = secrets.token_hex(8)
    return {
        "appId": settings.WECHAT_OA_APPID,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": jssdk_signature(jsapi_ticket(), nonce, timestamp, url),
        "jsApiList": list(js_api_list),
    }
