"""The official account's API client against a loopback server that behaves as WeChat documents.

Tokens and tickets live in the test Redis under keys named by a fresh AppID per test, so tests
never see each other's credentials. Nothing here sleeps: concurrency is lined up with barriers,
events and the client's own log lines.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.wechat_helpers import APPSECRET, FakeWeChat, WeChatState, wechat_server
from wechat import client, credentials
from wechat.errors import OAuthCodeInvalid, WeChatError, WeChatUnavailable
from wechat.jssdk import DEFAULT_JS_API_LIST, jssdk_config, jssdk_signature

TOKEN_PATH = "/cgi-bin/stable_token"
TICKET_PATH = "/cgi-bin/ticket/getticket"
OAUTH_PATH = "/sns/oauth2/access_token"


@pytest.fixture(scope="module")
def wechat_base() -> Iterator[str]:
    yield from wechat_server()


@pytest.fixture
def wx(settings, wechat_base) -> Iterator[WeChatState]:
    appid = "wx" + secrets.token_hex(8)
    settings.WECHAT_OA_APPID = appid
    settings.WECHAT_OA_SECRET = APPSECRET
    settings.WECHAT_API_BASE = wechat_base
    settings.WECHAT_OPEN_BASE = "https://open.weixin.qq.com"
    settings.WECHAT_HTTP_TIMEOUT = 5.0
    state = WeChatState(appid=appid)
    FakeWeChat.state = state
    yield state
    redis = credentials.redis_client()
    stale = list(redis.scan_iter(f"wechat:oa:{appid}:*"))
    if stale:
        redis.delete(*stale)


def key(name: str) -> str:
    return client._key(name)


def cached(name: str) -> dict[str, str]:
    return credentials.redis_client().hgetall(key(name))


# --- access_token -------------------------------------------------------------------------------


def test_token_is_asked_for_once_then_served_from_redis(wx):
    token = client.access_token()

    assert token == wx.token
    assert client.access_token() == token
    assert client.access_token() == token
    assert wx.paths(TOKEN_PATH) == 1
    # getStableAccessToken, normal mode: the secret goes in the JSON body, never in the URL.
    method, _, query, body = wx.calls[0]
    assert method == "POST" and query == {}
    assert body == {"grant_type": "client_credential", "appid": wx.appid, "secret": APPSECRET}


def test_token_is_kept_until_shortly_before_wechat_expires_it(wx):
    before = time.time()
    client.access_token()

    redis = credentials.redis_client()
    # Refreshed 5 minutes early (when WeChat's normal mode already hands out the next token);
    # forgotten a minute before expiry.
    refresh_at = float(cached("access_token")["refresh_at"])
    assert before + 7200 - 300 <= refresh_at <= time.time() + 7200 - 300
    assert 7200 - 60 - 5 <= redis.pttl(key("access_token")) / 1000 <= 7200 - 60


def test_short_lived_token_still_gets_a_sane_share(wx):
    wx.token_expires_in = 200  # shorter than the 5-minute margin
    before = time.time()
    client.access_token()

    refresh_at = float(cached("access_token")["refresh_at"])
    assert before + 100 <= refresh_at <= time.time() + 100
    assert 0 < credentials.redis_client().pttl(key("access_token")) <= 150_000


def test_token_due_for_refresh_is_replaced_by_one_call(wx):
    old = client.access_token()
    # Time passes: the token enters its last minutes, and WeChat's normal mode hands out the
    # next one.
    credentials.redis_client().hset(key("access_token"), "refresh_at", "0")
    new = wx.rotate()

    assert client.access_token() == new != old
    assert client.access_token() == new
    assert wx.paths(TOKEN_PATH) == 2
    assert float(cached("access_token")["refresh_at"]) > time.time() + 6000


def test_due_token_is_still_served_while_another_worker_refreshes(wx):
    token = client.access_token()
    redis = credentials.redis_client()
    redis.hset(key("access_token"), "refresh_at", "0")
    redis.set(credentials.lock_key(key("access_token")), "another-worker", px=60_000)

    assert client.access_token() == token  # no waiting: the current token is valid a while yet
    assert wx.paths(TOKEN_PATH) == 1
    assert redis.get(credentials.lock_key(key("access_token"))) == "another-worker"


def test_failed_early_refresh_keeps_the_current_token(wx, caplog):
    token = client.access_token()
    credentials.redis_client().hset(key("access_token"), "refresh_at", "0")
    wx.fail_with = (-1, "system error")

    with caplog.at_level(logging.WARNING, logger="wechat.credentials"):
        assert client.access_token() == token
    assert wx.paths(TOKEN_PATH) == 2
    assert "early refresh" in caplog.text and "-1" in caplog.text


class _WaitCounter(logging.Handler):
    """Sets ALL_WAITING once EXPECTED workers have said they wait for another's refresh."""

    def __init__(self, expected: int) -> None:
        super().__init__(logging.DEBUG)
        self.expected = expected
        self.count = 0
        self.all_waiting = threading.Event()
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if "waiting for another worker" in record.getMessage():
            with self._lock:
                self.count += 1
                if self.count >= self.expected:
                    self.all_waiting.set()


def test_ten_workers_with_an_empty_cache_make_one_token_request(wx):
    workers = 10
    counter = _WaitCounter(expected=workers - 1)
    # WeChat answers the one token request only once the nine others are waiting on the lock,
    # so every one of them really did find a refresh in progress.
    wx.token_gate = counter.all_waiting
    logger = logging.getLogger("wechat.credentials")
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    start = threading.Barrier(workers)

    def worker(_: int) -> str:
        start.wait(timeout=10)
        return client.access_token()

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            tokens = list(pool.map(worker, range(workers)))
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)

    assert counter.all_waiting.is_set() and counter.count == workers - 1
    assert wx.paths(TOKEN_PATH) == 1
    assert tokens == [wx.token] * workers
    assert not credentials.redis_client().exists(credentials.lock_key(key("access_token")))


def test_lock_of_a_crashed_worker_expires_and_a_waiter_takes_over(wx):
    redis = credentials.redis_client()
    redis.set(credentials.lock_key(key("access_token")), "crashed-worker", px=150)

    assert client.access_token() == wx.token
    assert wx.paths(TOKEN_PATH) == 1


def test_waiting_is_bounded(wx, settings):
    settings.WECHAT_HTTP_TIMEOUT = 0.01  # the bound is derived from it (about 2 s here)
    redis = credentials.redis_client()
    redis.set(credentials.lock_key(key("access_token")), "stuck-worker", px=60_000)

    with pytest.raises(WeChatUnavailable, match="timed out waiting"):
        client.access_token()
    assert wx.paths(TOKEN_PATH) == 0


NOT_WHITELISTED = "invalid ip 203.0.113.9 ipv6 ::ffff:203.0.113.9, not in whitelist"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"fail_with": (40164, NOT_WHITELISTED)}, 40164),
        ({"secret": "a-secret-that-was-reset-on-the-platform"}, 40125),
        ({"appid": "wx0000000000000000"}, 40013),
    ],
    ids=["ip-not-whitelisted", "wrong-secret", "wrong-appid"],
)
def test_wechat_error_codes_become_wechat_errors(wx, change, code):
    for name, value in change.items():
        setattr(wx, name, value)

    with pytest.raises(WeChatError) as caught:
        client.access_token()

    assert caught.value.code == code
    assert not isinstance(caught.value, WeChatUnavailable)
    assert f"WeChat error {code}: " in str(caught.value)
    redis = credentials.redis_client()
    assert not redis.exists(key("access_token"))
    assert not redis.exists(credentials.lock_key(key("access_token")))


@pytest.mark.parametrize(
    ("change", "words"),
    [({"http_status": 502}, "HTTP 502"), ({"raw_body": b"<html>busy</html>"}, "not JSON")],
)
def test_broken_answers_are_unavailable_not_crashes(wx, change, words):
    for name, value in change.items():
        setattr(wx, name, value)

    with pytest.raises(WeChatUnavailable, match=words) as caught:
        client.access_token()
    assert caught.value.code == -1


def test_not_configured_is_said_plainly(settings):
    settings.WECHAT_OA_APPID = ""
    settings.WECHAT_OA_SECRET = ""

    assert not client.configured()
    with pytest.raises(ImproperlyConfigured, match="WECHAT_OA_APPID"):
        client.access_token()
    with pytest.raises(ImproperlyConfigured):
        client.oauth_code_exchange("any")


# --- jsapi_ticket -------------------------------------------------------------------------------


def test_ticket_is_cached_like_the_token(wx):
    ticket = client.jsapi_ticket()

    assert ticket.startswith("TICKET_")
    assert client.jsapi_ticket() == ticket
    assert wx.paths(TICKET_PATH) == 1 and wx.paths(TOKEN_PATH) == 1
    _, _, query, _ = next(call for call in wx.calls if call[1] == TICKET_PATH)
    assert query == {"access_token": [wx.token], "type": ["jsapi"]}


def test_ticket_with_a_token_wechat_no_longer_takes_retries_once_with_a_fresh_token(wx):
    stale = client.access_token()
    fresh = wx.rotate()  # e.g. a forced refresh by another system: the cached token is refused

    ticket = client.jsapi_ticket()

    assert ticket.startswith("TICKET_")
    assert [(path, query.get("access_token")) for _, path, query, _ in wx.calls[1:]] == [
        (TICKET_PATH, [stale]),
        (TOKEN_PATH, None),
        (TICKET_PATH, [fresh]),
    ]
    assert cached("access_token")["value"] == fresh


def test_ticket_retry_happens_only_once(wx):
    wx.tickets_refused = True

    with pytest.raises(WeChatError) as caught:
        client.jsapi_ticket()

    assert caught.value.code == 40001
    assert wx.paths(TICKET_PATH) == 2
    assert not credentials.redis_client().exists(key("jsapi_ticket"))


def test_token_dropped_only_if_it_is_still_the_cached_one(wx):
    stale = client.access_token()
    fresh = wx.rotate()
    credentials.redis_client().hset(key("access_token"), "value", fresh)  # another worker's

    client.access_token_invalidate(stale)

    assert cached("access_token")["value"] == fresh


# --- JS-SDK -------------------------------------------------------------------------------------

# WeChat's published example (JS-SDK documentation, appendix 1: the signature algorithm).
EXAMPLE_TICKET = (
    "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
)


def test_signature_matches_wechats_published_example():
    signature = jssdk_signature(
        EXAMPLE_TICKET, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value"
    )
    assert signature == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_signature_ignores_the_fragment():
    url = "http://mp.weixin.qq.com?params=value"
    assert jssdk_signature(EXAMPLE_TICKET, "Wm3WZYTPz0wzccnW", "1414587457", url + "#share") == (
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


def test_config_for_a_page(wx):
    url = "http://a.localhost:8000/shop/p/12/?from=article"
    before = int(time.time())

    config = jssdk_config(url + "#buy")

    assert set(config) == {"appId", "timestamp", "nonceStr", "signature", "jsApiList"}
    assert config["appId"] == wx.appid
    assert before <= config["timestamp"] <= time.time()
    assert config["nonceStr"].isalnum() and len(config["nonceStr"]) >= 16
    ticket = client.jsapi_ticket()  # cached: the one the config was signed with
    assert config["signature"] == jssdk_signature(
        ticket, config["nonceStr"], config["timestamp"], url
    )
    assert config["jsApiList"] == list(DEFAULT_JS_API_LIST)
    assert jssdk_config(url)["nonceStr"] != config["nonceStr"]
    assert wx.paths(TICKET_PATH) == 1


# --- OAuth (snsapi_base) ------------------------------------------------------------------------


def test_authorize_url_is_wechats_documented_form(wx):
    back = "https://a.localhost/wx/back/?next=/shop/p/12/"

    url = client.oauth_authorize_url(back, "s7Kq2")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "open.weixin.qq.com",
        "/connect/oauth2/authorize",
    )
    assert parse_qsl(parts.query) == [
        ("appid", wx.appid),
        ("redirect_uri", back),
        ("response_type", "code"),
        ("scope", "snsapi_base"),
        ("state", "s7Kq2"),
    ]
    assert "redirect_uri=https%3A%2F%2Fa.localhost%2Fwx%2Fback%2F%3Fnext%3D%2Fshop" in url
    assert parts.fragment == "wechat_redirect"


@pytest.mark.parametrize("state", ["", "has space", "a&b=c", "x" * 129, "状态"])
def test_authorize_url_refuses_a_state_wechat_would_refuse(wx, state):
    with pytest.raises(ValueError, match="state"):
        client.oauth_authorize_url("https://a.localhost/wx/back/", state)


def test_code_exchange_gives_the_openid(wx):
    code = wx.code_issue(openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")

    identity = client.oauth_code_exchange(code)

    assert identity == client.OAuthIdentity(openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    assert identity.unionid is None and not identity.snapshot
    _, _, query, _ = wx.calls[-1]
    assert query == {
        "appid": [wx.appid],
        "secret": [APPSECRET],
        "code": [code],
        "grant_type": ["authorization_code"],
    }


def test_code_exchange_gives_the_unionid_and_snapshot_flag_when_wechat_sends_them(wx):
    bound = wx.code_issue(openid="o1", unionid="oUnion_9f")
    snapshot = wx.code_issue(openid="o2", snapshot=True)

    assert client.oauth_code_exchange(bound) == client.OAuthIdentity("o1", "oUnion_9f")
    assert client.oauth_code_exchange(snapshot).snapshot


def test_code_used_twice_is_refused_the_second_time(wx):
    code = wx.code_issue(openid="o3")
    client.oauth_code_exchange(code)

    with pytest.raises(OAuthCodeInvalid) as caught:
        client.oauth_code_exchange(code)
    assert caught.value.code == 40163


def test_missing_code_is_refused_without_asking_wechat(wx):
    with pytest.raises(OAuthCodeInvalid):
        client.oauth_code_exchange("")
    assert wx.calls == []


@pytest.mark.parametrize("kind", ["expired", "unknown"])
def test_expired_or_unknown_code_is_refused(wx, kind):
    code = wx.code_issue(openid="o4", age=301) if kind == "expired" else "not-a-code"

    with pytest.raises(OAuthCodeInvalid) as caught:
        client.oauth_code_exchange(code)
    assert caught.value.code == 40029
    assert isinstance(caught.value, WeChatError)


# --- the AppSecret stays secret -----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _everything_said(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


def test_secret_is_not_in_a_network_error(wx, settings):
    # requests' own exception text carries the whole URL, the OAuth query's secret included.
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{_closed_port()}"

    with pytest.raises(WeChatUnavailable) as caught:
        client.oauth_code_exchange("a-code")

    said = _everything_said(caught.value)
    assert APPSECRET not in said
    assert "/sns/oauth2/access_token: ConnectionError" in str(caught.value)


def test_secret_is_not_in_an_error_that_echoes_it(wx):
    wx.fail_with = (
        40125,
        f"invalid appsecret {APPSECRET}, view more at http://x?secret={APPSECRET}",
    )

    with pytest.raises(WeChatError) as caught:
        client.access_token()

    assert APPSECRET not in _everything_said(caught.value)
    assert "invalid appsecret ***" in str(caught.value)


def test_secret_is_not_in_the_debug_log_of_the_oauth_request(wx, caplog):
    code = wx.code_issue(openid="o5")

    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        client.oauth_code_exchange(code)

    lines = [record.getMessage() for record in caplog.records]
    assert any(OAUTH_PATH in line and "secret=***" in line for line in lines)
    assert not any(APPSECRET in line for line in lines)
