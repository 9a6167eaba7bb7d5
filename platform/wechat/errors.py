"""What goes wrong when talking to WeChat, as exceptions callers can catch (never a bare 500)."""

from __future__ import annotations

# WeChat's own code for "system busy, try again"; used here too for "could not ask WeChat".
UNAVAILABLE = -1
# The access_token we sent is not (or no longer) WeChat's: invalid credential, invalid
# access_token, access_token expired. A fresh token and one retry is the documented remedy.
TOKEN_INVALID = frozenset({40001, 40014, 42001})
# An OAuth code that was never valid or is past its 5 minutes (40029), or was used already (40163).
OAUTH_CODE_INVALID = frozenset({40029, 40163})


class WeChatError(Exception):
    """WeChat answered with an errcode other than 0 (40164: our IP is not on the whitelist...)."""

    def __init__(self, code: int, message: str) -> None:
        # MESSAGE is WeChat's errmsg or our own words, already free of the secret (redact.py).
        super().__init__(f"WeChat error {code}: {message}")
        self.code = code
        self.errmsg = message


class WeChatUnavailable(WeChatError):
    """WeChat could not be asked: network, HTTP status, an answer that is not its JSON, or a
    refresh by another worker that did not finish in time. Worth retrying later."""

    def __init__(self, message: str) -> None:
        super().__init__(UNAVAILABLE, message)


class OAuthCodeInvalid(WeChatError):
    """The OAuth code is expired, unknown or already used: send the buyer through
    authorisation again rather than showing an error."""
