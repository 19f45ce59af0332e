"""Several server processes on one database: gunicorn with sync workers (one request at a time
per process, so concurrent requests are served by different processes) on this test's database,
started in a subprocess on a socket bound here, loopback only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as
from tests.trail import SECRET
from workflow import users
from workflow.actors import Actor
from workflow.audit import chain

PASSWORD = "concurrency-password-1"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


class Server:
    """gunicorn with WORKERS sync workers on DB_URL; kill() is SIGKILL to master and workers."""

    def __init__(self, db_url: str, workers: int, log: Path):
        self.db_url, self.workers, self.log = db_url, workers, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = {
            **os.environ,
            "STREETFLOW_DATABASE_URL": self.db_url,
            "STREETFLOW_SECRET_KEY": SECRET,
            "STREETFLOW_INSTANCE": str(self.log.parent / "instance"),
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    GUNICORN,
                    "--workers",
                    str(self.workers),
                    "--bind",
                    f"fd://{sock.fileno()}",
                    "--graceful-timeout",
                    "5",
                    "api:create_app()",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(sock.fileno(),),
                start_new_session=True,  # its own process group: kill() reaches the workers
            )
        sock.close()  # the server holds its own copy
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(self.base + "/readyz", timeout=10).status_code == 200:
                    return self.base
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        raise AssertionError("gunicorn did not get ready:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL to every process of the server at once: no worker finishes its request."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGQUIT)  # quick shutdown: the test is over
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def gunicorn(db_url: str, tmp_path: Path) -> Iterator[Callable[[int], Server]]:
    """gunicorn(workers) -> a started Server; every server is stopped after the test."""
    started: list[Server] = []

    def start(workers: int = 3) -> Server:
        server = Server(db_url, workers, tmp_path / "gunicorn.log")
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def token(sessions: sessionmaker[Session]) -> Callable[[str, str, str], str]:
    """token(base, unit, role) -> the bearer token of a new user, got by logging in over HTTP."""

    def make(base: str, unit: str, role: str) -> str:
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        with sessions.begin() as s:
            chain.lock_head(s)
            users.add_user(s, name=name, unit=unit, role=role, password=PASSWORD, actor="test")
        r = requests.post(
            base + "/api/v1/auth/token", json={"username": name, "password": PASSWORD}, timeout=30
        )
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    return make


@pytest.fixture
def open_cases(sessions: sessionmaker[Session]) -> Callable[[int, str], list[int]]:
    """open_cases(n, item) -> ids of N cases opened at W-ZHL-01 (in state `submitted`)."""

    def make(n: int, item: str = "SW-10") -> list[int]:
        clerk = Actor("clerk", "W-ZHL-01", "clerk")
        ids = []
        with sessions.begin() as s:
            chain.lock_head(s)
            for i in range(n):
                case = open_case_as(
                    s, item, actor=clerk, applicant_phone=f"1380000{i:04d}", description="失业登记"
                )
                ids.append(case.id)
        return ids

    return make
