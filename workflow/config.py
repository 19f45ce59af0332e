"""Settings from the environment (STREETFLOW_*), with the defaults of the contract."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DEFINITIONS = REPO / "definitions"


@dataclass(frozen=True)
class Settings:
    instance: Path
    database_url: str
    definitions: Path
    timezone: str
    # Session cookies only over HTTPS: for an instance behind a TLS-terminating proxy.
    secure_cookies: bool = False

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


def settings() -> Settings:
    instance = Path(os.environ.get("STREETFLOW_INSTANCE", REPO / "instance")).resolve()
    url = os.environ.get("STREETFLOW_DATABASE_URL") or f"sqlite:///{instance / 'streetflow.db'}"
    return Settings(
        instance=instance,
        database_url=url,
        definitions=Path(os.environ.get("STREETFLOW_DEFINITIONS", DEFAULT_DEFINITIONS)),
        timezone=os.environ.get("STREETFLOW_TIMEZONE", "Asia/Shanghai"),
        secure_cookies=_flag(os.environ.get("STREETFLOW_SECURE_COOKIES", "")),
    )


def _flag(value: str) -> bool:
    if value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"STREETFLOW_SECURE_COOKIES is {value!r}: say 1 or 0")
