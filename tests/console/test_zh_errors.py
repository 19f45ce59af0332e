"""Refusals by code: the API keeps its English detail and adds the code; the console says it in
Chinese (English in English mode); the console's error pages are pages, not problem+json."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.console.conftest import Browserless


def test_the_api_adds_the_code_and_params_to_its_english_problem(
    sign_in_client: Callable[..., Browserless], make_case: Callable[..., int], app: Flask
) -> None:
    from tests.api.conftest import PASSWORD

    clerk = sign_in_client("W-ZHL-01", "clerk")
    api = app.test_client()
    token = api.post(
        "/api/v1/auth/token",
        json={"username": clerk.name, "password": PASSWORD},  # type: ignore[attr-defined]
    ).get_json()["token"]
    r = api.get("/api/v1/cases/999999", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body["detail"] == "no case 999999"
    assert body["code"] == "no_case" and body["params"] == {"case": 999999}


def test_an_engine_refusal_is_said_in_chinese_then_in_english(
    sign_in_client: Callable[..., Browserless], make_case: Callable[..., int]
) -> None:
    case_id = make_case("GA-03")
    clerk = sign_in_client("W-ZHL-01", "clerk")
    page = f"/console/cases/{case_id}"
    clerk.get(page)
    # A stale version: the page the clerk came from says why, in Chinese.
    r = clerk.post(
        f"{page}/fire",
        {"trigger": "accept", "version": "7"},
        headers={"Referer": f"http://localhost{page}"},
        follow_redirects=True,
    )
    text = r.get_data(as_text=True)
    assert "现为版本 1，不是 7" in text, text
    assert "is at version" not in text
    # A trigger the route does not have, in English mode: the console's English wording.
    clerk.get("/console/lang/en")
    clerk.get(page)
    r = clerk.post(
        f"{page}/fire",
        {"trigger": "whistle", "version": "1"},
        headers={"Referer": f"http://localhost{page}"},
        follow_redirects=True,
    )
    assert "has no trigger &#39;Whistle&#39;" in r.get_data(as_text=True)


def test_console_errors_are_pages_in_the_layout(
    sign_in_client: Callable[..., Browserless], app: Flask
) -> None:
    clerk = sign_in_client("W-ZHL-01", "clerk")
    r = clerk.get("/console/no-such-page")
    assert r.status_code == 404 and r.mimetype == "text/html"
    text = r.get_data(as_text=True)
    assert "找不到此页面" in text and 'class="top"' in text
    assert "requested URL" not in text
    r = clerk.client.delete("/console/inbox")
    assert r.status_code == 405 and r.mimetype == "text/html" and "Allow" in r.headers
    assert "此页面不接受这种请求" in r.get_data(as_text=True)
    r = clerk.get("/console/cases/999999")
    assert r.status_code == 404 and "没有案件 999999" in r.get_data(as_text=True)
    r = clerk.get("/console/admin/items", follow_redirects=False)  # an administrator's page
    assert r.status_code == 403 and r.mimetype == "text/html"
    assert "此页面仅供：管理员" in r.get_data(as_text=True)
    clerk.get("/console/lang/en")
    r = clerk.get("/console/no-such-page")
    assert r.status_code == 404 and "No such page" in r.get_data(as_text=True)
    # The API keeps problem+json for the same mistakes.
    r = clerk.client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_a_crash_under_the_console_is_a_page_saying_it_was_logged(db_url: str) -> None:
    from api import create_app

    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "t", "TESTING": False})

    def boom() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/console/boom", "boom", boom)
    try:
        r = app.test_client().get("/console/boom")
        assert r.status_code == 500 and r.mimetype == "text/html"
        text = r.get_data(as_text=True)
        assert "已记录" in text and "a bug" not in text
    finally:
        app.extensions["streetflow.engine"].dispose()


def test_an_uploaded_sheet_s_problems_and_changes_are_said_in_chinese(
    sign_in_client: Callable[..., Browserless],
) -> None:
    import io

    from tests.console.conftest import ROOT

    rows = (ROOT / "definitions" / "items.csv").read_text(encoding="utf-8").splitlines()
    ga03 = next(i for i, r in enumerate(rows) if r.startswith("GA-03,"))
    admin = sign_in_client("X-SN", "admin")
    admin.get("/console/admin/upload")

    def upload(lines: list[str]) -> str:
        data = ("\n".join(lines) + "\n").encode()
        r = admin.post(
            "/console/admin/upload",
            {"file": (io.BytesIO(data), "items.csv")},
            content_type="multipart/form-data",
        )
        return str(r.get_data(as_text=True))

    bad = list(rows)
    bad[ga03] = rows[ga03].replace(",local,D-GA,3,", ",local,D-GA,three,")
    text = upload(bad)
    assert "不是有效的整数。" in text and "Not a valid integer." not in text
    good = list(rows)
    good[ga03] = rows[ga03].replace(",local,D-GA,3,", ",local,D-GA,2,")
    text = upload(good)
    assert "社区时限: 3 → 2" in text and "涉及的在办案件：无" in text
    assert "ws_limit_wd: 3 -> 2" not in text and "running cases touched" not in text


def test_the_route_diagram_speaks_the_user_s_language_with_tiers_as_bands(
    sign_in_client: Callable[..., Browserless],
) -> None:
    admin = sign_in_client("S-ZHL", "admin")
    svg = admin.get("/console/admin/routes/incident/diagram.svg").get_data(as_text=True)
    # States and triggers by their Chinese labels, each tier a band (a cluster) with its name.
    for word in ("已登记", "街道办理中", "吹哨*", "社区工作站", "街道办事处", "图例"):
        assert word in svg, word
    assert svg.count('class="cluster"') >= 4  # three tiers and the legend
    page = admin.get("/console/admin/routes/incident/view?zoom=150").get_data(as_text=True)
    assert "适应页面宽度" in page and "max-width: none" in page
    admin.get("/console/lang/en")
    svg = admin.get("/console/admin/routes/incident/diagram.svg").get_data(as_text=True)
    for word in ("Reported", "Whistle*", "Workstation", "Street office", "Legend"):
        assert word in svg, word
