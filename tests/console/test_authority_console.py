"""The console's upload and route pages by who may publish: a street's administrator publishes
their street's variant only; district-wide publishing is the district administrators'."""

from __future__ import annotations

import base64
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.authority.helpers import VARIANT_YAML
from tests.console.conftest import Browserless
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.store.models import DefinitionVersion

CONTENT = base64.b64encode(VARIANT_YAML.encode()).decode()
LIST = base64.b64encode(
    (DEFAULT_DEFINITIONS / "items.csv")
    .read_text(encoding="utf-8")
    .replace(",local,D-GA,3,", ",local,D-GA,2,", 1)
    .encode()
).decode()


def _rows(sessions: sessionmaker[Session]) -> list[tuple[str, int, str | None]]:
    with sessions() as s:
        return [
            (r.kind, r.version, r.street)
            for r in s.execute(
                select(DefinitionVersion)
                .where(DefinitionVersion.kind.in_(("route", "items")))
                .order_by(DefinitionVersion.id)
            ).scalars()
        ]


def test_a_street_administrator_is_offered_and_allowed_their_streets_variant_only(
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
    make_case: Callable[..., int],
) -> None:
    admin = sign_in_client("S-ZHL", "admin")
    admin.get("/console/admin/upload")
    r = admin.post("/console/admin/upload", {"content": CONTENT, "filename": "incident.yaml"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "发布为 珠海路街道 的街道版本" in page  # the street's own button
    assert '<span class="hint">全区适用</span>' not in page  # no district-wide button
    assert "只有区级管理员可以发布全区适用的流程。" in page
    before = _rows(sessions)
    # A forged district-wide publish, or one for another street: refused, nothing published.
    for street in ("", "S-XGZ"):
        form = {"content": CONTENT, "filename": "incident.yaml", "publish": "yes"}
        r = admin.post("/console/admin/upload", {**form, "street": street})
        assert r.status_code == 403, street
        assert "只有" in r.get_data(as_text=True)
    # The list: checked and diffed, but no publish button, and a forged publish is refused.
    r = admin.post("/console/admin/upload", {"content": LIST, "filename": "items.csv"})
    assert r.status_code == 200 and ">发布</button>" not in r.get_data(as_text=True)
    assert "只有区级管理员可以发布权责清单" in r.get_data(as_text=True)
    r = admin.post(
        "/console/admin/upload", {"content": LIST, "filename": "items.csv", "publish": "yes"}
    )
    assert r.status_code == 403
    assert _rows(sessions) == before
    # Their own street: published as the street's variant, shown on the route pages.
    r = admin.post(
        "/console/admin/upload",
        {"content": CONTENT, "filename": "incident.yaml", "publish": "yes", "street": "S-ZHL"},
    )
    assert r.status_code == 302
    kind, version, street = _rows(sessions)[-1]
    assert (kind, street) == ("route", "S-ZHL")
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert f"流程 incident 已为 S-ZHL 发布为第 {version} 版。" in page
    assert "珠海路街道 的街道版本" in page
    routes = admin.get("/console/admin/routes").get_data(as_text=True)
    assert f"珠海路街道 v{version}" in routes
    # A case opened there now says, on its page, that it is on the variant.
    case = make_case("UD-01")
    page = admin.get(f"/console/cases/{case}").get_data(as_text=True)
    assert f"v{version} · 珠海路街道 的街道版本" in page
    # Uploaded again: diffed against the street's variant in force.
    r = admin.post("/console/admin/upload", {"content": CONTENT, "filename": "incident.yaml"})
    assert f"与 珠海路街道 现行街道版本 v{version} 相比的变化" in r.get_data(as_text=True)


def test_a_district_administrator_publishes_district_wide_and_for_streets(
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
) -> None:
    admin = sign_in_client("X-SN", "admin")
    admin.get("/console/admin/upload")
    r = admin.post("/console/admin/upload", {"content": CONTENT, "filename": "incident.yaml"})
    page = r.get_data(as_text=True)
    assert '<span class="hint">全区适用</span>' in page and "发布为街道版本" in page
    assert '<option value="S-XGZ">' in page
    form = {"content": CONTENT, "filename": "incident.yaml", "publish": "yes"}
    assert admin.post("/console/admin/upload", {**form, "street": "S-XGZ"}).status_code == 302
    assert admin.post("/console/admin/upload", form).status_code == 302
    r = admin.post(
        "/console/admin/upload", {"content": LIST, "filename": "items.csv", "publish": "yes"}
    )
    assert r.status_code == 302
    assert [(k, s) for k, _v, s in _rows(sessions)[-3:]] == [
        ("route", "S-XGZ"),
        ("route", None),
        ("items", None),
    ]


def test_a_street_administrator_withdraws_their_variant_on_its_page(
    sign_in_client: Callable[..., Browserless],
    sessions: sessionmaker[Session],
) -> None:
    admin = sign_in_client("S-ZHL", "admin")
    other = sign_in_client("S-XGZ", "admin")
    admin.get("/console/admin/upload")
    form = {"content": CONTENT, "filename": "incident.yaml", "publish": "yes", "street": "S-ZHL"}
    where = admin.post("/console/admin/upload", form).headers["Location"]
    assert "撤销此街道版本" in admin.get(where).get_data(as_text=True)
    # Not to the other street's administrator, whose forged form is refused.
    assert "撤销此街道版本" not in other.get(where).get_data(as_text=True)
    r = other.post("/console/admin/routes/incident/withdraw", {"street": "S-ZHL"})
    assert r.status_code == 403
    with sessions() as s:
        assert list(registry.route_variants(s, "incident")) == ["S-ZHL"]
    admin.get(where)
    r = admin.post("/console/admin/routes/incident/withdraw", {"street": "S-ZHL"})
    assert r.status_code == 302
    assert (
        "珠海路街道"
        not in admin.get("/console/admin/routes").get_data(as_text=True).split("现行街道版本")[1]
    )
    with sessions() as s:
        assert registry.route_variants(s, "incident") == {}
    r = admin.post("/console/admin/routes/incident/withdraw", {"street": "S-ZHL"})
    assert r.status_code == 404
