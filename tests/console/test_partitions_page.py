"""The auditor's verification in the console shows each partition of a partitioned trail."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.audit.test_partitions import build
from tests.console.conftest import Browserless


def test_verify_in_the_console_shows_each_partition(
    sign_in_client: Callable[..., Browserless], sessions: sessionmaker[Session]
) -> None:
    build(sessions, 3, rounds=1)
    auditor = sign_in_client("X-SN", "auditor")
    auditor.get("/console/trail")
    page = auditor.post("/console/trail/verify").get_data(as_text=True)
    assert "留痕完整" in page
    assert "留痕的各个分区：各自的哈希链与链头" in page
    assert page.count("完好</td>") == 3
