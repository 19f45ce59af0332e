"""One settings object: the environment is read once (by the CLI and the app) into Settings,
which the sessions carry to the engine, the clock and the appraisal; these read no environment
variable themselves."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.conftest import T0, open_case_as
from workflow import config
from workflow.appraisal import records
from workflow.store.db import make_sessionmaker
from workflow.store.models import AppraisalRecord

# T0 is Thursday 26 November 2026, 10:00 in Shanghai; UD-01 is accepted within 4 working hours.


def test_the_engine_reads_the_sessions_settings_not_the_environment(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREETFLOW_TIMEZONE", "UTC")
    monkeypatch.setenv("STREETFLOW_WORKING_HOURS", "09:00-12:00,14:00-18:00")
    # Sessions made with the defaults: what the environment says now changes nothing.
    with make_sessionmaker(engine).begin() as s:
        case = open_case_as(s, "UD-01", at=T0)
        assert records.timezone(s) == "Asia/Shanghai"
        assert case.stage_due_at is not None
        assert case.stage_due_at.isoformat() == "2026-11-26T07:30:00+00:00"
    # Sessions made with the settings read from the environment follow them.
    local = config.settings()
    assert (local.timezone, local.working_hours) == ("UTC", "09:00-12:00,14:00-18:00")
    with make_sessionmaker(engine, local).begin() as s:
        case = open_case_as(s, "UD-01", at=T0)
        assert records.timezone(s) == "UTC"
        # Opened at 02:00 UTC, before these hours: 09:00-12:00, then 14:00 + 1 hour.
        assert case.stage_due_at is not None
        assert case.stage_due_at.isoformat() == "2026-11-26T15:00:00+00:00"


def test_the_cli_computes_periods_in_the_timezone_of_its_settings(
    env: Path, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREETFLOW_TIMEZONE", "UTC")
    result = CliRunner().invoke(main, ["appraisal", "compute", "--period", "2026-10"])
    assert result.exit_code == 0, result.output
    with sessions() as s:
        inputs = s.execute(select(AppraisalRecord.inputs).limit(1)).scalar_one()
    assert (inputs["timezone"], inputs["from"]) == ("UTC", "2026-10-01T00:00:00.000000Z")


def test_the_app_hands_its_settings_to_its_sessions(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api import create_app, db

    monkeypatch.setenv("STREETFLOW_WORKING_HOURS", "09:00-17:00")
    app = create_app({"DATABASE_URL": db_url, "TIMEZONE": "Europe/Berlin", "SECRET_KEY": "x"})
    with app.app_context():
        carried = config.of(db.session())
    assert (carried.timezone, carried.working_hours) == ("Europe/Berlin", "09:00-17:00")
    assert carried.database_url == db_url


def test_feedback_limits_come_from_the_settings_and_bad_ones_stop_with_a_message(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from tests.conftest import walk
    from workflow.store.models import Feedback

    monkeypatch.setenv("STREETFLOW_FEEDBACK_LINK_DAYS", "3")
    with make_sessionmaker(engine, config.settings()).begin() as s:
        case = open_case_as(s, "GA-03", at=T0)
        walk(s, case.id, "accept", "complete", at=T0)
        fb = s.execute(select(Feedback).where(Feedback.case_id == case.id)).scalar_one()
        assert fb.expires_at - fb.created_at == dt.timedelta(days=3)
    for bad in ("0", "91", "seven"):
        monkeypatch.setenv("STREETFLOW_FEEDBACK_LINK_DAYS", bad)
        with pytest.raises(ValueError, match=r"STREETFLOW_FEEDBACK_LINK_DAYS.*1 to 90"):
            config.settings()
