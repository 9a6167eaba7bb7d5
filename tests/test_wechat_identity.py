"""Who the fan is inside WeChat: the silent authorisation (snsapi_base) a shop page asks for,
the platform's relay WeChat comes back to, the shop's callback, the fan it signs in, the openid
kept without a session (so the page cache serves her), the openid tied to a fan who proved who
she is, and the development stand-in. Against the loopback server that answers as WeChat
documents (tests/wechat_helpers.py). Nothing here sleeps: time is moved by rewriting session
values.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from importlib import import_module
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.test import RequestFactory
from django_tenants.utils import tenant_context
from wagtail.models import Page

from cms.models import ArticlePage, HomePage
from storefront.fans.services import fan_erase
from storefront.models import Fan
from storefront.orders.selectors import SESSION_FAN
from storefront.orders.wx_identity import (
    COOKIE as WX_COOKIE,
)
from storefront.orders.wx_identity import (
    COOKIE_SECONDS,
    SESSION_OPENID,
    cookie_identity,
    session_openid,
)
from storefront.wechat import identity, services
from storefront.wechat.identity import (
    SESSION_PENDING,
    SESSION_TRIED,
    STATE_SECONDS,
    TRY_AGAIN_SECONDS,
    safe_next,
)
from storefront.wechat.relay import relay_mark
from tests.wechat_helpers import APPSECRET, CODE_SECONDS, FakeWeChat, WeChatState, wechat_server

from .a3_helpers import unique_mobile

pytestmark = pytest.mark.django_db

OAUTH_PATH = "/sns/oauth2/access_token"
OPEN_BASE = "https://open.weixin.qq.com"
WX_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI "
    "Language/zh_CN"
)
SAFARI_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
PAGE = "/me/"  # a shop page every shop has; it also shows whether someone is signed in


@pytest.fixture(scope="module")
def wechat_base() -> Iterator[str]:
    yield from wechat_server()


@pytest.fixture
def wx(settings, wechat_base) -> Iterator[WeChatState]:
    appid = "wx" + secrets.token_hex(8)
    settings.WECHAT_OA_APPID = appid
    settings.WECHAT_OA_SECRET = APPSECRET
    settings.WECHAT_API_BASE = wechat_base
    settings.WECHAT_OPEN_BASE = OPEN_BASE
    settings.WECHAT_HTTP_TIMEOUT = 5.0
    state = WeChatState(appid=appid)
    FakeWeChat.state = state
    yield state


@pytest.fixture
def dev(settings) -> None:
    """Development without an official account: the stand-in is on."""
    settings.DEBUG = True
    settings.WECHAT_OA_APPID = ""
    settings.WECHAT_OA_SECRET = ""


def openid_new() -> str:
    return "o" + secrets.token_urlsafe(20)[:27]


def fan_with(shop, *, openid: str = "", mobile: str | None = None) -> Fan:
    with tenant_context(shop):
        fan = Fan.objects.create(mobile=mobile or unique_mobile(), wechat_openid=openid)
    connection.set_schema_to_public()
    return fan


def fan_reload(shop, fan: Fan) -> Fan:
    with tenant_context(shop):
        fresh = Fan.objects.get(pk=fan.pk)
    connection.set_schema_to_public()
    return fresh


def session_of(shop, client) -> dict:
    with tenant_context(shop):
        data = dict(client.session.items())
    connection.set_schema_to_public()
    return data


def visitor_request(client):
    """A request as CLIENT's next one (its host and cookies), for reading what the shop reads."""
    request = RequestFactory().get("/", HTTP_HOST=client.defaults["HTTP_HOST"])
    # An emptied cookie (max-age 0) is one the browser has dropped.
    request.COOKIES = {key: m.value for key, m in client.cookies.items() if m.value}
    return request


def openid_of(shop, client) -> str | None:
    """CLIENT's openid as the shop reads it (session_openid): her session's, else her cookie's."""
    request = visitor_request(client)
    engine = import_module(django_settings.SESSION_ENGINE)
    with tenant_context(shop):
        key = request.COOKIES.get(django_settings.SESSION_COOKIE_NAME)
        request.session = engine.SessionStore(session_key=key)
        openid = session_openid(request)
    connection.set_schema_to_public()
    return openid


def browser_drops_deleted_cookies(client) -> None:
    """As a browser does with a cookie set to expire at once (the emptied session's)."""
    for key in [key for key, morsel in client.cookies.items() if not morsel.value]:
        del client.cookies[key]


def session_edit(shop, client, **values) -> None:
    with tenant_context(shop):
        session = client.session
        for key, value in values.items():
            session[key] = value
        session.save()
    connection.set_schema_to_public()


def to_wechat(client, path: str = PAGE) -> dict[str, str]:
    """Open PATH in WeChat; the query of the authorisation URL it is sent to."""
    answer = client.get(path)
    assert answer.status_code == 302, answer.content[:300]
    url = urlsplit(answer["Location"])
    assert f"{url.scheme}://{url.netloc}" == OPEN_BASE, answer["Location"]
    assert url.path == "/connect/oauth2/authorize" and url.fragment == "wechat_redirect"
    return dict(parse_qsl(url.query))


def callback(client, **query: str):
    """Come back to CLIENT's shop with QUERY, as the platform's relay sends it (with its mark
    for this host); test_the_relay_* go through the relay itself."""
    code, state = query.get("code"), query.get("state")
    if isinstance(code, str) and isinstance(state, str) and "relay" not in query:
        query["relay"] = relay_mark(client.defaults["HTTP_HOST"], code, state)
    return client.get("/wx/oauth/callback?" + urlencode(query))


def relay_uri(host: str) -> str:
    return f"{django_settings.PLATFORM_BASE_URL}/wx/oauth/relay?shop={host}"


def wechat_client(shop_client, sub: str = "a"):
    return shop_client(f"{sub}.localhost", HTTP_USER_AGENT=WX_UA)


def not_to_wechat(answer) -> bool:
    return not answer.get("Location", "").startswith(OPEN_BASE)


# --- when a page asks WeChat ---------------------------------------------------------------------


def test_only_a_wechat_page_view_goes_to_wechat_and_comes_back_to_its_page(wx, shops, shop_client):
    browser = shop_client("a.localhost", HTTP_USER_AGENT=SAFARI_UA)
    answer = browser.get(PAGE)
    assert answer.status_code == 200 and not_to_wechat(answer)
    assert "sessionid" not in answer.cookies  # other browsers' sessions are not touched

    phone = wechat_client(shop_client)
    query = to_wechat(phone, PAGE + "?tab=unpaid")
    assert query["appid"] == wx.appid and query["scope"] == "snsapi_base"
    # Back through the platform's one registered callback domain, naming the shop's host.
    assert query["redirect_uri"] == relay_uri("a.localhost")
    assert len(query["state"]) == 88 and query["state"].isalnum()
    assert session_of(shops.a, phone)[SESSION_PENDING]["next"] == PAGE + "?tab=unpaid"

    code = wx.code_issue(openid=openid_new())
    back = callback(phone, code=code, state=query["state"])
    assert back.status_code == 302 and back["Location"] == PAGE + "?tab=unpaid"
    assert "no-store" in back["Cache-Control"] or "no-cache" in back["Cache-Control"]
    # With the openid known, the page is served.
    again = phone.get(PAGE)
    assert again.status_code == 200 and not_to_wechat(again)


def test_scripts_posts_admin_and_unconfigured_shops_are_left_alone(
    wx, settings, shops, shop_client
):
    phone = wechat_client(shop_client)
    for extra in (
        {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"},
        {"HTTP_HX_REQUEST": "true"},
        {"HTTP_ACCEPT": "application/json"},
        {"HTTP_SEC_FETCH_MODE": "cors", "HTTP_SEC_FETCH_DEST": "empty"},
    ):
        assert not_to_wechat(phone.get(PAGE, **extra)), extra
    assert not_to_wechat(phone.post(PAGE))
    for path in ("/admin/", "/api/v1/", "/static/x.css", "/wx/oauth/callback", "/sitemap.xml"):
        assert not_to_wechat(phone.get(path)), path
    # The platform's own site is no shop.
    platform = shop_client("localhost", HTTP_USER_AGENT=WX_UA)
    assert not_to_wechat(platform.get("/"))
    # WeCom's browser says MicroMessenger too, but the official account cannot authorise there.
    wecom = shop_client("a.localhost", HTTP_USER_AGENT=WX_UA + " wxwork/4.1.22")
    assert not_to_wechat(wecom.get(PAGE))
    settings.WECHAT_OA_APPID = ""
    settings.WECHAT_OA_SECRET = ""
    assert not_to_wechat(wechat_client(shop_client).get(PAGE))
    assert wx.calls == []


def test_a_failed_trip_is_not_repeated_for_a_few_minutes(wx, shops, shop_client):
    phone = wechat_client(shop_client)
    to_wechat(phone)
    # She went back, or WeChat showed an error: no code comes. The next pages are served.
    for _ in range(3):
        answer = phone.get(PAGE)
        assert answer.status_code == 200 and not_to_wechat(answer)
    # A callback with a spent code is a failure too: no loop either.
    query = to_wechat_after_waiting(shops.a, phone)
    code = wx.code_issue(openid=openid_new(), age=CODE_SECONDS + 1)
    assert callback(phone, code=code, state=query["state"])["Location"] == PAGE
    assert phone.get(PAGE).status_code == 200


def to_wechat_after_waiting(shop, client) -> dict[str, str]:
    """As if TRY_AGAIN_SECONDS had passed since the last trip, then open the page."""
    tried = session_of(shop, client)[SESSION_TRIED]
    session_edit(shop, client, **{SESSION_TRIED: tried - TRY_AGAIN_SECONDS - 1})
    return to_wechat(client)


# --- the callback ---------------------------------------------------------------------------------


def test_a_good_code_signs_in_the_fan_of_this_shop_with_a_new_session(wx, shops, shop_client):
    openid = openid_new()
    fan = fan_with(shops.a, openid=openid)
    phone = wechat_client(shop_client)
    query = to_wechat(phone)
    before = phone.cookies["sessionid"].value

    answer = callback(phone, code=wx.code_issue(openid=openid), state=query["state"])

    assert answer.status_code == 302 and answer["Location"] == PAGE
    assert phone.cookies["sessionid"].value != before  # rotated, as a code sign-in does
    session = session_of(shops.a, phone)
    assert session[SESSION_OPENID] == openid and session[SESSION_FAN] == fan.pk
    assert SESSION_PENDING not in session
    # The account page greets her; the code cannot be used a second time.
    assert fan.mobile[-4:] in phone.get(PAGE).content.decode()
    assert wx.paths(OAUTH_PATH) == 1


def test_an_openid_nobody_holds_is_kept_without_signing_anyone_in(wx, shops, shop_client):
    phone = wechat_client(shop_client)
    query = to_wechat(phone)
    openid = openid_new()
    callback(phone, code=wx.code_issue(openid=openid, unionid="u" + openid), state=query["state"])
    assert openid_of(shops.a, phone) == openid
    assert SESSION_FAN not in session_of(shops.a, phone)
    assert cookie_identity(visitor_request(phone)) == (openid, "u" + openid)


@pytest.mark.parametrize("spent", ["expired", "used"])
def test_expired_and_used_codes_land_on_the_page_without_an_identity(
    spent, wx, shops, shop_client, caplog
):
    openid = openid_new()
    fan_with(shops.a, openid=openid)
    phone = wechat_client(shop_client)
    query = to_wechat(phone, "/me/?tab=all")
    if spent == "expired":  # 40029
        code = wx.code_issue(openid=openid, age=CODE_SECONDS + 1)
    else:  # 40163
        code = wx.code_issue(openid=openid)
        wx.codes[code]["used"] = True

    with caplog.at_level(logging.INFO, logger="storefront.wechat"):
        answer = callback(phone, code=code, state=query["state"])

    assert answer.status_code == 302 and answer["Location"] == "/me/?tab=all"
    assert openid_of(shops.a, phone) is None
    assert SESSION_FAN not in session_of(shops.a, phone)
    assert wx.paths(OAUTH_PATH) == 1
    assert "4002" in caplog.text or "40163" in caplog.text
    assert code not in caplog.text and APPSECRET not in caplog.text
    assert phone.get(PAGE).status_code == 200  # and no second trip


def test_wechat_refusing_us_is_a_page_without_identity_not_an_error(wx, shops, shop_client):
    phone = wechat_client(shop_client)
    query = to_wechat(phone)
    wx.fail_with = (40164, "invalid ip 203.0.113.9, not in whitelist")
    answer = callback(phone, code=wx.code_issue(openid=openid_new()), state=query["state"])
    assert answer.status_code == 302 and answer["Location"] == PAGE
    assert openid_of(shops.a, phone) is None


def test_a_snapshot_identity_is_not_kept(wx, shops, shop_client):
    openid = openid_new()
    fan_with(shops.a, openid=openid)  # even one that a fan holds
    phone = wechat_client(shop_client)
    query = to_wechat(phone)
    answer = callback(phone, code=wx.code_issue(openid=openid, snapshot=True), state=query["state"])
    assert answer["Location"] == PAGE
    assert openid_of(shops.a, phone) is None
    assert SESSION_FAN not in session_of(shops.a, phone)


# --- the state --------------------------------------------------------------------------------


def test_forged_foreign_reused_and_missing_states_are_refused(wx, shops, shop_client):
    openid = openid_new()
    fan_with(shops.a, openid=openid)
    phone = wechat_client(shop_client)
    other = wechat_client(shop_client)
    mine = to_wechat(phone)["state"]
    theirs = to_wechat(other)["state"]

    forged = mine[:-1] + ("0" if mine[-1] != "0" else "1")
    for state in (forged, theirs, "", "x" * 88):
        answer = callback(phone, code=wx.code_issue(openid=openid), state=state)
        assert answer.status_code == 302 and answer["Location"] in (PAGE, "/")
        assert openid_of(shops.a, phone) is None
        mine = to_wechat_after_waiting(shops.a, phone)["state"]
    # The genuine state works once; a second use is refused.
    code = wx.code_issue(openid=openid)
    assert callback(phone, code=code, state=mine)["Location"] == PAGE
    assert session_of(shops.a, phone)[SESSION_OPENID] == openid  # her fan signed in: session
    second = callback(other, code=wx.code_issue(openid=openid), state=mine)
    assert openid_of(shops.a, other) is None and second.status_code == 302
    # Refused states never reached WeChat: only the genuine one was exchanged.
    assert wx.paths(OAUTH_PATH) == 1


def test_an_expired_state_is_refused(wx, shops, shop_client):
    phone = wechat_client(shop_client)
    to_wechat(phone)
    nonce = secrets.token_hex(8)
    issued = int(time.time()) - STATE_SECONDS - 5
    session_edit(shops.a, phone, **{SESSION_PENDING: {"nonce": nonce, "next": PAGE, "at": issued}})
    state = f"{nonce}{issued:08x}{identity._signature(nonce, issued, PAGE)}"

    answer = callback(phone, code=wx.code_issue(openid=openid_new()), state=state)

    assert answer.status_code == 302 and answer["Location"] == PAGE
    assert openid_of(shops.a, phone) is None
    assert wx.paths(OAUTH_PATH) == 0


# --- no open redirect -------------------------------------------------------------------------


def test_the_way_back_is_only_ever_a_path_on_this_shop(wx, shops, shop_client):
    for bad in (
        "//evil.com",
        "//evil.com/me/",
        "https://evil",
        "https://evil.com/",
        "/\\evil.com",
        "\\\\evil.com",
        "/me/\x00",
        "/" + "a" * 600,
        "javascript:alert(1)",
        "",
        None,
    ):
        assert safe_next(bad, "a.localhost") is None, bad
    assert safe_next("/me/?tab=all", "a.localhost") == "/me/?tab=all"

    # A page path that looks like another host: the trip comes back to the shop's front page.
    phone = wechat_client(shop_client)
    query = to_wechat(phone, "/")
    session_edit(shops.a, phone, **{SESSION_TRIED: 0})
    answer = phone.get("/", PATH_INFO="//evil.com/")
    assert answer.status_code == 302
    state = dict(parse_qsl(urlsplit(answer["Location"]).query))["state"]
    assert session_of(shops.a, phone)[SESSION_PENDING]["next"] == "/"
    # next= on the callback is not read at all.
    back = callback(phone, code=wx.code_issue(openid=openid_new()), state=state, next="//evil.com")
    assert back["Location"] == "/"
    stale = callback(phone, state=query["state"], next="https://evil")
    assert stale["Location"] == "/"


def test_a_tampered_session_path_still_goes_nowhere_else(wx, shops, shop_client):
    phone = wechat_client(shop_client)
    to_wechat(phone)
    nonce = secrets.token_hex(8)
    issued = int(time.time())
    evil = "//evil.com/"
    session_edit(shops.a, phone, **{SESSION_PENDING: {"nonce": nonce, "next": evil, "at": issued}})
    state = f"{nonce}{issued:08x}{identity._signature(nonce, issued, evil)}"
    answer = callback(phone, code=wx.code_issue(openid=openid_new()), state=state)
    assert answer["Location"] == "/"


# --- garbage in the callback --------------------------------------------------------------------


def test_nul_bytes_and_long_values_are_a_redirect_not_an_error(wx, shops, shop_client):
    phone = wechat_client(shop_client)
    state = to_wechat(phone)["state"]
    for code, st in (
        ("abc\x00def", state),
        ("x" * 5000, state),
        ("", state),
        ("ok", "\x00" * 10),
        ("ok", "f" * 5000),
        ("ok", state[:-1] + "\x00"),
    ):
        answer = callback(phone, code=code, state=st)
        assert answer.status_code in (302, 400), (code[:10], st[:10])
        if answer.status_code == 302:
            assert answer["Location"] in (PAGE, "/")
        state = to_wechat_after_waiting(shops.a, phone)["state"]
    raw = phone.get("/wx/oauth/callback?code=%00%FF%FE&state=%00")
    assert raw.status_code in (302, 400)
    assert wx.paths(OAUTH_PATH) == 0
    assert openid_of(shops.a, phone) is None


# --- shops are apart ----------------------------------------------------------------------------


def test_an_openid_of_shop_a_signs_nobody_into_shop_b(wx, shops, shop_client):
    openid = openid_new()
    in_a = fan_with(shops.a, openid=openid)
    phone_a = wechat_client(shop_client, "a")
    callback(phone_a, code=wx.code_issue(openid=openid), state=to_wechat(phone_a)["state"])
    assert session_of(shops.a, phone_a)[SESSION_FAN] == in_a.pk

    # Shop B's session knows nothing of it, even when shown shop A's session cookie.
    phone_b = wechat_client(shop_client, "b")
    phone_b.cookies["sessionid"] = phone_a.cookies["sessionid"].value
    to_wechat(phone_b)
    assert openid_of(shops.b, phone_b) is None
    assert SESSION_FAN not in session_of(shops.b, phone_b)
    # No fan of B holds it: B keeps the openid and signs nobody in (not A's fan id).
    phone_b2 = wechat_client(shop_client, "b")
    callback(phone_b2, code=wx.code_issue(openid=openid), state=to_wechat(phone_b2)["state"])
    assert openid_of(shops.b, phone_b2) == openid
    assert SESSION_FAN not in session_of(shops.b, phone_b2)

    # B's own fan with the same openid (the same WeChat user buys there too) is B's alone.
    in_b = fan_with(shops.b, openid=openid)
    phone_b3 = wechat_client(shop_client, "b")
    callback(phone_b3, code=wx.code_issue(openid=openid), state=to_wechat(phone_b3)["state"])
    assert session_of(shops.b, phone_b3)[SESSION_FAN] == in_b.pk
    assert session_of(shops.a, phone_a)[SESSION_FAN] == in_a.pk
    assert fan_reload(shops.a, in_a).wechat_openid == openid


# --- linking ----------------------------------------------------------------------------------


def test_a_code_sign_in_inside_wechat_ties_the_openid_to_her(wx, shops, shop_client):
    phone = wechat_client(shop_client)
    openid = openid_new()
    callback(phone, code=wx.code_issue(openid=openid), state=to_wechat(phone)["state"])
    contact = f"wx-{secrets.token_hex(4)}@example.com"

    assert phone.post("/me/code/", {"contact": contact}).status_code == 302
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert phone.post("/me/verify/", {"code": code}).status_code == 302

    with tenant_context(shops.a):
        fan = Fan.objects.get(email=contact)
    connection.set_schema_to_public()
    assert fan.wechat_openid == openid
    # Next time, in a new session inside WeChat, she is signed in without a code.
    later = wechat_client(shop_client)
    callback(later, code=wx.code_issue(openid=openid), state=to_wechat(later)["state"])
    assert session_of(shops.a, later)[SESSION_FAN] == fan.pk


def test_a_fan_already_signed_in_gets_the_openid_when_wechat_answers(wx, shops, shop_client):
    from .a3_helpers import fan_signed_in

    fan = fan_with(shops.a)
    phone = wechat_client(shop_client)
    fan_signed_in(shops.a, phone, fan.pk)
    openid = openid_new()
    callback(phone, code=wx.code_issue(openid=openid), state=to_wechat(phone)["state"])
    assert fan_reload(shops.a, fan).wechat_openid == openid
    assert session_of(shops.a, phone)[SESSION_FAN] == fan.pk


def test_an_openid_is_never_moved_from_the_fan_who_holds_it(wx, shops, shop_client):
    from .a3_helpers import fan_signed_in

    openid = openid_new()
    holder = fan_with(shops.a, openid=openid)
    other = fan_with(shops.a)
    phone = wechat_client(shop_client)
    fan_signed_in(shops.a, phone, other.pk)  # signed in by code as someone else
    callback(phone, code=wx.code_issue(openid=openid), state=to_wechat(phone)["state"])

    assert session_of(shops.a, phone)[SESSION_FAN] == other.pk  # she stays who she proved
    assert fan_reload(shops.a, other).wechat_openid == ""
    assert fan_reload(shops.a, holder).wechat_openid == openid
    with tenant_context(shops.a):
        assert services.wechat_link(other, openid) is False
        # Her own openid is not replaced by another either.
        assert services.wechat_link(holder, openid_new()) is False
        assert services.wechat_link(holder, openid) is True
    connection.set_schema_to_public()


def test_a_race_for_one_openid_is_settled_by_the_database(shops, monkeypatch):
    openid = openid_new()
    first = fan_with(shops.a)
    second = fan_with(shops.a)
    # Both looked before either wrote: the look says "free" to both.
    monkeypatch.setattr(services, "held_elsewhere", lambda fan, **value: False)
    with tenant_context(shops.a):
        assert services.wechat_link(first, openid, "u-" + openid) is True
        assert services.wechat_link(second, openid) is False
        assert Fan.objects.get(pk=second.pk).wechat_openid == ""
        # A unionid another fan holds is not copied (the constraint refuses it too).
        third = Fan.objects.create(mobile=unique_mobile())
        assert services.wechat_link(third, openid_new(), "u-" + openid) is False
    connection.set_schema_to_public()


def test_erasure_empties_her_wechat_identity(wx, shops, shop_client):
    openid = openid_new()
    fan = fan_with(shops.a, openid=openid)
    with tenant_context(shops.a):
        Fan.objects.filter(pk=fan.pk).update(wechat_unionid="u-" + openid)
        fan_erase(fan=Fan.objects.get(pk=fan.pk))
    connection.set_schema_to_public()
    erased = fan_reload(shops.a, fan)
    assert erased.wechat_openid == "" and erased.wechat_unionid == ""
    assert erased.erased_at is not None
    # Her WeChat no longer signs anyone in.
    phone = wechat_client(shop_client)
    callback(phone, code=wx.code_issue(openid=openid), state=to_wechat(phone)["state"])
    assert SESSION_FAN not in session_of(shops.a, phone)


def test_the_database_keeps_openids_unique_per_shop_and_counts_one_as_a_contact(shops):
    from django.db import IntegrityError, transaction

    openid = openid_new()
    with tenant_context(shops.a):
        only_wechat = Fan.objects.create(wechat_openid=openid)  # no mobile, no e-mail
        assert only_wechat.pk
        with pytest.raises(IntegrityError), transaction.atomic():
            Fan.objects.create(mobile=unique_mobile(), wechat_openid=openid)
        with pytest.raises(IntegrityError), transaction.atomic():
            Fan.objects.create()  # nothing at all to reach her by
        # Many fans without WeChat: the empty value is not unique.
        Fan.objects.create(mobile=unique_mobile())
        Fan.objects.create(mobile=unique_mobile())
    with tenant_context(shops.b):
        assert Fan.objects.create(wechat_openid=openid).pk  # another shop's fan
    connection.set_schema_to_public()


# --- the development stand-in -------------------------------------------------------------------


def test_the_stand_in_is_off_without_debug(wx, settings, shops, shop_client):
    browser = shop_client("a.localhost")
    settings.DEBUG = False
    assert browser.get("/wx/dev/authorize?state=abc").status_code == 404
    # ?wx=1 makes no ordinary browser WeChat's outside development.
    answer = browser.get(PAGE + "?wx=1")
    assert answer.status_code == 200 and not_to_wechat(answer)
    # A stand-in code is never accepted outside development, nor sent to WeChat.
    phone = wechat_client(shop_client)
    state = to_wechat(phone)["state"]
    fake = identity.dev_code_issue(openid_new())
    assert callback(phone, code=fake, state=state).status_code == 302
    assert openid_of(shops.a, phone) is None
    assert wx.paths(OAUTH_PATH) == 0
    # DEBUG with an official account configured: the real one is used, not the stand-in.
    settings.DEBUG = True
    assert browser.get("/wx/dev/authorize?state=abc").status_code == 404


def test_the_stand_in_walks_an_ordinary_browser_through_in_one_tap(dev, shops, shop_client):
    browser = shop_client("a.localhost", HTTP_USER_AGENT=SAFARI_UA)
    assert browser.get(PAGE).status_code == 200  # an ordinary browser, until it asks
    answer = browser.get(PAGE + "?wx=1")
    assert answer.status_code == 302
    where = urlsplit(answer["Location"])
    assert where.path == "/wx/dev/authorize" and not where.netloc

    page = browser.get(answer["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "开发替身" in text and "以此微信用户继续" in text
    openid = page.cookies[identity.DEV_OPENID_COOKIE].value
    assert openid in text
    tap = page.context["continue_url"]
    assert tap.startswith("/wx/oauth/callback?")

    back = browser.get(tap)
    assert back.status_code == 302 and back["Location"] == PAGE + "?wx=1"
    # The development switch lives in the session, so the openid stays there too.
    assert session_of(shops.a, browser)[SESSION_OPENID] == openid
    assert WX_COOKIE not in back.cookies
    # A forged stand-in code is refused like a spent one.
    other = shop_client("a.localhost")
    trip = other.get(PAGE + "?wx=1")
    state = dict(parse_qsl(urlsplit(trip["Location"]).query))["state"]
    again = callback(other, code="dev-" + openid, state=state)
    assert again.status_code == 302 and again["Location"] == PAGE + "?wx=1"
    assert openid_of(shops.a, other) is None
    # The same browser keeps its made-up openid, as WeChat keeps one per person.
    fresh = shop_client("a.localhost")
    fresh.cookies[identity.DEV_OPENID_COOKIE] = openid
    redirect = fresh.get(PAGE + "?wx=1")
    assert fresh.get(redirect["Location"]).context["openid"] == openid


def test_in_development_only_a_session_that_asked_goes_to_the_stand_in(dev, shops, shop_client):
    # WeChat's user agent alone (a test, devtools' device mode) is not sent to a page it did
    # not ask for: the page is served as it is.
    phone = wechat_client(shop_client)
    answer = phone.get(PAGE)
    assert answer.status_code == 200 and not_to_wechat(answer)
    # Asked with ?wx=1: the stand-in's one-tap page.
    asked = phone.get(PAGE + "?wx=1")
    assert asked.status_code == 302 and urlsplit(asked["Location"]).path == "/wx/dev/authorize"


def test_the_stand_in_page_refuses_garbage_cleanly(dev, shops, shop_client):
    browser = shop_client("a.localhost")
    for state in ("", "\x00", "a" * 129, "abc def", "<script>"):
        assert browser.get("/wx/dev/authorize?" + urlencode({"state": state})).status_code == 400


# --- no session for a visitor known only by her openid ------------------------------------------


def test_a_visitor_known_only_by_her_openid_keeps_a_host_only_cookie_not_a_session(
    wx, shops, shop_client
):
    phone = wechat_client(shop_client)
    query = to_wechat(phone)
    assert phone.cookies["sessionid"].value  # the trip needed one (state, tried marker)
    openid = openid_new()

    back = callback(phone, code=wx.code_issue(openid=openid), state=query["state"])

    assert back.status_code == 302 and back["Location"] == PAGE
    # The session is emptied and its cookie deleted; the openid is in this host's cookie.
    assert back.cookies["sessionid"].value == "" and back.cookies["sessionid"]["max-age"] == 0
    kept = back.cookies[WX_COOKIE]
    assert kept["domain"] == ""  # host-only: never sent to another shop's host
    assert kept["httponly"] and kept["samesite"] == "Lax" and kept["path"] == "/"
    assert kept["max-age"] == COOKIE_SECONDS and not kept["secure"]  # tests speak http
    assert kept.value.startswith(openid + ":")  # signed (value:time:signature)
    browser_drops_deleted_cookies(phone)
    assert "sessionid" not in phone.cookies
    assert openid_of(shops.a, phone) == openid
    # Known: no second trip, and still no session.
    page = phone.get(PAGE)
    assert page.status_code == 200 and not_to_wechat(page)
    assert "sessionid" not in page.cookies


def test_a_tampered_or_foreign_cookie_is_no_identity_and_a_new_trip(wx, shops, shop_client):
    phone_a = wechat_client(shop_client, "a")
    query = to_wechat(phone_a)
    openid = openid_new()
    callback(phone_a, code=wx.code_issue(openid=openid), state=query["state"])
    genuine = phone_a.cookies[WX_COOKIE].value
    assert phone_a.cookies[WX_COOKIE]["domain"] == ""

    other = openid_new()
    for value in (
        genuine.replace(openid, other),  # another openid under her signature
        genuine[:-1] + ("A" if genuine[-1] != "A" else "B"),  # a signature changed
        other,  # unsigned
        genuine + "\x00",
        "\x00",
    ):
        phone = wechat_client(shop_client, "a")
        phone.cookies[WX_COOKIE] = value
        assert openid_of(shops.a, phone) is None
        answer = phone.get(PAGE)
        assert answer.status_code == 302, value  # not a 500: a fresh authorisation trip
        assert answer["Location"].startswith(OPEN_BASE)

    # Shop B's host never receives A's cookie (host-only); shown its value, B reads nothing:
    # it is signed for A's host.
    phone_b = wechat_client(shop_client, "b")
    phone_b.cookies[WX_COOKIE] = genuine
    assert openid_of(shops.b, phone_b) is None
    to_wechat(phone_b)


@pytest.mark.usefixtures("catalog_media")
def test_a_wechat_visitor_gets_cached_pages_after_the_callback(wx, settings, shops, shop_client):
    settings.VSTORE_PAGE_CACHE_SECONDS = 30
    with tenant_context(shops.a):
        page = HomePage.objects.get().add_child(
            instance=ArticlePage(
                title="限时抢购第一版",
                slug=f"wx-{uuid.uuid4().hex[:10]}",
                body=[{"type": "paragraph", "value": "<p>推荐</p>"}],
            )
        )
    connection.set_schema_to_public()
    url = f"/{page.slug}/"
    phone = wechat_client(shop_client)
    query = to_wechat(phone, url)
    back = callback(phone, code=wx.code_issue(openid=openid_new()), state=query["state"])
    assert back["Location"] == url
    browser_drops_deleted_cookies(phone)

    first = phone.get(url)
    assert first.status_code == 200 and "限时抢购第一版" in first.content.decode()
    with tenant_context(shops.a):  # behind the cache's back, as another process's publish
        Page.objects.filter(pk=page.pk).update(title="限时抢购第二版")
    connection.set_schema_to_public()

    kept = phone.get(url)
    assert kept.status_code == 200 and "限时抢购第一版" in kept.content.decode()  # a hit
    # As before, a visitor with a session is served a fresh page.
    signed_in = shop_client("a.localhost", HTTP_USER_AGENT=SAFARI_UA)
    signed_in.cookies["sessionid"] = "x" * 32
    assert "限时抢购第二版" in signed_in.get(url).content.decode()


# --- the platform's relay (WeChat's one callback domain) ----------------------------------------


def platform_client(shop_client):
    return shop_client("localhost", HTTP_USER_AGENT=WX_UA)


def relay(client, **query: str):
    return client.get("/wx/oauth/relay?" + urlencode(query))


def test_the_relay_sends_the_code_on_to_a_shops_own_host(wx, shops, shop_client):
    platform = platform_client(shop_client)
    state = secrets.token_hex(44)
    for host in ("a.localhost", "b.localhost", "www.a.localhost"):
        answer = relay(platform, shop=host, code="CODE123", state=state)
        assert answer.status_code == 302, host
        where = urlsplit(answer["Location"])
        assert (where.scheme, where.netloc, where.path) == ("http", host, "/wx/oauth/callback")
        assert dict(parse_qsl(where.query)) == {
            "code": "CODE123",
            "state": state,
            "relay": relay_mark(host, "CODE123", state),
        }
        assert "no-cache" in answer["Cache-Control"] or "no-store" in answer["Cache-Control"]
    # Without a code (WeChat gave none) the shop still gets the state and sends her back.
    answer = relay(platform, shop="a.localhost", state=state)
    assert answer["Location"] == f"http://a.localhost/wx/oauth/callback?state={state}"
    # The relay is the platform's: a shop host has none.
    on_shop = wechat_client(shop_client).get(
        "/wx/oauth/relay?" + urlencode({"shop": "b.localhost", "state": state}), follow=True
    )
    assert on_shop.status_code == 404


def test_the_relay_is_no_open_redirect(wx, shops, shop_client):
    platform = platform_client(shop_client)
    state = secrets.token_hex(44)
    for host in (
        "",
        "evil.com",
        "localhost",  # the platform itself
        "nobody.localhost",
        "a.localhost.evil.com",
        "https://a.localhost",
        "//a.localhost",
        "evil.com@a.localhost",
        "a.localhost@evil.com",
        "a.localhost/evil.com",
        "a.localhost:8000",
        "a.localhost\\evil.com",
        "a.localhost\x00",
        "a.localhost\x00.evil.com",
        "A.LOCALHOST",
        "a.localhost.",
        "a" * 300 + ".localhost",
    ):
        answer = relay(platform, shop=host, code="CODE123", state=state)
        assert answer.status_code == 400, host
        assert "Location" not in answer
    for code, st in (("abc\x00", state), ("x" * 500, state), ("ok", ""), ("ok", "f" * 5000)):
        assert relay(platform, shop="a.localhost", code=code, state=st).status_code == 400
    raw = platform.get("/wx/oauth/relay?shop=a.localhost%00&code=%00%FF&state=%00")
    assert raw.status_code == 400
    assert wx.calls == []


def test_the_whole_trip_through_the_relay_signs_her_in(wx, shops, shop_client):
    openid = openid_new()
    fan = fan_with(shops.a, openid=openid)
    phone = wechat_client(shop_client)
    query = to_wechat(phone, PAGE + "?tab=all")

    # WeChat sends her to the registered redirect_uri with the code and the state appended.
    code = wx.code_issue(openid=openid)
    uri = urlsplit(query["redirect_uri"])
    assert f"{uri.scheme}://{uri.netloc}" == django_settings.PLATFORM_BASE_URL
    platform = platform_client(shop_client)
    hop = platform.get(
        f"{uri.path}?{uri.query}&" + urlencode({"code": code, "state": query["state"]})
    )
    assert hop.status_code == 302
    onward = urlsplit(hop["Location"])
    assert onward.netloc == "a.localhost"

    back = phone.get(f"{onward.path}?{onward.query}")

    assert back.status_code == 302 and back["Location"] == PAGE + "?tab=all"
    assert session_of(shops.a, phone)[SESSION_FAN] == fan.pk
    assert fan.mobile[-4:] in phone.get(PAGE).content.decode()
    assert wx.paths(OAUTH_PATH) == 1


def test_a_code_the_relay_did_not_send_to_this_host_is_not_exchanged(wx, shops, shop_client):
    openid = openid_new()
    fan_with(shops.b, openid=openid)
    phone = wechat_client(shop_client, "b")
    state = to_wechat(phone)["state"]
    code = wx.code_issue(openid=openid)
    for mark in (
        "",
        "x",
        relay_mark("a.localhost", code, state),
        relay_mark("b.localhost", code, "0"),
    ):
        answer = callback(phone, code=code, state=state, relay=mark)
        assert answer.status_code == 302 and answer["Location"] == PAGE
        assert SESSION_FAN not in session_of(shops.b, phone)
        state = to_wechat_after_waiting(shops.b, phone)["state"]
    assert wx.paths(OAUTH_PATH) == 0
