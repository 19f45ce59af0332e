"""The ways out: the SMS gateway (an HTTP gateway by configuration, else a file sink) and the
webhook's signed POST. Each answers (ok, status code, answer text)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from workflow.config import Settings

TIMEOUT_S = 10
ANSWER_CHARS = 500


@dataclass(frozen=True)
class Answer:
    ok: bool
    status: int | None
    text: str


class SmsGateway(Protocol):
    def send(self, phone: str, text: str, delivery_id: str) -> Answer: ...


def masked(phone: str) -> str:
    """138****0000: what a log or the file sink shows of a phone."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


class FileSink:
    """The default gateway: each message appended as one JSON line to instance/sms.jsonl (the
    phone masked), so the demo and tests see every message without a provider."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, phone: str, text: str, delivery_id: str) -> Answer:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"delivery": delivery_id, "to": masked(phone), "text": text, "at": time.time()},
            ensure_ascii=False,
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        return Answer(True, None, f"written to {self.path.name}")


class HttpGateway:
    """A provider's HTTP API, described by URL, method, Authorization and a body template
    ({phone}, {text}, {delivery} JSON-escaped)."""

    def __init__(self, url: str, method: str, auth: str, body: str) -> None:
        self.url, self.method, self.auth, self.body = url, method, auth, body

    def send(self, phone: str, text: str, delivery_id: str) -> Answer:
        def esc(v: str) -> str:
            return json.dumps(v, ensure_ascii=False)[1:-1]

        body = self.body.format(phone=esc(phone), text=esc(text), delivery=esc(delivery_id))
        headers = {"Content-Type": "application/json", "Idempotency-Key": delivery_id}
        if self.auth:
            headers["Authorization"] = self.auth
        answer = post(self.url, body.encode("utf-8"), headers, self.method)
        # The provider may echo the number: never keep it in the answer stored.
        return Answer(answer.ok, answer.status, answer.text.replace(phone, masked(phone)))


def gateway(settings: Settings) -> SmsGateway:
    if settings.sms_gateway:
        return HttpGateway(
            settings.sms_gateway, settings.sms_method, settings.sms_auth, settings.sms_body
        )
    return FileSink(settings.instance / "sms.jsonl")


def email(settings: Settings, to: str, subject: str, text: str, delivery_id: str) -> Answer:
    """A plain-text e-mail through the configured SMTP server (host:port), else one JSON line
    in instance/mail.jsonl (the demo's and the tests' sink)."""
    if not settings.smtp_host:
        path = settings.instance / "mail.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"delivery": delivery_id, "to": to, "subject": subject, "text": text},
            ensure_ascii=False,
        )
        with path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        return Answer(True, None, f"written to {path.name}")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.smtp_from, to, subject
    msg["Message-ID"] = f"<{delivery_id}@streetflow>"  # the same on every try
    msg.set_content(text)
    host, port = settings.smtp_host, "25"
    if ":" in host:
        host, port = host.rsplit(":", 1)
    try:
        with smtplib.SMTP(host, int(port), timeout=TIMEOUT_S) as smtp:
            refused = smtp.send_message(msg)
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        return Answer(False, None, f"SMTP: {exc}"[:ANSWER_CHARS])
    if refused:
        return Answer(False, None, f"SMTP refused {', '.join(refused)}")
    return Answer(True, 250, "accepted by the SMTP server")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """sha256=HMAC-SHA256(secret, timestamp + "." + body): the timestamp is signed with the
    body, so an old delivery cannot be replayed under a new timestamp."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook(url: str, secret: str, body: bytes, delivery_id: str, event: str) -> Answer:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "streetflow-webhooks",
        "X-Streetflow-Delivery": delivery_id,
        "X-Streetflow-Event": event,
        "X-Streetflow-Timestamp": timestamp,
        "X-Streetflow-Signature": signature(secret, timestamp, body),
    }
    return post(url, body, headers)


def post(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> Answer:
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            text = resp.read(ANSWER_CHARS * 4).decode("utf-8", "replace")[:ANSWER_CHARS]
            return Answer(200 <= resp.status < 300, resp.status, text)
    except urllib.error.HTTPError as exc:
        text = exc.read(ANSWER_CHARS * 4).decode("utf-8", "replace")[:ANSWER_CHARS]
        return Answer(False, exc.code, text)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Answer(False, None, str(getattr(exc, "reason", exc))[:ANSWER_CHARS])
