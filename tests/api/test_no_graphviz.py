"""A server without Graphviz installed: the API refuses a route diagram as the server's lack
(503 problem+json with its code), not a crash, and the route itself still answers. Graphviz is
really absent here: PATH is emptied, so `dot` is not found, as on such a server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.api.conftest import Client


def test_a_diagram_without_graphviz_is_a_503_with_its_code(
    login: Callable[..., Client], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = login("X-SN", "admin")
    assert admin.get("/routes/incident/diagram.svg").status_code == 200
    monkeypatch.setenv("PATH", str(tmp_path))
    r = admin.get("/routes/incident/diagram.svg")
    assert r.status_code == 503
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "no_graphviz" and "Graphviz" in body["detail"]
    assert admin.get("/routes/incident").status_code == 200
