"""`streetflow appraisal` as an auditor and a street administrator use it."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.appraisal.month import build_november
from tests.appraisal.test_records import AFTER_NOVEMBER
from workflow.appraisal import records as appraisal
from workflow.store.models import AppraisalRecord, Assessment
from workflow.users import add_user


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_every_appraisal_command_has_help_with_an_example() -> None:
    for command in ("compute", "verify", "export", "assess"):
        code, out = run("appraisal", command, "--help")
        assert code == 0
        assert "Example:" in out and "Exit codes:" in out, command


def test_compute_verify_and_export_a_month(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    build_november(sessions)
    code, out = run("appraisal", "compute", "--period", "2026-11")
    assert code == 0, out
    assert (
        "2026-11: 113 draft records (13 department, 40 dispatched_agency, 10 street_office" in out
    )
    code, out = run("appraisal", "verify", "--period", "2026-11")
    assert (code, out.strip()) == (0, "2026-11: 113 records reproduced from the trail")

    code, out = run("appraisal", "export", "--period", "2026-11", str(tmp_path / "nov.csv"))
    assert code == 0, out
    with (tmp_path / "nov.csv").open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 113
    ws = next(r for r in table if r["单位代码"] == "W-ZHL-01")
    assert (ws["单位名称"], ws["单位类别"], ws["状态"]) == (
        "香港花园社区工作站",
        "社区工作站",
        "草稿",
    )
    assert (ws["响应率"], ws["按时办结率"], ws["期末超期未办结(件)"]) == ("0.75", "0.875", "2")
    assert (ws["吹哨报到率"], ws["得分"], ws["类别内排名"]) == ("", "66.06", "1")
    agency = next(r for r in table if r["单位代码"] == "A-ZHL-ZF")
    assert (agency["街道考核评价"], agency["得分"]) == ("80.0", "67.5")

    code, out = run("appraisal", "export", "--period", "2026-11", str(tmp_path / "nov.xlsx"))
    assert code == 0, out
    sheet = load_workbook(tmp_path / "nov.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:5] == ["考核期", "单位代码", "单位名称", "单位类别", "状态"]
    got = dict(zip(header, next(r for r in rows if r[1] == "D-ZJ"), strict=True))
    assert (got["吹哨报到率"], got["得分"], got["类别内排名"]) == (1.0, 100.0, 1)
    assert got["满意率"] is None


def test_verify_names_the_tampered_record_and_exits_1(
    env: Path, sessions: sessionmaker[Session], engine: Engine, db_kind: str
) -> None:
    build_november(sessions)
    with sessions.begin() as s:
        appraisal.finalize(s, "2026-11", actor="auditor", now=AFTER_NOVEMBER)
        rec_id = s.scalars(select(AppraisalRecord.id).where(AppraisalRecord.unit == "D-ZF")).one()
    assert run("appraisal", "verify", "--period", "2026-11")[0] == 0
    with engine.begin() as conn:
        if db_kind == "sqlite":
            conn.execute(text("DROP TRIGGER appraisal_records_final_no_update"))
        else:
            conn.execute(
                text("ALTER TABLE appraisal_records DISABLE TRIGGER appraisal_records_final_frozen")
            )
        conn.execute(update(AppraisalRecord).where(AppraisalRecord.id == rec_id).values(score=99.0))
    code, out = run("appraisal", "verify", "--period", "2026-11")
    assert code == 1
    assert f"record {rec_id} (D-ZF, 2026-11, final): score is 99.0, recomputed 50.0" in out


def test_bad_requests_are_refused_with_a_message(
    env: Path, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    for args, message in (
        (["compute", "--period", "2026-13"], "a period is a month like 2026-11"),
        (["compute", "--period", "2099-01", "--finalize"], "2099-01 has not ended yet"),
        (["verify", "--period", "2026-10"], "no appraisal records for 2026-10"),
        (["export", "--period", "2026-10", str(tmp_path / "x.csv")], "no appraisal records"),
        (
            [
                "assess",
                "A-ZHL-ZF",
                "--period",
                "2026-11",
                "--score",
                "80",
                "--comment",
                "好",
                "--as",
                "nobody",
            ],
            "no active user",
        ),
    ):
        code, out = run("appraisal", *args)
        assert code == 1, args
        assert message in out, (args, out)
    assert not (tmp_path / "x.csv").exists()
    with sessions.begin() as s:
        assert s.scalars(select(AppraisalRecord)).all() == []


def test_a_past_month_is_finalized_once_and_the_street_admin_assesses(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        add_user(s, name="zhl-admin", unit="S-ZHL", role="admin", password="long enough", actor="t")
        add_user(s, name="xgz-admin", unit="S-XGZ", role="admin", password="long enough", actor="t")
    assess = [
        "appraisal",
        "assess",
        "A-ZHL-SF",
        "--period",
        "2026-10",
        "--score",
        "90",
        "--comment",
        "调解工作扎实",
    ]
    code, out = run(*assess, "--as", "xgz-admin")
    assert code == 1 and "only an administrator of S-ZHL" in out
    assert run(*assess, "--as", "zhl-admin") == (0, "A-ZHL-SF 2026-10: assessed 90\n")
    code, out = run(*assess, "--as", "zhl-admin")
    assert code == 1 and "assessed for 2026-10 already" in out
    code, out = run("appraisal", "compute", "--period", "2026-10", "--finalize", "--by", "auditor")
    assert code == 0 and "113 final records" in out
    code, out = run("appraisal", "compute", "--period", "2026-10", "--finalize")
    assert code == 1 and "finalized already" in out
    assert run("appraisal", "verify", "--period", "2026-10")[0] == 0
    with sessions.begin() as s:
        assert s.scalars(select(Assessment.score)).all() == [90.0]
        rec = s.scalars(select(AppraisalRecord).where(AppraisalRecord.unit == "A-ZHL-SF")).one()
        # Nothing happened in October but the assessment: no cases, so 不参评 (no score and
        # no rank), however good the assessment.
        assert (rec.status, rec.score, rec.rank) == ("final", None, None)
