"""A real HTTP receiver on a loopback port: records each request, can fail the first tries of
each delivery and answer slowly."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Got:
    delivery: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    fail_first: int = 0  # answer 500 to the first N tries of each delivery
    delay_s: float = 0.0
    got: list[Got] = field(default_factory=list)
    tries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def accepted(self) -> list[Got]:
        return [g for g in self.got if g.answered == 200]

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery = self.headers.get("X-Streetflow-Delivery", "")
                with owner.lock:
                    owner.tries[delivery] += 1
                    code = 500 if owner.tries[delivery] <= owner.fail_first else 200
                if owner.delay_s:
                    threading.Event().wait(owner.delay_s)
                with owner.lock:
                    owner.got.append(Got(delivery, dict(self.headers), body, code))
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok" if code == 200 else b"try again")
                except OSError:  # the worker was killed while we answered
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
