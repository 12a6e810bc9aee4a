"""Who may see the manager pages: this machine only, or the holders of TOUCHPOINT_ADMIN_TOKEN.

The pure checks are tested on their own; the guard is tested over real HTTP,
and the login in headless Chromium (cookie flags as the browser stored them).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from aiohttp import ClientSession, DummyCookieJar
from raw_http import raw_request
from stores import DownStore
from web_support import chromium, new_page, screenshot, serving

from bot.handler import Handler
from bot.library import PlaybookSet
from bot.memory_store import MemoryStore
from touchpoint.settings import Settings, SettingsError
from touchpoint.web.auth import (
    COOKIE,
    SESSION_SECONDS,
    Guard,
    host_name,
    is_local,
    is_loopback,
    safe_next,
    same_origin,
)

TOKEN = "s3cret-token-0123456789abcdef"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@pytest.mark.parametrize("remote", ["127.0.0.1", "127.10.20.30", "::1", "::ffff:127.0.0.1"])
def test_loopback_peers(remote: str) -> None:
    assert is_loopback(remote)


@pytest.mark.parametrize("remote", [None, "", "10.0.0.1", "192.168.1.20", "::ffff:10.0.0.1",
                                    "2001:db8::1", "fe80::1%eth0", "localhost", "not an ip"])
def test_other_peers(remote: str | None) -> None:
    assert not is_loopback(remote)


def test_host_names() -> None:
    assert host_name("localhost:3000") == "localhost"
    assert host_name("[::1]:3000") == "::1"
    assert host_name("::1") == "::1"
    assert host_name("127.0.0.1") == "127.0.0.1"
    assert host_name("Intranet.Example:443") == "intranet.example"
    assert host_name(None) == ""


def test_local_means_a_loopback_peer_a_local_host_name_and_no_proxy() -> None:
    assert is_local("127.0.0.1", "127.0.0.1:3000", forwarded=False)
    assert is_local("::1", "localhost", forwarded=False)
    assert not is_local("127.0.0.1", "127.0.0.1:3000", forwarded=True)  # a proxy on this host
    assert not is_local("127.0.0.1", "rebound.example:3000", forwarded=False)  # DNS rebinding
    assert not is_local("10.1.2.3", "localhost:3000", forwarded=False)


def test_same_origin() -> None:
    assert same_origin("http://127.0.0.1:3000", None, "127.0.0.1:3000")
    assert same_origin("https://bot.example", None, "bot.example")  # TLS ends at the proxy
    assert same_origin(None, "http://bot.example/manage/", "bot.example")
    assert not same_origin("http://evil.example", "http://bot.example/", "bot.example")
    assert not same_origin("null", None, "bot.example")
    assert not same_origin(None, None, "bot.example")


def test_login_redirects_only_to_our_own_pages() -> None:
    assert safe_next("/manage/analytics?weeks=4") == "/manage/analytics?weeks=4"
    for bad in ("//evil.example/manage/", "https://evil.example/manage/", "/elsewhere",
                "/manage/\\evil", ""):
        assert safe_next(bad) == "/manage/"


def test_sessions_are_signed_expire_and_die_with_the_token() -> None:
    now = [1_000_000.0]
    guard = Guard(TOKEN, clock=lambda: now[0])
    session = guard.session()
    assert guard.session_ok(session)
    assert Guard(TOKEN, clock=lambda: now[0]).session_ok(session)  # another instance
    assert not Guard(TOKEN + "x", clock=lambda: now[0]).session_ok(session)
    expires, _, mac = session.partition(".")
    assert not guard.session_ok(f"{int(expires) + 3600}.{mac}")
    assert not guard.session_ok("garbage")
    now[0] += SESSION_SECONDS + 1
    assert not guard.session_ok(session)


def test_tokens_are_compared_whole() -> None:
    guard = Guard(TOKEN)
    assert guard.token_ok(TOKEN) and guard.bearer_ok(f"Bearer {TOKEN}")
    assert not guard.token_ok(TOKEN[:-1]) and not guard.token_ok("")
    assert not guard.bearer_ok(f"Basic {TOKEN}") and not guard.bearer_ok(None)
    assert not Guard("").token_ok("")


def test_the_token_setting_is_checked_and_never_shown() -> None:
    settings = Settings.from_env({"TOUCHPOINT_ADMIN_TOKEN": f" {TOKEN} "})
    assert settings.admin_token == TOKEN and TOKEN not in repr(settings)
    assert Settings.from_env({}).admin_token == ""
    for bad in ("short", "has a space in it 0123456789", "ünïcödé-token-0123456789"):
        with pytest.raises(SettingsError) as caught:
            Settings.from_env({"TOUCHPOINT_ADMIN_TOKEN": bad})
        assert "TOUCHPOINT_ADMIN_TOKEN" in str(caught.value) and bad not in str(caught.value)


async def test_without_a_token_only_this_machine_is_served(library: PlaybookSet) -> None:
    async with serving(Handler(library, MemoryStore()), Settings()) as url, \
            ClientSession() as http:
        async with http.get(f"{url}/manage/") as response:
            assert response.status == 200
            assert response.headers["X-Frame-Options"] == "DENY"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        for headers in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"},
                        {"Host": "rebound.example"}, {"X-Client-IP": "203.0.113.9"},
                        {"True-Client-IP": "203.0.113.9"}, {"CF-Connecting-IP": "203.0.113.9"},
                        {"Via": "1.1 proxy.example"}):
            async with http.get(f"{url}/manage/playbooks", headers=headers) as response:
                assert response.status == 403, headers
                assert "TOUCHPOINT_ADMIN_TOKEN" in await response.text()
        async with http.get(f"{url}/manage/static/style.css",
                            headers={"X-Forwarded-For": "203.0.113.9"}) as response:
            assert response.status == 200 and response.content_type == "text/css"


async def test_serve_without_a_token_serves_the_pages_to_nobody(library: PlaybookSet) -> None:
    async with serving(Handler(library, MemoryStore()), Settings(), local=False) as url, \
            ClientSession() as http:
        for path in ("/manage/", "/manage/analytics", "/manage/login"):
            for headers in ({}, {"Host": "localhost"}):
                async with http.get(f"{url}{path}", headers=headers) as response:
                    assert response.status == 403, (path, headers)
                    assert "TOUCHPOINT_ADMIN_TOKEN" in await response.text()
        async with http.post(f"{url}/manage/reload", data={},
                             headers={"Host": "localhost", "Origin": url}) as response:
            assert response.status == 403
        async with http.get(f"{url}/manage/static/style.css") as response:
            assert response.status == 200


async def test_forms_need_our_origin_and_the_csrf_token(library: PlaybookSet) -> None:
    async with serving(Handler(library, MemoryStore()), Settings()) as url, \
            ClientSession() as http:
        async with http.get(f"{url}/manage/") as response:
            found = CSRF.search(await response.text())
            assert found is not None
        form = {"text": "they said it's too expensive", "where": "command"}
        attempts = [({}, {"Origin": url}), ({"csrf": "0" * 64}, {"Origin": url}),
                    ({"csrf": found.group(1)}, {"Origin": "http://evil.example"}),
                    ({"csrf": found.group(1)}, {})]
        for extra, headers in attempts:
            async with http.post(f"{url}/manage/", data={**form, **extra},
                                 headers=headers) as response:
                assert response.status == 403, (extra, headers)
        async with http.post(f"{url}/manage/", data={**form, "csrf": found.group(1)},
                             headers={"Origin": url}) as response:
            assert response.status == 200
            assert 'data-playbook="price-objection"' in await response.text()


async def test_with_a_token_every_request_must_carry_it(library: PlaybookSet) -> None:
    settings = Settings(admin_token=TOKEN)
    async with serving(Handler(library, MemoryStore()), settings) as url, \
            ClientSession() as http:
        async with http.get(f"{url}/manage/analytics") as response:
            assert response.status == 401
            page = await response.text()
            assert 'name="token"' in page and 'value="/manage/analytics"' in page
        async with http.get(f"{url}/manage/", headers={
                "Authorization": "Bearer wrong-token-0123456789"}) as response:
            assert response.status == 401
        async with http.post(f"{url}/manage/reload", data={}) as response:
            assert response.status == 401
        async with http.get(f"{url}/manage/playbooks", headers={
                "Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "203.0.113.9"}) \
                as response:
            assert response.status == 200 and "Price objection" in await response.text()


async def _sign_in(http: ClientSession, url: str) -> str:
    """The cookie a good token gets from the login form."""
    async with http.get(f"{url}/manage/login") as response:
        found = CSRF.search(await response.text())
        assert found is not None
    async with http.post(f"{url}/manage/login", allow_redirects=False,
                         data={"token": TOKEN, "next": "/manage/", "csrf": found.group(1)},
                         headers={"Origin": url}) as response:
        assert response.status == 303
        return response.cookies[COOKIE].value


async def _status(http: ClientSession, url: str, cookie: str) -> int:
    async with http.get(f"{url}/manage/analytics", allow_redirects=False,
                        headers={"Cookie": f"{COOKIE}={cookie}"}) as response:
        return response.status


async def test_signing_out_voids_the_cookie_on_every_instance(library: PlaybookSet) -> None:
    store = MemoryStore()  # the shared store two instances behind a balancer have
    settings = Settings(admin_token=TOKEN)
    async with serving(Handler(library, store), settings) as one, \
            serving(Handler(library, store), settings) as two, \
            ClientSession(cookie_jar=DummyCookieJar()) as http:
        cookie = await _sign_in(http, one)
        other = await _sign_in(http, two)
        assert [await _status(http, url, c) for url in (one, two) for c in (cookie, other)] \
            == [200] * 4
        async with http.get(f"{one}/manage/playbooks",
                            headers={"Cookie": f"{COOKIE}={cookie}"}) as response:
            page = await response.text()
            assert 'class="signout"' in page
            found = CSRF.search(page.split('class="signout"', 1)[1])
            assert found is not None
        async with http.post(f"{one}/manage/logout", data={"csrf": found.group(1)},
                             allow_redirects=False,
                             headers={"Cookie": f"{COOKIE}={cookie}", "Origin": one}) \
                as response:
            assert response.status == 303
        assert [await _status(http, url, c) for url in (one, two) for c in (cookie, other)] \
            == [401] * 4
        fresh = await _sign_in(http, two)
        assert await _status(http, one, fresh) == 200


async def test_while_the_store_is_down_cookies_are_refused_and_the_bearer_works(
        library: PlaybookSet) -> None:
    settings = Settings(admin_token=TOKEN)
    cookie = Guard(TOKEN).session()
    async with serving(Handler(library, DownStore("get_value")), settings) as url, \
            ClientSession(cookie_jar=DummyCookieJar()) as http:
        assert await _status(http, url, cookie) == 401
        async with http.get(f"{url}/manage/analytics",
                            headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert response.status == 200


STRANGE_CREDENTIALS = ["²²²".encode(), "9" * 5000, b"\xff\xfe", "é".encode() * 40]


@pytest.mark.parametrize("value", STRANGE_CREDENTIALS)
async def test_strange_cookies_and_bearers_are_refused_never_a_crash(
        library: PlaybookSet, caplog: pytest.LogCaptureFixture, value: bytes | str) -> None:
    raw = value.encode() if isinstance(value, str) else value
    async with serving(Handler(library, MemoryStore()), Settings(admin_token=TOKEN)) as url:
        for path in ("/manage/analytics", "/manage/login"):
            for header in ((("Cookie", COOKIE.encode() + b"=" + raw + b".00"),),
                           (("Cookie", COOKIE.encode() + b"=1." + raw),),
                           (("Authorization", b"Bearer " + raw),)):
                status, _ = await raw_request(url, "GET", path, header)
                assert status in (200, 401), (path, header)
        status, _ = await raw_request(url, "POST", "/manage/login", [
            ("Cookie", COOKIE.encode() + b"=" + raw), ("Origin", url.encode()),
            ("Content-Type", b"application/x-www-form-urlencoded")],
            b"token=" + raw + b"&csrf=" + raw)
        assert status in (401, 403)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_a_session_needs_a_few_ascii_digits() -> None:
    guard = Guard(TOKEN)
    for expires in ("²²²²²²²²²²", "9" * 5000, "\udcff\udcfe", "１２３４５６７８９０"):
        assert not guard.session_ok(f"{expires}.{'0' * 64}")
    assert not guard.bearer_ok("Bearer \udcff\udcfe")


async def test_sign_in_with_the_token_in_the_browser(library: PlaybookSet,
                                                     tmp_path: Path) -> None:
    settings = Settings(admin_token=TOKEN)
    async with serving(Handler(library, MemoryStore()), settings) as url, \
            chromium() as browser:
        page = await new_page(browser)
        response = await page.goto(f"{url}/manage/schedule")
        assert response is not None and response.status == 401
        assert await page.locator("form.login").is_visible()
        await screenshot(page, tmp_path, "login")
        await page.fill("#token", "not-the-token-0123456789")
        await page.click("form.login button")
        assert "not the admin token" in await page.locator("[role=alert]").inner_text()
        assert await page.context.cookies() == []
        await page.fill("#token", TOKEN)
        await page.click("form.login button")
        await page.locator("h1:has-text('Schedule')").wait_for()
        assert page.url == f"{url}/manage/schedule"
        cookies = await page.context.cookies()
        assert [(c["name"], c["httpOnly"], c["secure"], c["sameSite"], c["path"])
                for c in cookies] == [(COOKIE, True, True, "Strict", "/manage")]
        assert await page.evaluate("document.cookie") == ""
        await page.click("text=Playbooks")
        await page.locator("details.playbook").first.wait_for()
        await page.click("form.signout button")
        await page.locator("form.login").wait_for()
        assert await page.context.cookies() == []
        response = await page.goto(f"{url}/manage/")
        assert response is not None and response.status == 401
