"""`streetflow routes publish`: an administrator publishes a street's variant (or, a district
administrator, the district's version) from the command line, refused like on the API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.authority.helpers import VARIANT_YAML
from tests.listadmin.helpers import run
from workflow import users
from workflow.catalog import registry
from workflow.store.models import DefinitionVersion

PASSWORD = "a-long-test-password-2026"


def _add(sessions: sessionmaker[Session]) -> Callable[[str, str, str], None]:
    def add(name: str, unit: str, role: str) -> None:
        with sessions.begin() as s:
            users.add_user(s, name=name, unit=unit, role=role, password=PASSWORD, actor="test")

    return add


def _variants(sessions: sessionmaker[Session]) -> list[tuple[int, str | None]]:
    with sessions() as s:
        return [
            (r.version, r.street)
            for r in s.execute(
                select(DefinitionVersion)
                .where(DefinitionVersion.kind == "route", DefinitionVersion.name == "incident")
                .order_by(DefinitionVersion.version)
            ).scalars()
        ]


def test_routes_publish_for_a_street_and_its_refusals(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    add = _add(sessions)
    add("zhl-admin", "S-ZHL", "admin")
    add("xgz-admin", "S-XGZ", "admin")
    add("zhl-staff", "S-ZHL", "staff")
    add("district", "X-SN", "admin")
    file = tmp_path / "zhl-incident.yaml"
    file.write_text(VARIANT_YAML, encoding="utf-8")
    before = _variants(sessions)
    for args, says in (
        (["--as", "zhl-admin"], "district administrator"),  # district-wide
        (["--street", "S-ZHL", "--as", "xgz-admin"], "only an administrator of S-ZHL"),
        (["--street", "S-ZHL", "--as", "zhl-staff"], "only an administrator of S-ZHL"),
        (["--street", "S-ZHL", "--as", "nobody"], "no active user 'nobody'"),
        (["--street", "W-ZHL-01", "--as", "district"], "not a street office"),
    ):
        code, out = run("routes", "publish", str(file), *args)
        assert code == 1 and says in out, (args, out)
    code, out = run(
        "routes", "publish", str(file), "--street", "S-ZHL", "--as", "zhl-admin", "--dry-run"
    )
    assert code == 0 and "dry run: nothing published" in out, out
    assert _variants(sessions) == before
    code, out = run("routes", "publish", str(file), "--street", "S-ZHL", "--as", "zhl-admin")
    assert code == 0, out
    version = _variants(sessions)[-1][0]
    assert out.strip() == f"route incident for S-ZHL: version {version} (published)"
    assert _variants(sessions)[-1] == (version, "S-ZHL")
    with sessions() as s:
        row = registry.latest_row(s, "route", "incident", "S-ZHL")
        assert row is not None and row.published_by == "zhl-admin"
    code, out = run("routes", "publish", str(file), "--street", "S-ZHL", "--as", "district")
    assert code == 0 and "(unchanged)" in out
    # The district's administrator publishes for the whole district.
    district = tmp_path / "incident.yaml"
    district.write_text(VARIANT_YAML.replace("title_en: ", "title_en: New "), encoding="utf-8")
    code, out = run("routes", "publish", str(district), "--as", "district")
    assert code == 0 and out.startswith("route incident: version"), out
    assert _variants(sessions)[-1] == (version + 1, None)
    # A broken file: every problem, nothing published.
    bad = tmp_path / "bad.yaml"
    bad.write_text(VARIANT_YAML.replace("initial: reported", "initial: nowhere"), encoding="utf-8")
    code, out = run("routes", "publish", str(bad), "--street", "S-ZHL", "--as", "zhl-admin")
    assert code == 1 and "nothing published" in out
    assert _variants(sessions)[-1] == (version + 1, None)


def test_routes_publish_explains_itself() -> None:
    code, out = run("routes", "publish", "--help")
    assert code == 0 and "Example:" in out and "Exit codes:" in out
    assert "--street" in out and "--as" in out


def test_routes_withdraw(env: Path, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    add = _add(sessions)
    add("zhl-admin", "S-ZHL", "admin")
    add("xgz-admin", "S-XGZ", "admin")
    file = tmp_path / "zhl-incident.yaml"
    file.write_text(VARIANT_YAML, encoding="utf-8")
    code, out = run("routes", "withdraw", "incident", "--street", "S-ZHL", "--as", "zhl-admin")
    assert code == 1 and "no variant" in out
    assert run("routes", "publish", str(file), "--street", "S-ZHL", "--as", "zhl-admin")[0] == 0
    code, out = run("routes", "withdraw", "incident", "--street", "S-ZHL", "--as", "xgz-admin")
    assert code == 1 and "only an administrator of S-ZHL" in out
    code, out = run("routes", "withdraw", "incident", "--street", "S-ZHL", "--as", "zhl-admin")
    assert code == 0 and "variant withdrawn" in out
    with sessions() as s:
        assert registry.route_variants(s, "incident") == {}
    code, out = run("routes", "withdraw", "--help")
    assert code == 0 and "Example:" in out and "Exit codes:" in out
