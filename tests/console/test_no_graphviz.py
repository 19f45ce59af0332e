"""A server without Graphviz installed: a route diagram asked for is refused as the server's
lack, not a crash: a page in Chinese in the console (English in English mode), a message and
exit 1 on the CLI (the API's 503: tests/api/test_no_graphviz.py). Graphviz is really absent
here: PATH is emptied, so `dot` is not found, as on such a server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from tests.console.conftest import Browserless


@pytest.fixture
def no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_the_console_says_it_in_chinese(
    sign_in_client: Callable[..., Browserless], no_graphviz: None
) -> None:
    admin = sign_in_client("X-SN", "admin")
    for path in (
        "/console/admin/routes/incident/view",
        "/console/admin/routes/incident/diagram.svg",
    ):
        r = admin.get(path)
        text = r.get_data(as_text=True)
        assert r.status_code == 503 and r.mimetype == "text/html", path
        assert "本服务器未安装" in text and "not installed" not in text, text
    admin.get("/console/lang/en")
    r = admin.get("/console/admin/routes/incident/view")
    assert r.status_code == 503 and "not installed on this server" in r.get_data(as_text=True)


def test_the_cli_says_it_and_exits_1(env: Path, no_graphviz: None) -> None:
    result = CliRunner().invoke(main, ["definitions", "diagram", "incident"])
    assert result.exit_code == 1
    assert "route diagrams need Graphviz's dot program" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
