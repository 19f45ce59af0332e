"""`streetflow audit` as an auditor uses it: verify, checkpoint, replay, export (and re-hash it)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.audit.helpers import head, intrude, make_cases
from workflow.store.models import Case

# The auditors' page of the documentation site carries the snippet they copy.
VERIFY_PAGE = Path(__file__).resolve().parents[2] / "docs" / "auditors" / "verify.md"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_audit_command_has_help_with_an_example() -> None:
    for command in ("verify", "checkpoint", "replay", "export"):
        code, out, _ = run("audit", command, "--help")
        assert code == 0
        assert "Example:" in out and "Exit codes:" in out, command


def test_verify_names_the_first_bad_event(
    env: Path, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    make_cases(sessions)
    n = head(sessions)
    code, out, _ = run("audit", "verify")
    assert code == 0 and f"trail intact: {n} events" in out
    code, out, _ = run("audit", "verify", "--json", "--jobs", "2")
    assert code == 0 and json.loads(out) == {
        "ok": True,
        "events_checked": n,
        "first_bad": None,
        "warnings": [],
        "warnings_total": 0,
    }

    intrude(engine, "UPDATE trail_events SET actor = 'nobody' WHERE seq = 6")
    code, out, _ = run("audit", "verify")
    assert code == 1
    assert out.startswith("trail BROKEN at seq 6: modified:")
    code, out, _ = run("audit", "verify", "--jobs", "2")
    assert code == 1 and out.startswith("trail BROKEN at seq 6: modified:")
    code, out, _ = run("audit", "verify", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["events_checked"] == 5
    assert (report["first_bad"]["seq"], report["first_bad"]["kind"]) == (6, "modified")


def test_checkpoint_prints_an_anchor_that_verify_holds_the_trail_to(
    env: Path, engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    make_cases(sessions)
    n = head(sessions)
    code, out, err = run("audit", "checkpoint")
    assert code == 0 and f"seq {n} signed" in err
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text(out)
    assert json.loads(out)["seq"] == n
    code, out, _ = run("audit", "verify", "--anchors", str(anchors))
    assert code == 0 and "2 signed checkpoint(s) hold" in out
    # The intruder cuts the tail, moves the head back and deletes the checkpoint rows: the anchor
    # kept outside still tells.
    intrude(
        engine,
        f"DELETE FROM trail_events WHERE seq > {n - 3}",
        f"UPDATE trail_head SET seq = {n - 3}, hash = "
        f"(SELECT hash FROM trail_events WHERE seq = {n - 3}) WHERE id = 1",
        "DELETE FROM checkpoints",
    )
    assert run("audit", "verify")[0] == 0  # what the database alone says
    code, out, _ = run("audit", "verify", "--anchors", str(anchors))
    assert code == 1 and out.startswith(f"trail BROKEN at seq {n - 2}: truncated:")
    anchors.write_text("not json\n")
    code, _, err = run("audit", "verify", "--anchors", str(anchors))
    assert code == 1 and "anchors.jsonl:1: not an anchor line" in err


def test_replay_finds_a_case_row_edited_by_hand(
    env: Path, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    ids = make_cases(sessions, 2)
    code, out, _ = run("audit", "replay")
    assert (
        code == 0
        and "every case, supervision, extension, task and attachment matches its trail" in out
    )
    with engine.begin() as conn:  # the trail is untouched: only the case row is edited
        conn.execute(update(Case).where(Case.id == ids[1]).values(state="closed", holder=None))
    code, out, err = run("audit", "replay")
    assert code == 1
    assert out.splitlines() == [
        f"case {ids[1]}: state: stored 'closed', trail 'street_handling'",
        f"case {ids[1]}: holder: stored None, trail 'S-ZHL'",
    ]
    assert "2 field(s) in 1 row(s) differ" in err


def auditor_snippet(tmp_path: Path) -> Path:
    text = VERIFY_PAGE.read_text(encoding="utf-8")
    m = re.search(r"<!-- auditor-snippet -->\n```python\n(.*?)```", text, re.S)
    assert m, "the auditors' snippet is gone from docs/auditors/verify.md"
    path = tmp_path / "verify_export.py"
    path.write_text(m.group(1), encoding="utf-8")
    return path


def test_the_documented_snippet_verifies_an_export_and_catches_a_modified_line(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    make_cases(sessions)
    n = head(sessions)
    code, out, _ = run("audit", "export")
    assert code == 0
    lines = out.splitlines()
    assert [json.loads(x)["seq"] for x in lines] == list(range(1, n + 1))
    assert all(list(json.loads(x)) == sorted(json.loads(x)) for x in lines)  # canonical order
    snippet = auditor_snippet(tmp_path)
    export = tmp_path / "trail.jsonl"
    export.write_text(out, encoding="utf-8")

    def audit_file() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", str(snippet), str(export)], capture_output=True, text=True
        )

    ok = audit_file()
    assert ok.returncode == 0 and f"events up to seq {n}" in ok.stdout, ok.stderr
    # The auditor's copy is altered: one line's reason.
    ev = json.loads(lines[7])
    ev["reason"] = "nothing to see"
    lines[7] = json.dumps(ev, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = audit_file()
    assert bad.returncode == 1 and f"line 8 (seq {ev['seq']}): content does not match" in bad.stderr
    # --since: the tail alone, linked to the head of what came before.
    code, out, _ = run("audit", "export", "--since", str(n - 2))
    assert code == 0 and [json.loads(x)["seq"] for x in out.splitlines()] == [n - 1, n]
    export.write_text(out, encoding="utf-8")
    assert audit_file().returncode == 0
