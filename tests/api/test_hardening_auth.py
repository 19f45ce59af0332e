"""Sign-in as an attacker tries it: one count of failed logins per user name (however it is
padded or spelt, API and console together), sessions that end on the server, the cookie's flags
and the pages' security headers, weak passwords, and the `users` commands that manage all this.
Over a real server with `requests`, and the CLI through click's runner."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from api.cli import main
from tests.api.conftest import PASSWORD, Client
from workflow import users
from workflow.errors import Conflict, InvalidInput
from workflow.store.models import ConsoleSession, TrailEvent, User

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_PASSWORD = "a fresh long secret 7"


class Console:
    """A browser's view of the console through requests: the cookie jar and the forms' tokens."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, **kw: object) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=30, **kw)  # type: ignore[arg-type]

    def _token(self, path: str) -> str:
        m = CSRF.search(self.get(path).text)
        assert m, f"no form on {path}"
        return m.group(1)

    def login(self, name: str, password: str) -> requests.Response:
        token = self._token("/console/login")
        return self.http.post(
            self.base + "/console/login",
            data={"csrf_token": token, "username": name, "password": password},
            allow_redirects=False,
            timeout=30,
        )

    def logout(self) -> requests.Response:
        token = self._token("/console/inbox")
        return self.http.post(
            self.base + "/console/logout",
            data={"csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )

    @property
    def cookie(self) -> str:
        value = self.http.cookies.get("session")
        assert value
        return value


def signed_in_with(base: str, cookie: str) -> bool:
    """Whether a copied session cookie, sent from anywhere, opens the clerk's inbox."""
    r = requests.get(
        base + "/console/inbox",
        headers={"Cookie": f"session={cookie}"},
        allow_redirects=False,
        timeout=30,
    )
    if r.status_code == 302:
        assert "/console/login" in r.headers["Location"]
        return False
    assert r.status_code == 200, r.status_code
    return True


def api_login(base: str, name: str, password: str) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/auth/token", json={"username": name, "password": password}, timeout=30
    )


def cli(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.output


# --- one count of failed logins per user name -----------------------------------------------


def test_padded_and_case_variants_of_a_name_share_one_count(
    server: str, add_user: Callable[..., str]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    variants = [f" {name}", f"{name} ", name.upper(), f"\t{name.title()}\n", f"  {name}  "]
    for variant in variants:
        assert api_login(server, variant, "wrong guess").status_code == 401
    # The sixth try is refused even with the right password, under any spelling.
    for spelling in (name, name.upper(), f" {name} "):
        r = api_login(server, spelling, PASSWORD)
        assert r.status_code == 429, (spelling, r.text)
        assert "Retry-After" in r.headers


def test_any_spelling_of_the_name_signs_in_as_the_one_user(
    server: str, add_user: Callable[..., str]
) -> None:
    add_user("W-ZHL-01", "clerk", name="Wang.Fang")
    r = api_login(server, "  wang.fang ", PASSWORD)
    assert r.status_code == 201, r.text
    me = Client(server, r.json()["token"])
    assert me.get("/units").status_code == 200
    console = Console(server)
    assert console.login("WANG.FANG", PASSWORD).status_code == 302
    assert console.get("/console/inbox").status_code == 200


def test_console_failures_count_towards_the_api(server: str, add_user: Callable[..., str]) -> None:
    name = add_user("W-ZHL-01", "clerk")
    console = Console(server)
    for spelling in (name, name.upper(), f" {name}", name, f"{name} "):
        assert console.login(spelling, "wrong guess").status_code == 401
    r = api_login(server, name, PASSWORD)
    assert r.status_code == 429, r.text


def test_api_failures_count_towards_the_console(server: str, add_user: Callable[..., str]) -> None:
    name = add_user("W-ZHL-01", "clerk")
    for _ in range(5):
        assert api_login(server, name.upper(), "wrong guess").status_code == 401
    console = Console(server)
    r = console.login(f" {name} ", PASSWORD)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.text  # the login page again, saying why
    assert console.get("/console/inbox").status_code == 302  # not signed in


def test_console_and_api_failures_add_up(server: str, add_user: Callable[..., str]) -> None:
    name = add_user("W-ZHL-01", "clerk")
    other = add_user("W-ZHL-01", "clerk")
    console = Console(server)
    for _ in range(3):
        assert console.login(name, "wrong guess").status_code == 401
    for _ in range(2):
        assert api_login(server, name, "wrong guess").status_code == 401
    assert api_login(server, name, PASSWORD).status_code == 429
    assert console.login(name, PASSWORD).status_code == 429
    # Another user's count is their own.
    assert api_login(server, other, PASSWORD).status_code == 201


# --- user names are unique regardless of case --------------------------------------------------


def test_a_name_differing_only_in_case_is_taken(env: Path, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        users.add_user(
            s, name="Wang", unit="W-ZHL-01", role="clerk", password=PASSWORD, actor="test"
        )
    for other in ("wang", "WANG", " wang "):
        with sessions.begin() as s, pytest.raises(Conflict, match="'Wang'"):
            users.add_user(
                s, name=other, unit="W-ZHL-02", role="clerk", password=PASSWORD, actor="test"
            )
    code, out = cli("users", "add", "wAnG", "--unit", "W-ZHL-02", "--role", "clerk",
                    "--password-stdin", input=PASSWORD)  # fmt: skip
    assert code == 1 and "exists already" in out


def test_the_database_refuses_a_second_spelling_of_a_name(
    sessions: sessionmaker[Session],
) -> None:
    """Behind the service's back too: the folded name is unique in the schema."""
    with sessions.begin() as s:
        users.add_user(
            s, name="Wang", unit="W-ZHL-01", role="clerk", password=PASSWORD, actor="test"
        )
    with sessions.begin() as s:
        hashed = s.execute(select(User.password_hash)).scalars().first()
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.execute(
            text(
                "INSERT INTO users (name, name_key, unit, role, password_hash, disabled, "
                "created_at) VALUES ('wang', 'wang', 'W-ZHL-01', 'clerk', :h, false, "
                "CURRENT_TIMESTAMP)"
            ),
            {"h": hashed},
        )


# --- sessions end on the server ---------------------------------------------------------------


def test_a_copied_cookie_is_worthless_after_sign_out(
    server: str, add_user: Callable[..., str]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    console = Console(server)
    assert console.login(name, PASSWORD).status_code == 302
    copied = console.cookie
    assert signed_in_with(server, copied)
    r = console.logout()
    assert r.status_code == 302 and "/console/login" in r.headers["Location"]
    assert not signed_in_with(server, copied)
    # Signing out here ends this session only: another browser of the same user stays in.
    other = Console(server)
    assert other.login(name, PASSWORD).status_code == 302
    again = Console(server)
    assert again.login(name, PASSWORD).status_code == 302
    again.logout()
    assert signed_in_with(server, other.cookie)


def test_disabling_a_user_ends_their_sessions(
    server: str, add_user: Callable[..., str], env: Path
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    console = Console(server)
    assert console.login(name, PASSWORD).status_code == 302
    copied = console.cookie
    code, out = cli("users", "disable", name)
    assert code == 0, out
    assert not signed_in_with(server, copied)
    assert console.login(name, PASSWORD).status_code == 401
    # Enabled again, the old cookie stays dead; a new sign-in works.
    code, out = cli("users", "enable", name)
    assert code == 0, out
    assert not signed_in_with(server, copied)
    assert console.login(name, PASSWORD).status_code == 302
    assert console.get("/console/inbox").status_code == 200


def test_a_new_password_ends_sessions_and_tokens(
    server: str, add_user: Callable[..., str], env: Path, sessions: sessionmaker[Session]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    console = Console(server)
    assert console.login(name, PASSWORD).status_code == 302
    copied = console.cookie
    token = api_login(server, name, PASSWORD).json()["token"]
    me = Client(server, token)
    assert me.get("/units").status_code == 200

    code, out = cli("users", "passwd", name, "--password-stdin", input=NEW_PASSWORD + "\n")
    assert code == 0, out
    assert PASSWORD not in out and NEW_PASSWORD not in out
    assert not signed_in_with(server, copied)
    assert me.get("/units").status_code == 401
    assert api_login(server, name, PASSWORD).status_code == 401
    assert api_login(server, name, NEW_PASSWORD).status_code == 201
    assert Console(server).login(name, NEW_PASSWORD).status_code == 302
    with sessions() as s:
        event = s.execute(
            select(TrailEvent).where(TrailEvent.action == "user.password_changed")
        ).scalar_one()
        assert event.actor == "cli" and event.data == {"user": name}


def test_a_session_past_its_lifetime_is_signed_out(
    server: str, add_user: Callable[..., str], sessions: sessionmaker[Session], app: Flask
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    console = Console(server)
    assert console.login(name, PASSWORD).status_code == 302
    with sessions() as s:
        row = s.execute(select(ConsoleSession)).scalar_one()
        lifetime = row.expires_at - row.created_at
    assert lifetime.total_seconds() == 12 * 3600
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600
    with sessions.begin() as s:
        s.execute(update(ConsoleSession).values(expires_at=row.created_at))
    assert not signed_in_with(server, console.cookie)


# --- cookie flags and headers -----------------------------------------------------------------


def set_cookie(r: requests.Response) -> str:
    header = r.headers.get("Set-Cookie", "")
    assert header.startswith("session="), header
    return header.lower()


def test_the_session_cookie_is_httponly_and_samesite(
    server: str, add_user: Callable[..., str]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    console = Console(server)
    cookie = set_cookie(console.login(name, PASSWORD))
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain HTTP here: a Secure cookie would never come back
    assert "expires=" not in cookie  # a browser-session cookie; the server ends it anyway


def test_secure_cookies_behind_https(
    db_url: str, monkeypatch: pytest.MonkeyPatch, add_user: Callable[..., str]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    monkeypatch.setenv("STREETFLOW_SECURE_COOKIES", "1")
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test-secret"})
    monkeypatch.delenv("STREETFLOW_SECURE_COOKIES")
    plain = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test-secret"})
    try:
        for flask_app, base_url in ((app, "http://localhost"), (plain, "https://localhost")):
            client = flask_app.test_client()
            page = client.get("/console/login", base_url=base_url).get_data(as_text=True)
            m = CSRF.search(page)
            assert m
            r = client.post(
                "/console/login",
                base_url=base_url,
                headers={"Referer": f"{base_url}/console/login"},
                data={"csrf_token": m.group(1), "username": name, "password": PASSWORD},
            )
            assert r.status_code == 302, r.get_data(as_text=True)
            cookie = r.headers["Set-Cookie"].lower()
            assert "; secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    finally:
        app.extensions["streetflow.engine"].dispose()
        plain.extensions["streetflow.engine"].dispose()


def test_a_bad_secure_cookies_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREETFLOW_SECURE_COOKIES", "maybe")
    with pytest.raises(ValueError, match="STREETFLOW_SECURE_COOKIES"):
        create_app({"SECRET_KEY": "x"})


def test_no_page_can_be_framed_or_sniffed(server: str, login: Callable[..., Client]) -> None:
    me = login("W-ZHL-01", "clerk")
    for r in (
        requests.get(server + "/console/login", timeout=30),
        me.get("/units"),
        me.get("/no/such/thing"),
        requests.get(server + "/open311/v2/services.json", timeout=30),
        requests.get(server + "/api/v1/docs", timeout=30),
        requests.get(server + "/healthz", timeout=30),
    ):
        assert r.headers["X-Frame-Options"] == "DENY", r.url
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], r.url
        assert r.headers["X-Content-Type-Options"] == "nosniff", r.url


def test_the_console_runs_only_its_own_scripts(server: str, add_user: Callable[..., str]) -> None:
    name = add_user("W-ZHL-01", "clerk")
    console = Console(server)
    console.login(name, PASSWORD)
    for path in ("/console/login", "/console/inbox", "/console/cases/new"):
        r = console.get(path)
        assert r.status_code == 200, path
        csp = {
            d.split()[0]: d.split()[1:]
            for d in r.headers["Content-Security-Policy"].split(";")
            if d.strip()
        }
        assert csp["script-src"] == ["'self'"]
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
        assert csp["form-action"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
        assert "<script>" not in r.text  # nothing inline that the policy would block


# --- weak passwords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short1", "at least 8 characters"),
        (" " * 12, "only spaces"),
        ("\t \t \t \t ", "only spaces"),
        ("aaaaaaaaaaaa", "one character repeated"),
        ("8888888888", "one character repeated"),
        ("password123", "most common"),
        ("P@ssw0rd", "most common"),
        ("Woaini1314", "most common"),
        ("qwertyuiop", "most common"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(
    env: Path, sessions: sessionmaker[Session], password: str, why: str
) -> None:
    code, out = cli("users", "add", "zhao", "--unit", "W-ZHL-01", "--role", "clerk",
                    "--password-stdin", input=password)  # fmt: skip
    assert code == 1 and why in out, out
    with sessions() as s:
        assert users.find_user(s, "zhao") is None


def test_a_weak_new_password_changes_nothing(
    server: str, add_user: Callable[..., str], env: Path
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    token = api_login(server, name, PASSWORD).json()["token"]
    code, out = cli("users", "passwd", name, "--password-stdin", input="12345678\n")
    assert code == 1 and "most common" in out
    code, out = cli("users", "passwd", name, "--password-stdin", input=name.upper())
    assert code == 1 and "user name" in out
    assert Client(server, token).get("/units").status_code == 200  # not ended either
    assert api_login(server, name, PASSWORD).status_code == 201


def test_the_engine_says_why_for_every_interface(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s, pytest.raises(InvalidInput) as caught:
        users.add_user(
            s, name="zhao", unit="W-ZHL-01", role="clerk", password="        ", actor="test"
        )
    assert caught.value.errors == {"password": ["a password cannot be only spaces"]}
    assert users.password_problem("correct horse battery staple", "zhao") is None


# --- users list / enable / passwd -------------------------------------------------------------


def test_users_list_shows_who_without_secrets(
    env: Path, add_user: Callable[..., str], sessions: sessionmaker[Session]
) -> None:
    clerk = add_user("W-ZHL-01", "clerk", name="Li.Na")
    staff = add_user("S-ZHL", "staff", name="zhou")
    with sessions.begin() as s:
        users.disable_user(s, name=staff, actor="test")
    code, out = cli("users", "list")
    assert code == 0, out
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["name", "unit", "role", "enabled"]
    assert [clerk, "W-ZHL-01", "clerk", "yes"] in lines
    assert [staff, "S-ZHL", "staff", "no"] in lines
    assert "argon2" not in out and "$" not in out
    code, out = cli("users", "list", "--json")
    assert code == 0
    assert '{"name": "zhou", "unit": "S-ZHL", "role": "staff", "enabled": false}' in out


def test_users_enable_and_passwd_refuse_what_they_cannot_do(
    env: Path, add_user: Callable[..., str]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    code, out = cli("users", "enable", name)
    assert code == 1 and "enabled already" in out
    code, out = cli("users", "enable", "ghost")
    assert code == 1 and "no user 'ghost'" in out
    code, out = cli("users", "passwd", "ghost", "--password-stdin", input=NEW_PASSWORD)
    assert code == 1 and "no user 'ghost'" in out
    code, out = cli("users", "passwd", name)  # the password comes on stdin, never argv
    assert code == 2 and "--password-stdin" in out


def test_enabling_lets_a_user_sign_in_again_and_is_on_the_trail(
    server: str, add_user: Callable[..., str], env: Path, sessions: sessionmaker[Session]
) -> None:
    name = add_user("W-ZHL-01", "clerk")
    assert cli("users", "disable", name)[0] == 0
    assert api_login(server, name, PASSWORD).status_code == 401
    assert cli("users", "enable", f" {name.upper()} ")[0] == 0
    assert api_login(server, name, PASSWORD).status_code == 201
    with sessions() as s:
        actions = [
            (e.action, e.data)
            for e in s.execute(
                select(TrailEvent).where(TrailEvent.action.like("user.%")).order_by(TrailEvent.seq)
            ).scalars()
        ]
    assert actions[-2:] == [("user.disabled", {"user": name}), ("user.enabled", {"user": name})]


def test_the_users_commands_have_help_with_examples() -> None:
    for command in ("add", "disable", "enable", "passwd", "list"):
        code, out = cli("users", command, "--help")
        assert code == 0
        assert "Example:" in out and "Exit codes:" in out, command
