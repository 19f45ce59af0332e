"""bench/console_pages.py --api prints a row for every API list of bench/lists.py, and
bench/same_answers.py finds two runs of the same code on copies of one instance the same and
a changed answer not (tiny sizes: this checks the scripts, not speed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.bench.conftest import run_bench as run


def test_the_api_lists_are_timed_and_their_answers_compared(city: Path, tmp_path: Path) -> None:
    built = city
    url = f"sqlite:///{built}"
    first, second, third = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    for copy in (first, second, third):
        shutil.copy(built, copy)

    timed = run("bench/console_pages.py", "--api", "--db", url, "--reps=1")
    assert timed.returncode == 0, timed.stdout + timed.stderr
    assert "CPU ms" in timed.stdout
    for row in ("baseline: GET /cases/{id}", "district, page 1", "audit events, district, page 1"):
        assert row in timed.stdout
    assert "console:" not in timed.stdout

    theirs, mine = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    one = run("bench/same_answers.py", "--db", f"sqlite:///{first}", "--out", str(theirs))
    assert one.returncode == 0, one.stdout + one.stderr
    answers = [json.loads(line) for line in theirs.read_text(encoding="utf-8").splitlines()]
    assert {a["path"].split("?")[0] for a in answers} >= {
        "/cases",
        "/tasks",
        "/dispatch",
        "/supervisions",
        "/extensions",
        "/notifications",
        "/audit/events",
    }
    assert any(a["status"] == 200 and json.loads(a["body"]).get("items") for a in answers)
    two = run(
        "bench/same_answers.py",
        "--db",
        f"sqlite:///{second}",
        "--out",
        str(mine),
        "--against",
        str(theirs),
    )
    assert two.returncode == 0, two.stdout + two.stderr
    assert f"the same {len(answers)} answers" in two.stdout

    # One answer changed: the comparison says which.
    changed = [*answers]
    changed[3] = {**changed[3], "body": changed[3]["body"] + " "}
    theirs.write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in changed), encoding="utf-8"
    )
    three = run(
        "bench/same_answers.py",
        "--db",
        f"sqlite:///{third}",
        "--out",
        str(mine),
        "--against",
        str(theirs),
    )
    assert three.returncode != 0
    assert "answers differ" in three.stderr and changed[3]["label"] in three.stderr
