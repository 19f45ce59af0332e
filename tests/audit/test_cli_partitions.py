"""`streetflow init` partitions the trail as STREETFLOW_TRAIL_PARTITIONS says; `streetflow audit`
on a partitioned trail: checkpoint (an anchor line with every head and the root), verify as a
whole and per partition, export per partition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.audit.helpers import intrude
from tests.audit.test_partitions import WORKSTATIONS, events, open_and_walk
from workflow.audit.checkpoints import merkle_root


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_partitioned_trail_from_init_to_anchors(
    env: Path,
    engine: Engine,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("STREETFLOW_TRAIL_PARTITIONS", "3")
    code, out, err = run("init")
    assert code == 0, out + err
    assert "trail: 3 partitions, new cases dealt over 3" in out
    for i, w in enumerate(WORKSTATIONS):
        open_and_walk(sessions, w, i)
    code, out, _ = run("audit", "checkpoint")
    assert code == 0
    anchor = json.loads(out)
    assert [h[0] for h in anchor["heads"]] == [0, 1, 2]
    assert anchor["root"] == anchor["hash"] == merkle_root([tuple(h) for h in anchor["heads"]])
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text(out)
    code, out, _ = run("audit", "verify", "--anchors", str(anchors))
    assert code == 0, out
    assert "in 3 partition(s)" in out and "partition 2:" in out
    code, out, _ = run("audit", "verify", "--partition", "1", "--json")
    report = json.loads(out)
    assert code == 0 and [p["partition"] for p in report["partitions"]] == [1]

    code, out, err = run("audit", "export", "--since", "3")
    assert code == 1 and "per --partition" in out + err
    code, out, _ = run("audit", "export", "--partition", "2")
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["seq"] for x in lines] == [e.seq for e in events(sessions, 2)]

    ev = events(sessions, 2)[1]
    intrude(engine, f"UPDATE trail_events SET reason = 'x' WHERE seq = {ev.seq}")
    code, out, _ = run("audit", "verify", "--anchors", str(anchors))
    assert code == 1
    assert out.startswith(f"trail BROKEN in partition 2 at seq {ev.seq}: modified:")
    assert "partition 0: intact" in out and "partition 2: BROKEN" in out
    code, out, _ = run("audit", "verify", "--partition", "0")
    assert code == 0


def test_the_api_verify_answers_each_partition(env: Path, sessions: sessionmaker[Session]) -> None:
    from api import create_app
    from tests.audit.test_partitions import build
    from workflow import users

    build(sessions, 3, rounds=1)
    with sessions.begin() as s:
        users.add_user(
            s, name="aud", unit="X-SN", role="auditor", password="audit-password-1", actor="t"
        )
    app = create_app()
    try:
        client = app.test_client()
        _verify_over_http(client)
    finally:
        app.extensions["streetflow.engine"].dispose()


def _verify_over_http(client: Any) -> None:
    tok = client.post(
        "/api/v1/auth/token", json={"username": "aud", "password": "audit-password-1"}
    )
    assert tok.status_code == 201, tok.get_data(as_text=True)
    r = client.get(
        "/api/v1/audit/verify", headers={"Authorization": f"Bearer {tok.get_json()['token']}"}
    )
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] is True
    assert [p["partition"] for p in body["partitions"]] == [0, 1, 2]
