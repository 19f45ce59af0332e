"""Cases opened and walked by the engine, for the query layer's tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from workflow.actors import Actor
from workflow.runtime import engine


def actor(unit: str, role: str) -> Actor:
    return Actor(f"{role}@{unit}", unit, role)


@pytest.fixture
def open_case(sessions: sessionmaker[Session]) -> Callable[..., int]:
    """open_case(workstation, item, *(trigger, unit, role)) -> the id of a case opened at the
    workstation by its clerk and walked along by the given units."""

    def make(workstation: str, item: str = "UD-01", *steps: tuple[str, str, str]) -> int:
        with sessions.begin() as s:
            case = engine.open_case(
                s,
                item=item,
                workstation=workstation,
                actor=actor(workstation, "clerk"),
                applicant_name="王芳",
                applicant_phone="13800001234",
                description="路灯不亮",
            )
            for trigger, unit, role in steps:
                kw = {"reason": "材料不全"} if trigger == "send_back" else {}
                engine.fire(s, case.id, trigger, actor(unit, role), **kw)  # type: ignore[arg-type]
            return case.id

    return make
