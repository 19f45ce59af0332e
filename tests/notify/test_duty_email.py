"""A unit with a duty address in the definitions is also told by e-mail, through a real SMTP
server on a loopback port (aiosmtpd); the text comes from notifications.yaml."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.tasks.helpers import STREET, at_street
from workflow.config import Settings
from workflow.notify import templates, worker
from workflow.runtime import engine as wf
from workflow.store.db import make_sessionmaker
from workflow.store.models import Delivery


class Inbox:
    def __init__(self) -> None:
        self.got: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free loopback port (the controller checks its own)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_a_whistle_reaches_the_duty_address_by_email(
    engine: Any, smtp: tuple[Inbox, int], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp
    settings = Settings(instance=tmp_path / "inst", smtp_host=f"127.0.0.1:{port}")
    sessions: sessionmaker[Session] = make_sessionmaker(engine, settings)
    with sessions.begin() as s:
        cid = at_street(s, "PS-06", now=engine_now())
        wf_fire(s, cid)
    worker.run_once(sessions, settings)
    duty = templates.read(settings.definitions)[0]
    assert duty is not None and duty.duty["D-GA"].email
    mails = [(to, message_from_bytes(raw)) for to, raw in inbox.got]
    assert [to for to, _ in mails] == [[duty.duty["D-GA"].email]]
    msg = mails[0][1]
    body = msg.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert body.startswith("【石楠街道便民服务】D-GA：") and str(cid) in body
    assert f"#{cid}" in str(make_header(decode_header(msg["Subject"])))
    with sessions() as s:
        statuses = (
            s.execute(select(Delivery.status).where(Delivery.channel == "email")).scalars().all()
        )
        assert statuses == ["delivered"]


def engine_now() -> Any:
    return wf.utcnow()


def wf_fire(s: Session, cid: int) -> None:
    wf.fire(s, cid, "whistle", STREET, reason="占道", targets=["D-GA"])
