"""The HTTP SMS gateway, set by configuration: URL, method, Authorization and the body template,
against a real receiver on a loopback port; a malformed body template is a failed try (then a
dead letter), not a stuck worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as
from tests.notify.receiver import Receiver
from workflow.config import Settings
from workflow.notify import worker
from workflow.store.db import make_sessionmaker
from workflow.store.models import Delivery


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def sessions_with(engine, settings: Settings) -> sessionmaker[Session]:  # type: ignore[no-untyped-def]
    return make_sessionmaker(engine, settings)


def test_the_http_gateway_gets_the_phone_and_the_text(
    engine, receiver: Receiver, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        instance=tmp_path,
        sms_gateway=receiver.url,
        sms_auth="Bearer provider-token",
        sms_body='{{"mobile": "{phone}", "content": "{text}", "ref": "{delivery}"}}',
    )
    sessions = sessions_with(engine, settings)
    with sessions.begin() as s:
        cid = open_case_as(s, "SW-10", applicant_phone="13912345678").id
    worker.run_once(sessions, settings)
    (g,) = receiver.got
    body = json.loads(g.body)
    assert body["mobile"] == "13912345678"
    assert (
        body["content"].startswith("【石楠街道便民服务】") and f"受理编号{cid}" in body["content"]
    )
    assert g.headers["Authorization"] == "Bearer provider-token"
    assert g.headers["Idempotency-Key"] == body["ref"] and body["ref"].endswith("-sms")
    assert not (tmp_path / "sms.jsonl").exists()  # the gateway, not the file sink
    with sessions() as s:
        (d,) = s.execute(select(Delivery)).scalars()
        assert d.status == "delivered" and "13912345678" not in json.dumps(d.payload)


def test_a_malformed_body_template_is_a_failed_try(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(instance=tmp_path, sms_gateway="http://127.0.0.1:9/", sms_body="{nope}")
    sessions = sessions_with(engine, settings)
    with sessions.begin() as s:
        open_case_as(s, "SW-10")
    worker.run_once(sessions, settings, worker.Policy(max_attempts=1))
    with sessions() as s:
        (d,) = s.execute(select(Delivery)).scalars()
        assert d.status == "dead" and "KeyError" in (d.last_error or "")
