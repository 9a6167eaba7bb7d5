"""The pieces of WeChat's silent authorisation (snsapi_base) that are ours: when a shop page asks
for it, the `state` that brings the buyer back to the page she opened, and the development
stand-in for WeChat's authorisation page.

The state. WeChat allows at most 128 characters a-z, A-Z, 0-9, so it cannot carry a path. It is
`nonce (16 hex) + issued (8 hex, Unix seconds) + signature (64 hex)`: the signature
(django.core.signing, its own salt) covers the nonce, the time and the path, and the session
keeps the nonce and the path. The callback accepts it once, within STATE_SECONDS, in the session
that asked (a state from someone else's session, or a code paired with it, binds nothing here).
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme

from storefront.orders import wx_identity

# The request on its way to WeChat: {"nonce", "next", "at"} (popped by the callback).
SESSION_PENDING = "storefront_wx_pending"
# When this session last went to WeChat (Unix seconds): no second trip for TRY_AGAIN_SECONDS,
# whatever happened there (the buyer went back, WeChat failed): no redirect loops.
SESSION_TRIED = "storefront_wx_tried"
# The unionid WeChat gave with the openid (rare with snsapi_base), for linking it to her fan.
SESSION_UNIONID = "storefront_wx_unionid"
# Development only (settings.DEBUG): this browser is treated as WeChat's (?wx=1, ?wx=0). Orders
# defines the key: its checkout asks too (wx_identity.acts_as_wechat).
SESSION_DEV_BROWSER = wx_identity.SESSION_DEV_BROWSER

STATE_SECONDS = 10 * 60  # WeChat's code lives 5 minutes; the page it came from a little longer
TRY_AGAIN_SECONDS = 5 * 60
NEXT_MAX = 500  # a longer address is not kept: the buyer comes back to the shop's front page

STATE_SALT = "storefront.wechat.oauth-state"
DEV_CODE_SALT = "storefront.wechat.dev-code"
DEV_CODE_PREFIX = "dev-"
DEV_CODE_SECONDS = 5 * 60
DEV_OPENID_COOKIE = "vstore_wx_dev_openid"

_STATE = re.compile(r"[0-9a-f]{88}")
# What a code can look like: WeChat's are 32 letters and digits; the stand-in's are
# "dev-" + a signed value (base64url and colons). Anything else is not sent anywhere.
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,300}")
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def dev_mode() -> bool:
    """The stand-in for WeChat's authorisation page: development only, never with an account."""
    return bool(settings.DEBUG) and not settings.WECHAT_OA_APPID


def safe_next(path: object, host: str) -> str | None:
    """PATH if it is a path on this shop's HOST (no other site, no scheme, no control
    characters, not too long); None otherwise."""
    if not isinstance(path, str) or not path or len(path) > NEXT_MAX:
        return None
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return None
    if not url_has_allowed_host_and_scheme(path, allowed_hosts={host}):
        return None
    return path


def _signature(nonce: str, issued: int, path: str) -> str:
    signer = signing.Signer(salt=STATE_SALT, algorithm="sha256")
    signed = signer.signature(f"{nonce}|{issued}|{path}")
    return base64.urlsafe_b64decode(signed + "=" * (-len(signed) % 4)).hex()


def state_issue(request: HttpRequest, next_path: str) -> str:
    """A fresh state for a trip to WeChat from NEXT_PATH (kept in this session)."""
    nonce = secrets.token_hex(8)
    issued = int(time.time())
    request.session[SESSION_PENDING] = {"nonce": nonce, "next": next_path, "at": issued}
    return f"{nonce}{issued:08x}{_signature(nonce, issued, next_path)}"


@dataclass(frozen=True)
class StateCheck:
    ok: bool
    # Where the buyer goes afterwards: the page she opened (if this session knows it), or "/".
    target: str
    reason: str = ""


def state_check(request: HttpRequest, state: object) -> StateCheck:
    """Whether STATE is the one this session was given, unused and fresh. Spends it."""
    pending = request.session.pop(SESSION_PENDING, None)
    host = request.get_host()
    target = "/"
    if isinstance(pending, dict):
        target = safe_next(pending.get("next"), host) or "/"
    if not isinstance(pending, dict):
        return StateCheck(False, target, "no authorisation was asked for in this session")
    if not isinstance(state, str) or not _STATE.fullmatch(state):
        return StateCheck(False, target, "malformed state")
    nonce, issued_hex, signature = state[:16], state[16:24], state[24:]
    issued = int(issued_hex, 16)
    path = pending.get("next")
    if not isinstance(path, str) or not constant_time_compare(nonce, str(pending.get("nonce"))):
        return StateCheck(False, target, "state of another request")
    if not constant_time_compare(signature, _signature(nonce, issued, path)):
        return StateCheck(False, target, "bad signature")
    now = time.time()
    if not issued - 60 <= now <= issued + STATE_SECONDS:
        return StateCheck(False, target, "expired state")
    return StateCheck(True, target)


def state_plausible(state: object) -> bool:
    """Shaped like a state this app issues (state_issue)."""
    return isinstance(state, str) and bool(_STATE.fullmatch(state))


def code_plausible(code: object) -> bool:
    return isinstance(code, str) and bool(_CODE.fullmatch(code))


def openid_plausible(openid: object) -> bool:
    return isinstance(openid, str) and bool(_OPENID.fullmatch(openid))


def dev_openid_new() -> str:
    """A made-up openid for the stand-in, shaped like WeChat's (28 characters)."""
    return "odev" + secrets.token_hex(12)


def dev_code_issue(openid: str) -> str:
    return DEV_CODE_PREFIX + signing.dumps(openid, salt=DEV_CODE_SALT)


def dev_code_openid(code: str) -> str | None:
    """The openid of a stand-in CODE, if it is one we issued in the last few minutes."""
    if not code.startswith(DEV_CODE_PREFIX):
        return None
    try:
        openid = signing.loads(
            code.removeprefix(DEV_CODE_PREFIX), salt=DEV_CODE_SALT, max_age=DEV_CODE_SECONDS
        )
    except signing.BadSignature:  # SignatureExpired is one
        return None
    return openid if openid_plausible(openid) else None
