"""Login throttling as a guesser meets it: parallel guesses counted before any is checked, a
throttled guesser who cannot lock the real user out, the client's address behind a trusted
proxy, and Secure cookies behind TLS."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

import hub.services.users as user_service
from hub.infra.config import load_settings
from hub.services.cookies import cookies_secure
from hub.services.throttle import (
    MAX_FAILURES_PER_NAME,
    MAX_FAILURES_PER_PAIR,
    WINDOW_S,
    LoginThrottle,
)
from tests.hub.helpers import error_of, make_tree
from tests.plugins.hub import HubClient, database_url_for, make_hub

from .support import make_user

PASSWORD = "correct horse battery"
PROXY = "10.0.0.254"  # the TLS proxy: every request reaches the hub from here


class CountingHasher:
    """argon2's hasher, counting how many passwords it was asked to verify."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, *args):
        with self._lock:
            self.verified += 1
        return self.inner.verify(*args)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


@pytest.fixture
def served(hub: HubClient) -> Iterator[str]:
    """The hub over real HTTP, one thread per request."""
    server = make_server("127.0.0.1", 0, hub.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["sqlite", "postgres"])
def proxied_hub(request: pytest.FixtureRequest, redis_server_url: str,
                tmp_path: Path) -> Iterator[HubClient]:
    """The hub behind one trusted proxy (YUNCHU_PROXY_HOPS=1)."""
    client = make_hub(database_url_for(request, request.param, tmp_path), redis_server_url,
                      tmp_path, proxy_hops=1)
    yield client
    client.runtime.close()


def _login(hub: HubClient, name: str, password: str, address: str = "10.0.0.1",
           headers: dict[str, str] | None = None):
    return hub.client.post("/api/v1/session", json={"name": name, "password": password},
                           environ_base={"REMOTE_ADDR": address}, headers=headers or {})


def _via_proxy(client: str, proto: str = "http") -> dict[str, str]:
    # The first entry is whatever the client claimed; the proxy appended the address it saw.
    return {"X-Forwarded-For": f"6.6.6.6, {client}", "X-Forwarded-Proto": proto}


def test_parallel_guesses_are_counted_before_any_is_checked(hub, served, monkeypatch):
    make_tree(hub)
    make_user(hub, "wang", ["editor"], password=PASSWORD)
    hasher = CountingHasher(user_service._hasher)
    monkeypatch.setattr(user_service, "_hasher", hasher)
    start = threading.Barrier(20)
    answers: list[requests.Response] = []

    def guess(n: int) -> None:
        start.wait()
        answers.append(requests.post(f"{served}/api/v1/session", timeout=60,
                                     json={"name": "wang", "password": f"guess number {n}"}))

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert hasher.verified <= MAX_FAILURES_PER_PAIR, (hasher.verified, statuses)
    assert statuses.count(401) == hasher.verified
    assert statuses.count(429) == 20 - hasher.verified
    for answer in answers:
        if answer.status_code == 429:
            assert answer.json()["error"]["code"] == "login_throttled"
            assert 0 < int(answer.headers["Retry-After"]) <= WINDOW_S


def test_a_throttled_guesser_does_not_lock_the_user_out(sqlite_hub):
    hub = sqlite_hub  # the budgets live in Redis
    make_tree(hub)
    make_user(hub, "li", ["editor"], password=PASSWORD)
    assert _login(hub, "li", PASSWORD, address="10.1.0.1").status_code == 200  # their desk
    for _ in range(MAX_FAILURES_PER_PAIR):
        assert _login(hub, "li", "not it at all", address="198.51.100.7").status_code == 401
    assert _login(hub, "li", PASSWORD, address="198.51.100.7").status_code == 429
    assert _login(hub, "li", PASSWORD, address="10.1.0.1").status_code == 200
    assert _login(hub, "li", PASSWORD, address="10.1.0.2").status_code == 200  # a new desk too
    # Guesses spread over many addresses spend the name's own budget: a new address waits,
    # the address the user signs in from does not.
    for n in range(MAX_FAILURES_PER_NAME - MAX_FAILURES_PER_PAIR):  # with the 5 above
        assert _login(hub, "li", "not it at all",
                      address=f"198.18.{n // 200}.{n % 200}").status_code == 401
    spent = _login(hub, "li", PASSWORD, address="198.19.0.1")
    assert spent.status_code == 429 and error_of(spent)["code"] == "login_throttled"
    assert _login(hub, "li", PASSWORD, address="10.1.0.1").status_code == 200


def test_a_budget_spent_again_blocks_twice_as_long(sqlite_hub):
    throttle = LoginThrottle(sqlite_hub.runtime.redis, f"test:{uuid.uuid4().hex}", per_pair=2,
                             window_s=60)
    for block in (60, 120, 240):
        for _ in range(2):
            attempt = throttle.reserve("zhao", "192.0.2.1")
            assert attempt.retry_after == 0
            throttle.failed(attempt)
        wait = throttle.reserve("zhao", "192.0.2.1").retry_after
        assert block - 5 <= wait <= block, (block, wait)
        sqlite_hub.runtime.redis.delete(throttle._keys("zhao", "192.0.2.1")[0])  # time passes
    ok = throttle.reserve("zhao", "192.0.2.1")
    throttle.succeeded(ok)  # a right password starts the pair afresh
    assert throttle.reserve("zhao", "192.0.2.1").retry_after == 0


def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(proxied_hub):
    hub = proxied_hub
    make_tree(hub)
    make_user(hub, "sun", ["editor"], password=PASSWORD)
    for _ in range(MAX_FAILURES_PER_PAIR):
        assert _login(hub, "sun", "not it at all", address=PROXY,
                      headers=_via_proxy("198.51.100.7")).status_code == 401
    assert _login(hub, "sun", PASSWORD, address=PROXY,
                  headers=_via_proxy("198.51.100.7")).status_code == 429
    ok = _login(hub, "sun", PASSWORD, address=PROXY, headers=_via_proxy("203.0.113.9"))
    assert ok.status_code == 200, ok.json
    [entry] = hub.get("/api/v1/audit?action=login&outcome=ok").json["items"]
    assert entry["source_ip"] == "203.0.113.9"
    # A proxy that passed the client's own header on: not an address, so the peer's is used.
    odd = _login(hub, "sun", "not it at all", address=PROXY,
                 headers={"X-Forwarded-For": "x" * 300})
    assert odd.status_code == 401, odd.get_data()
    failed = hub.get("/api/v1/audit?action=login&outcome=failed&limit=1").json["items"][0]
    assert failed["source_ip"] == PROXY


def test_cookies_are_secure_behind_tls(proxied_hub):
    make_tree(proxied_hub)
    make_user(proxied_hub, "zhou", ["editor"], password=PASSWORD)
    over_tls = _login(proxied_hub, "zhou", PASSWORD, address=PROXY,
                      headers=_via_proxy("203.0.113.9", "https"))
    cookie = over_tls.headers["Set-Cookie"]
    assert over_tls.status_code == 200 and "; Secure" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    form = proxied_hub.app.test_client().get(  # a browser not yet signed in
        "/admin/login", headers=_via_proxy("203.0.113.9", "https"),
        environ_base={"REMOTE_ADDR": PROXY})
    flask_cookie = form.headers["Set-Cookie"]  # the login form's CSRF token
    assert "; Secure" in flask_cookie and "HttpOnly" in flask_cookie, flask_cookie
    plain = _login(proxied_hub, "zhou", PASSWORD, address=PROXY,
                   headers=_via_proxy("203.0.113.9", "http"))
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(sqlite_hub):
    """They are then the client's own claims: no address, no https from them."""
    make_tree(sqlite_hub)
    make_user(sqlite_hub, "zhou", ["editor"], password=PASSWORD)
    claimed = _login(sqlite_hub, "zhou", PASSWORD, address="10.0.0.9",
                     headers=_via_proxy("203.0.113.9", "https"))
    assert claimed.status_code == 200 and "Secure" not in claimed.headers["Set-Cookie"]
    [entry] = sqlite_hub.get("/api/v1/audit?action=login&outcome=ok").json["items"]
    assert entry["source_ip"] == "10.0.0.9"


@pytest.mark.parametrize(("mode", "public_url", "https", "secure"), [
    ("auto", "http://hub.test", False, False), ("auto", "http://hub.test", True, True),
    ("auto", "https://hub.example", False, True), ("on", "http://hub.test", False, True),
    ("off", "https://hub.example", True, False)])
def test_secure_cookie_setting(tmp_path, mode, public_url, https, secure):
    settings = load_settings(env={"YUNCHU_SECURE_COOKIES": mode}, data_dir=tmp_path,
                             public_url=public_url, secret_key="k")
    app = Flask("cookies")
    with app.test_request_context("/", base_url="https://hub" if https else "http://hub"):
        assert cookies_secure(settings) is secure
