"""A loopback server that answers as WeChat's official-account API documents it.

Just enough of api.weixin.qq.com: POST /cgi-bin/stable_token (normal mode: the token in force
while it is valid; force_refresh replaces it), GET /cgi-bin/ticket/getticket (40001 for any token
but the one in force) and GET /sns/oauth2/access_token (a code works once, for 5 minutes: 40029
when unknown or expired, 40163 when used). Each request is recorded, so tests count calls.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

APPSECRET = "3f1c0a9be27d4c55a1b7e0d2c9f86a41"  # a made-up AppSecret, 32 hex like a real one
CODE_SECONDS = 300  # an OAuth code lives 5 minutes


@dataclass
class WeChatState:
    appid: str
    secret: str = APPSECRET
    token: str = ""
    token_expires_in: int = 7200
    ticket_expires_in: int = 7200
    # (method, path, query, JSON body) of every request, in order of arrival.
    calls: list[tuple[str, str, dict[str, list[str]], dict | None]] = field(default_factory=list)
    codes: dict[str, dict] = field(default_factory=dict)
    # An errcode/errmsg every endpoint answers with (40164: IP not whitelisted, ...).
    fail_with: tuple[int, str] | None = None
    # Answer the ticket endpoint with 40001 whatever token it is given.
    tickets_refused: bool = False
    # Set: the token endpoint answers only once this event is set (bounded wait).
    token_gate: threading.Event | None = None
    http_status: int = 200
    raw_body: bytes | None = None

    def rotate(self) -> str:
        """A new token in force, as after a forced refresh elsewhere: the old one is refused."""
        self.token = "ACCESS_" + secrets.token_urlsafe(24)
        return self.token

    def code_issue(
        self, *, openid: str, unionid: str | None = None, age: float = 0, snapshot: bool = False
    ) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = {
            "openid": openid,
            "unionid": unionid,
            "issued": time.time() - age,
            "used": False,
            "snapshot": snapshot,
        }
        return code

    def paths(self, path: str) -> int:
        return sum(1 for call in self.calls if call[1] == path)


class FakeWeChat(BaseHTTPRequestHandler):
    state: WeChatState
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, payload: dict, status: int | None = None) -> None:
        body = self.state.raw_body or json.dumps(payload).encode()
        self.send_response(status or self.state.http_status)
        # WeChat labels many of its JSON answers text/plain.
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str) -> None:
        self._answer({"errcode": code, "errmsg": f"{message} rid: {secrets.token_hex(6)}"})

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        state = self.state
        with self.lock:
            state.calls.append((method, url.path, query, body))
        if state.fail_with:
            self._error(*state.fail_with)
        elif method == "POST" and url.path == "/cgi-bin/stable_token":
            self._stable_token(body or {})
        elif method == "GET" and url.path == "/cgi-bin/ticket/getticket":
            self._ticket(query)
        elif method == "GET" and url.path == "/sns/oauth2/access_token":
            self._oauth(query)
        else:
            self._answer({"errcode": 404, "errmsg": "no such api"}, status=404)

    def _stable_token(self, body: dict) -> None:
        state = self.state
        if state.token_gate is not None and not state.token_gate.wait(timeout=10):
            self._answer({"errcode": -1, "errmsg": "system error (test gate never opened)"})
            return
        if body.get("grant_type") != "client_credential":
            return self._error(40002, "invalid grant_type")
        if body.get("appid") != state.appid:
            return self._error(40013, "invalid appid")
        if body.get("secret") != state.secret:
            return self._error(40125, "invalid appsecret")
        with self.lock:
            if body.get("force_refresh") or not state.token:
                state.rotate()
            token = state.token
        self._answer({"access_token": token, "expires_in": state.token_expires_in})

    def _ticket(self, query: dict[str, list[str]]) -> None:
        state = self.state
        if query.get("type") != ["jsapi"]:
            return self._error(40097, "invalid args")
        if state.tickets_refused or query.get("access_token") != [state.token]:
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        self._answer(
            {
                "errcode": 0,
                "errmsg": "ok",
                "ticket": "TICKET_" + secrets.token_urlsafe(24),
                "expires_in": state.ticket_expires_in,
            }
        )

    def _oauth(self, query: dict[str, list[str]]) -> None:
        state = self.state
        if query.get("appid") != [state.appid] or query.get("secret") != [state.secret]:
            return self._error(40125, "invalid appsecret")
        if query.get("grant_type") != ["authorization_code"]:
            return self._error(40002, "invalid grant_type")
        with self.lock:
            code = state.codes.get((query.get("code") or [""])[0])
            if code is None or time.time() - code["issued"] > CODE_SECONDS:
                return self._error(40029, "invalid code")
            if code["used"]:
                return self._error(40163, "code been used")
            code["used"] = True
        answer = {
            "access_token": "WEB_" + secrets.token_urlsafe(24),
            "expires_in": 7200,
            "refresh_token": "REFRESH_" + secrets.token_urlsafe(24),
            "openid": code["openid"],
            "scope": "snsapi_base",
        }
        if code["unionid"]:
            answer["unionid"] = code["unionid"]
        if code["snapshot"]:
            answer["is_snapshotuser"] = 1
        self._answer(answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


def wechat_server() -> Iterator[str]:
    """Serve FakeWeChat on 127.0.0.1 until the generator is closed; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWeChat)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
