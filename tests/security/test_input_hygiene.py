"""Input hygiene: file names, archives, user text in pages, CSRF, headers, slow clients, logins.

The first half runs in-process against the populated world; the second half
needs real sockets (header limits, slow clients, parallel logins) and runs
against a live ``podium-server serve`` with short timeouts.
"""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import PASSWORD, auth
from tests.security.live import LiveServer, open_challenge
from tests.security.world import World, submit_csv


@pytest.fixture
def world(small_world: World) -> World:
    """These tests need the main challenge only."""
    return small_world


# ---- file names -------------------------------------------------------------------------

BAD_PUBLIC_NAMES = [
    "..",
    "...",
    ".hidden",
    "..%2Fpodium.db",
    "..%2F..%2Fetc%2Fpasswd",
    "%2E%2E%2Fevil.csv",
    "a%2Fb.csv",
    "a%5Cb.csv",
    "evil%00.csv",
    "a..b.csv",
    "name%20with%20space.csv",
    "%C3%BC.csv",
    "x" * 201,
    "con%0D%0AX-Injected:%201",
    "-rf",
]


def test_public_file_names_cannot_escape_or_smuggle(world: World, data_dir: Path) -> None:
    slug = world.slugs["main"]
    before = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*"))
    for name in BAD_PUBLIC_NAMES:
        response = world.api.put(
            f"/api/v1/challenges/{slug}/files/{name}",
            content=b"id,x\n1,2\n",
            headers=auth(world.tokens["organizer"] or ""),
        )
        assert response.status_code in (404, 405, 422), (name, response.status_code)
        download = world.get("owner", f"/api/v1/challenges/{slug}/files/{name}")
        # (The client resolves a bare ".." itself, to the challenge; no file comes back.)
        served = "octet-stream" in download.headers.get("content-type", "")
        assert not served and download.status_code != 500, (name, download.status_code)
    listed = {f["name"] for f in world.get("owner", f"/api/v1/challenges/{slug}/files").json()}
    assert listed == set(world.files)
    after = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*"))
    new = [p for p in after if p not in before and not p.startswith("blobs/")]
    assert all(p.startswith(("podium.db", "blobs")) for p in new), new


HOSTILE_UPLOAD_NAMES = [
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/absolute/path.csv",
    "C:\\temp\\x.csv",
    '"quoted";name=x.csv',
    "new\r\nline.csv",
    "<script>alert(1)</script>.csv",
    "ünïcødé-😀.csv",
    ".",
    "..",
    ".bashrc",
    "x" * 3000 + ".csv",
]


def _safe_stored_name(name: str) -> bool:
    return (
        bool(name)
        and "/" not in name
        and "\\" not in name
        and ".." not in name
        and not name.startswith(".")
        and all(ch.isprintable() and ch not in "\"'<>;\r\n" for ch in name)
        and len(name) <= 200
    )


def test_submission_file_names_are_sanitized_and_the_archive_has_no_zip_slip(
    world: World, tmp_path: Path
) -> None:
    slug = world.slugs["main"]
    token = world.tokens["owner"] or ""
    stored = []
    for index, name in enumerate(HOSTILE_UPLOAD_NAMES):
        response = submit_csv(
            world.api, token, slug, world.hidden.predictions(index % 19, 3), "", name
        )
        assert response.status_code == 201, (name, response.text)
        body = response.json()
        assert _safe_stored_name(body["file_name"]), (name, body["file_name"])
        download = world.get("owner", f"/api/v1/submissions/{body['id']}/file")
        assert download.status_code == 200
        disposition = download.headers["content-disposition"]
        assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
        stored.append(body["id"])
    # The team renames itself to a formula: exports must show it as text.
    world.api.patch(
        f"/api/v1/challenges/{slug}/team",
        json={"name": '=HYPERLINK("http://evil","x")'},
        headers=auth(token),
    )
    archive = world.get("organizer", f"/api/v1/challenges/{slug}/submissions-archive")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        names = zipped.namelist()
        for entry in names:
            path = PurePosixPath(entry)
            assert not path.is_absolute() and ".." not in path.parts and "\\" not in entry, entry
            assert entry in ("manifest.csv", "manifest.json") or entry.startswith("submissions/")
            target = (tmp_path / entry).resolve()
            assert target.is_relative_to(tmp_path.resolve()), entry
        zipped.extractall(tmp_path)
        manifest = zipped.read("manifest.csv").decode()
    assert len([n for n in names if n.startswith("submissions/")]) >= len(stored)
    export = world.get("organizer", f"/api/v1/challenges/{slug}/export").text
    for document in (manifest, export):
        cells = [cell for row in csv.reader(io.StringIO(document)) for cell in row]
        formulas = [
            c
            for c in cells
            if c.startswith(("=", "+", "@")) or c.startswith("-") and not _number(c)
        ]
        assert not formulas, formulas
        assert '\'=HYPERLINK("http://evil","x")' in cells


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_nul_characters_anywhere_get_a_4xx_not_a_500(world: World) -> None:
    """PostgreSQL refuses NUL in text where SQLite stores it: either way, never a 500."""
    api, slug = world.api, world.slugs["main"]
    owner, organizer = auth(world.tokens["owner"] or ""), auth(world.tokens["organizer"] or "")
    responses = [
        api.get("/api/v1/challenges/a%00b", headers=owner),
        api.get(f"/api/v1/challenges/{slug}/files/x%00.csv", headers=owner),
        api.get(f"/c/{slug}/teams/a%00b"),
        api.patch(f"/api/v1/challenges/{slug}/team", json={"name": "a\u0000b"}, headers=owner),
        api.patch(f"/api/v1/challenges/{slug}", json={"title": "t\u0000"}, headers=organizer),
        api.post("/api/v1/users", json={"username": "nul", "password": "pass\u0000word-long"}),
        api.post("/api/v1/tokens", json={"username": "alan\u0000", "password": PASSWORD}),
        api.post(
            "/api/v1/tokens", json={"username": "alan", "password": PASSWORD, "name": "a\u0000"}
        ),
        submit_csv(api, world.tokens["owner"] or "", slug, world.hidden.predictions(1, 1), "m\x00"),
        api.post(
            f"/api/v1/challenges/{slug}/team/join", json={"code": "abc\u0000def"}, headers=owner
        ),
    ]
    for response in responses:
        assert response.status_code < 500, (response.request.url, response.text)


# ---- user text in pages -----------------------------------------------------------------

XSS = {
    "team": '<b id="xss-team">T</b><script>window.xssTeam=1</script>',
    "message": '<img src=x id="xss-msg" onerror="window.xssMsg=1">',
    "title": '<svg id="xss-title" onload="window.xssTitle=1">',
    "description": (
        '<script>window.xssDesc=1</script>\n\n<img src=x id="xss-desc" onerror="window.x=1">\n\n'
        '[click](javascript:window.xssLink=1) <a href="javascript:window.xssA=1">a</a> '
        '<iframe id="xss-frame" src="https://evil.example"></iframe>'
    ),
}


class _Markup(HTMLParser):
    """Collects what would run or load: scripts, on* handlers, javascript: URLs, frames."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False
        self._json_island = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("iframe", "object", "embed", "frame"):
            self.problems.append(f"<{tag}>")
        if tag == "script":
            # Allowed: our static files, and JSON data islands (which must hold no raw "<").
            self._json_island = values.get("type") == "application/json"
            if not self._json_island and not (values.get("src") or "").startswith("/static/"):
                self.problems.append(f"inline or foreign <script> {values}")
            self._in_script = True
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            url = (value or "").strip().lower().replace("\t", "")
            if name in ("href", "src", "action", "formaction") and url.startswith(
                ("javascript:", "data:t")
            ):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "id" and value and value.startswith("xss-"):
                self.problems.append(f"injected element <{tag} id={value}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self._json_island and "<" in data:
            self.problems.append(f"raw '<' in a JSON data island: {data[:80]!r}")
        elif self._in_script and not self._json_island and "xss" in data.lower():
            self.problems.append(f"user text inside a script: {data[:80]!r}")


def _hostile_world(world: World) -> str:
    slug = world.slugs["main"]
    organizer, owner = world.tokens["organizer"] or "", world.tokens["owner"] or ""
    response = world.api.patch(
        f"/api/v1/challenges/{slug}",
        json={"title": XSS["title"], "description": XSS["description"]},
        headers=auth(organizer),
    )
    assert response.status_code == 200, response.text
    response = world.api.patch(
        f"/api/v1/challenges/{slug}/team", json={"name": XSS["team"]}, headers=auth(owner)
    )
    assert response.status_code == 200, response.text
    response = submit_csv(world.api, owner, slug, world.hidden.predictions(19, 3), XSS["message"])
    assert response.status_code == 201, response.text
    return slug


def test_user_written_text_is_escaped_in_every_page(world: World) -> None:
    slug = _hostile_world(world)
    team = quote(XSS["team"], safe="")
    pages = [
        "/",
        f"/c/{slug}",
        f"/c/{slug}?board=private",
        f"/c/{slug}?projector=1",
        f"/c/{slug}/teams/{team}",
        f"/c/{slug}/submissions",
        "/login?next=javascript:alert(1)",
        "/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        "/c/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ]
    problems = []
    for role in ("owner", "other", "organizer", "anonymous"):
        token = world.tokens.get(role)
        headers = {"Cookie": f"podium_session={token}"} if token else {}
        for url in pages:
            response = world.api.get(url, headers=headers, follow_redirects=False)
            if "html" not in response.headers.get("content-type", ""):
                continue
            parser = _Markup()
            parser.feed(response.text)
            problems += [f"{role} {url}: {p}" for p in parser.problems]
            if "<script>alert(1)" in response.text:
                problems.append(f"{role} {url}: reflected <script>")
    assert not problems, "\n".join(problems[:30])


def test_cookie_authenticated_api_writes_need_the_csrf_header(world: World) -> None:
    from server.accounts.sessions import CSRF_HEADER, csrf_token
    from server.config import get_settings

    token = world.tokens["owner"] or ""
    cookie = {"Cookie": f"podium_session={token}"}
    url = f"/api/v1/challenges/{world.slugs['main']}/team/invite"
    assert world.api.post(url, headers=cookie).status_code == 403
    forged = {**cookie, CSRF_HEADER: "0" * 64}
    assert world.api.post(url, headers=forged).status_code == 403
    good = {**cookie, CSRF_HEADER: csrf_token(get_settings().secret_key, token)}
    assert world.api.post(url, headers=good).status_code == 200
    # Reads need no token; bearer clients never do.
    assert world.api.get("/api/v1/me", headers=cookie).status_code == 200
    assert world.api.post(url, headers=auth(token)).status_code == 200


def test_revoked_tokens_stop_working_everywhere(world: World) -> None:
    token = world.tokens["owner"] or ""
    mine = world.get("owner", "/api/v1/tokens").json()
    current = next(t for t in mine if token.startswith(t["prefix"]))
    assert (
        world.api.delete(f"/api/v1/tokens/{current['id']}", headers=auth(token)).status_code == 204
    )
    for url in ("/api/v1/me", f"/api/v1/submissions/{world.submissions['a1']}"):
        assert world.api.get(url, headers=auth(token)).status_code == 401
    page = world.api.get(
        f"/c/{world.slugs['main']}/submissions",
        headers={"Cookie": f"podium_session={token}"},
        follow_redirects=False,
    )
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_every_response_carries_the_security_headers(world: World) -> None:
    urls = [
        "/",
        "/api/v1/health",
        f"/c/{world.slugs['main']}",
        "/api/v1/challenges/none",
        "/static/img/podium.svg",
        "/docs",
        f"/api/v1/submissions/{world.submissions['a1']}/file",
    ]
    for url in urls:
        response = world.get("owner", url)
        assert response.headers.get("x-content-type-options") == "nosniff", url
        assert response.headers.get("x-frame-options") == "DENY", url
        assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), url
        assert "script-src 'self'" in response.headers["content-security-policy"], url


def test_session_cookies_are_http_only_and_same_site(world: World) -> None:
    from server.accounts.sessions import csrf_token
    from server.config import get_settings
    from server.web.context import NONCE_PREFIX

    response = world.api.post(
        "/login",
        data={
            "username": "alan",
            "password": PASSWORD,
            "csrf_token": csrf_token(get_settings().secret_key, NONCE_PREFIX + "n"),
        },
        headers={"Cookie": "podium_csrf=n"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"].lower()
    assert "podium_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


# ---- the live server: header limits, slow clients, parallel logins ----------------------

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
MAX_FAILURES = 5


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: str
) -> Iterator[LiveServer]:
    live = LiveServer(
        tmp_path_factory.mktemp("hygiene"),
        migrated_template,
        workers=2,
        env={
            "PODIUM_REQUEST_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            "PODIUM_REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "PODIUM_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        },
    )
    live.start()
    yield live
    live.stop()


def _raw(server: LiveServer, data: bytes, wait: float = 15) -> bytes:
    """Send raw bytes, return what comes back until the server closes (or ``wait`` passes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        try:
            sock.sendall(data)
        except OSError:
            return b""
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def _healthy(server: LiveServer) -> bool:
    return httpx.get(f"{server.url}/api/v1/health", timeout=10).status_code == 200


def test_huge_and_numerous_headers_are_refused(server: LiveServer) -> None:
    huge = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    many = (
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(20_000))
        + b"\r\n"
    )
    for request in (huge, many):
        answer = _raw(server, request)
        assert answer.split(b" ")[1:2] in ([b"400"], [b"413"], [b"431"]), answer[:100]
        assert _healthy(server)


def _opened_and_closed_within(server: LiveServer, head: bytes, drip: bytes, seconds: float) -> bool:
    """Send ``head``, then ``drip`` every half second; True when the server hangs up in time."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=seconds) as sock:
        sock.sendall(head)
        while time.monotonic() - started < seconds:
            time.sleep(0.5)
            try:
                sock.sendall(drip)
                sock.settimeout(0.01)
                if sock.recv(65536) == b"":
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
            finally:
                sock.settimeout(seconds)
    return False


def test_slow_request_heads_are_dropped(server: LiveServer) -> None:
    """Slowloris: a head that trickles in is cut off after the header timeout."""
    results: list[bool] = []

    def loris() -> None:
        results.append(
            _opened_and_closed_within(
                server, b"GET /api/v1/health HTTP/1.1\r\n", b"X-A: b\r\n", HEADER_TIMEOUT * 5
            )
        )

    threads = [threading.Thread(target=loris) for _ in range(5)]
    for thread in threads:
        thread.start()
    # Meanwhile the server answers everyone else.
    assert _healthy(server)
    for thread in threads:
        thread.join()
    assert results == [True] * 5
    # A connection that sends nothing at all is closed too.
    with socket.create_connection(("127.0.0.1", server.port), timeout=HEADER_TIMEOUT * 5) as sock:
        assert sock.recv(1) == b""  # closed by the server; a timeout would raise


def test_slow_request_bodies_get_408(server: LiveServer) -> None:
    organizer = server.create_organizer("olga-slow")
    (participant,) = [server.create_participant("slowpoke")]
    open_challenge(server, organizer, "slow")
    requests = {
        "json": (
            b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 200\r\n\r\n{"username": '
        ),
        "multipart": (
            b"POST /api/v1/challenges/slow/submissions HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + participant.encode() + b"\r\n"
            b"Content-Type: multipart/form-data; boundary=BOUNDARY\r\n"
            b"Content-Length: 100000\r\n\r\n--BOUNDARY\r\n"
            b'Content-Disposition: form-data; name="file"; filename="p.csv"\r\n\r\nid,label\n'
        ),
        "raw upload": (
            b"PUT /api/v1/challenges/slow/files/big.csv HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + organizer.encode() + b"\r\n"
            b"Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\nid,x\n"
        ),
    }
    for name, head in requests.items():
        started = time.monotonic()
        answer = _raw(server, head, wait=BODY_TIMEOUT * 10)
        assert answer.startswith(b"HTTP/1.1 408"), (name, answer[:200])
        assert time.monotonic() - started < BODY_TIMEOUT * 10
    with server.client(organizer) as client:
        files = client.get("/api/v1/challenges/slow/files").json()
        assert "big.csv" not in {f["name"] for f in files}
        assert client.get("/api/v1/challenges/slow/submissions").json() == []


def test_login_brute_force_gets_429_even_in_parallel(server: LiveServer) -> None:
    server.create_participant("victim")
    barrier = threading.Barrier(30)

    def guess(index: int) -> int:
        with server.client() as client:
            barrier.wait()
            return client.post(
                "/api/v1/tokens", json={"username": "victim", "password": f"guess-{index}-xx"}
            ).status_code

    threads_results: list[int] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        status = guess(index)
        with lock:
            threads_results.append(status)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = Counter(threads_results)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= MAX_FAILURES, f"{statuses[401]} passwords were checked: {statuses}"
    # Guessing on, one at a time: the window allows MAX_FAILURES checks in all, no more.
    checked = statuses[401]
    with server.client() as client:
        for index in range(2 * MAX_FAILURES):
            response = client.post(
                "/api/v1/tokens", json={"username": "victim", "password": f"again-{index}-xx"}
            )
            if response.status_code == 429:
                break
            assert response.status_code == 401, response.text
            checked += 1
        assert checked == MAX_FAILURES, checked
        right = client.post("/api/v1/tokens", json={"username": "victim", "password": PASSWORD})
        assert right.status_code == 429, "the lockout holds for the right password too"
        assert int(right.headers["retry-after"]) > 0


def test_xss_payloads_do_not_run_in_chromium(server: LiveServer, chromium: Any) -> None:
    """Defense in depth: the pages in a real browser, leaderboard script included."""

    organizer = server.create_organizer("olga-xss")
    token = server.create_participant("xss-author")
    hidden = open_challenge(server, organizer, "xss")
    with server.client(organizer) as client:
        client.patch(
            "/api/v1/challenges/xss",
            json={"title": XSS["title"], "description": XSS["description"]},
        )
    with server.client(token) as client:
        response = client.post(
            "/api/v1/challenges/xss/submissions",
            files={"file": ("p.csv", hidden.predictions(10, 10), "text/csv")},
            data={"message": XSS["message"]},
        )
        assert response.status_code == 201, response.text
        assert (
            client.patch("/api/v1/challenges/xss/team", json={"name": XSS["team"]}).status_code
            == 200
        )
    pages = ["/", "/c/xss", f"/c/xss/teams/{quote(XSS['team'], safe='')}", "/c/xss/submissions"]
    dialogs: list[str] = []
    context = chromium.new_context(base_url=server.url)
    try:
        context.add_cookies([{"name": "podium_session", "value": token, "url": server.url}])
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        for url in pages:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            injected = page.evaluate(
                "() => [document.querySelectorAll('[id^=xss-]').length,"
                " Object.keys(window).filter(k => k.startsWith('xss')).length]"
            )
            assert injected == [0, 0], (url, injected)
    finally:
        context.close()
    assert dialogs == []
