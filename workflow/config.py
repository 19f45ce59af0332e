"""Settings from the environment (STREETFLOW_*), with the defaults of the contract.

The environment is read here only: create_app() and the CLI's Context build one Settings each
and hand it to the session factory (make_sessionmaker), whose sessions carry it in their
``info``; the engine, the clock and the appraisal take the timezone and the working hours from
the session they are given (``of(session)``), never from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DEFINITIONS = REPO / "definitions"
DEFAULT_TIMEZONE = "Asia/Shanghai"
# Where a session carries the settings it was made with (Session.info).
SESSION_INFO_KEY = "streetflow.settings"


@dataclass(frozen=True)
class Settings:
    instance: Path = REPO / "instance"
    database_url: str = ""
    definitions: Path = DEFAULT_DEFINITIONS
    # Periods, working hours and the console's times are in this timezone.
    timezone: str = DEFAULT_TIMEZONE
    # STREETFLOW_WORKING_HOURS as given ('08:30-12:00,13:30-17:30'), over calendar.yaml's
    # hours when set: one instance may keep other hours than the published definitions (e.g. a
    # winter timetable). Checked where a calendar is built, as before.
    working_hours: str = ""
    # Session cookies only over HTTPS: for an instance behind a TLS-terminating proxy.
    secure_cookies: bool = False
    # Days a resident's one-time rating link stays valid, and working days a rectification gets.
    feedback_link_days: int = 7
    rectification_days: int = 5
    # Attachments (workflow.attachments): where the files are kept (a folder, by default the
    # instance's attachments/, or s3://bucket/prefix), an S3-compatible server's URL, and the
    # largest file taken, in bytes.
    attachment_store: str = ""
    attachment_s3_endpoint: str = ""
    attachment_max_bytes: int = 10 * 1024 * 1024
    # Duplicates (合并): open cases of the same item and community opened within these days of
    # each other, and, where both have a point, within these metres, are likely the same matter.
    duplicate_window_days: int = 7
    duplicate_distance_m: int = 200
    # Notifications: the address residents' links start with, and the SMS gateway (none: the
    # file sink instance/sms.jsonl). STREETFLOW_SMS_BODY is the request body with {phone} and
    # {text} (JSON-escaped); STREETFLOW_SMS_AUTH the Authorization header sent with it.
    public_url: str = "http://127.0.0.1:5000"
    sms_gateway: str = ""
    sms_method: str = "POST"
    sms_auth: str = ""
    sms_body: str = '{{"phone": "{phone}", "text": "{text}"}}'
    # The units' duty e-mail goes through this SMTP server (host:port; none: instance/mail.jsonl).
    smtp_host: str = ""
    smtp_from: str = "streetflow@localhost"
    # How many partitions the trail is chained in (workflow.audit.chain): new cases are dealt to
    # them by street; 1 (the default) is the single chain. Applied by `streetflow init`; a change
    # applies to new cases only, and partitions are never removed.
    trail_partitions: int = 1

    @property
    def secret_key(self) -> str:
        """The instance secret: from the environment, else generated once into the instance folder."""
        env = os.environ.get("STREETFLOW_SECRET_KEY")
        if env:
            return env
        path = self.instance / "secret_key"
        if not path.exists():
            self.instance.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip()


# What a session made without settings (a test, a benchmark) works with.
DEFAULTS = Settings()


def settings() -> Settings:
    instance = Path(os.environ.get("STREETFLOW_INSTANCE", REPO / "instance")).resolve()
    url = os.environ.get("STREETFLOW_DATABASE_URL") or f"sqlite:///{instance / 'streetflow.db'}"
    return Settings(
        instance=instance,
        database_url=url,
        definitions=Path(os.environ.get("STREETFLOW_DEFINITIONS", DEFAULT_DEFINITIONS)),
        timezone=os.environ.get("STREETFLOW_TIMEZONE", DEFAULT_TIMEZONE),
        working_hours=os.environ.get("STREETFLOW_WORKING_HOURS", "").strip(),
        secure_cookies=_flag(os.environ.get("STREETFLOW_SECURE_COOKIES", "")),
        feedback_link_days=_whole("STREETFLOW_FEEDBACK_LINK_DAYS", 7, 1, 90),
        rectification_days=_whole("STREETFLOW_RECTIFICATION_DAYS", 5, 1, 60),
        attachment_store=os.environ.get("STREETFLOW_ATTACHMENT_STORE", "").strip(),
        attachment_s3_endpoint=os.environ.get("STREETFLOW_ATTACHMENT_S3_ENDPOINT", "").strip(),
        attachment_max_bytes=_whole(
            "STREETFLOW_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, 1024, 200 * 1024 * 1024
        ),
        duplicate_window_days=_whole("STREETFLOW_DUPLICATE_WINDOW_DAYS", 7, 1, 90),
        duplicate_distance_m=_whole("STREETFLOW_DUPLICATE_DISTANCE_M", 200, 1, 5000),
        public_url=os.environ.get("STREETFLOW_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        sms_gateway=os.environ.get("STREETFLOW_SMS_GATEWAY", "").strip(),
        sms_method=os.environ.get("STREETFLOW_SMS_METHOD", "POST").strip().upper() or "POST",
        sms_auth=os.environ.get("STREETFLOW_SMS_AUTH", ""),
        sms_body=os.environ.get("STREETFLOW_SMS_BODY", Settings.sms_body),
        smtp_host=os.environ.get("STREETFLOW_SMTP_HOST", "").strip(),
        smtp_from=os.environ.get("STREETFLOW_SMTP_FROM", "streetflow@localhost").strip(),
        trail_partitions=_whole("STREETFLOW_TRAIL_PARTITIONS", 1, 1, 64),
    )


def of(session: Session) -> Settings:
    """The settings SESSION was made with (DEFAULTS for a session made without)."""
    found: Settings = session.info.get(SESSION_INFO_KEY, DEFAULTS)
    return found


def _flag(value: str) -> bool:
    if value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"STREETFLOW_SECURE_COOKIES is {value!r}: say 1 or 0")


def _whole(name: str, default: int, lo: int, hi: int) -> int:
    """A whole number from the environment within [LO, HI]; anything else stops with a message."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ValueError(f"{name} is {raw!r}: say a whole number from {lo} to {hi}")
    return value
