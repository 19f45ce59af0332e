"""Anchoring the trail: the chain head signed with the instance secret, which is not in the database.

Someone who can write to the database can recompute every hash after an edit, or cut the tail and
move the head back; they cannot sign a head without the secret. verify() holds the trail to every
signed checkpoint. A checkpoint row can still be deleted by such a writer, so `streetflow audit
checkpoint` also prints the signed head as one JSON line to keep outside (an *anchor*), which
`streetflow audit verify --anchors FILE` checks the same way."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain
from workflow.store.models import Checkpoint, TrailHead

DEFAULT_EVERY = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Anchor:
    """A signed chain head: from the checkpoints table (with its id) or kept outside."""

    seq: int
    hash: str
    at: dt.datetime
    signature: str
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "at": chain.format_at(self.at),
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, line: str) -> Anchor:
        """An anchor line as `streetflow audit checkpoint` prints it; ValueError if malformed."""
        try:
            d = json.loads(line)
            at = dt.datetime.fromisoformat(d["at"].replace("Z", "+00:00"))
            if at.tzinfo is None:
                raise ValueError("naive time")
            return cls(int(d["seq"]), str(d["hash"]), at, str(d["signature"]))
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not an anchor line: {exc}") from exc


def sign(secret: str, seq: int, head_hash: str, at: dt.datetime) -> str:
    """HMAC-SHA256 over what the checkpoint asserts, keyed by the instance secret."""
    message = f"streetflow-checkpoint\n{seq}\n{head_hash}\n{chain.format_at(at)}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_ok(secret: str, a: Anchor) -> bool:
    return hmac.compare_digest(sign(secret, a.seq, a.hash, a.at), a.signature or "")


def checkpoint(session: Session, secret: str, *, now: dt.datetime | None = None) -> Anchor:
    """Record the current head, signed, in the caller's transaction (takes the chain's lock)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    chain.lock_head(session)
    seq, head_hash = session.execute(
        select(TrailHead.seq, TrailHead.hash).where(TrailHead.id == 1)
    ).one()
    row = Checkpoint(seq=seq, hash=head_hash, at=now, signature=sign(secret, seq, head_hash, now))
    session.add(row)
    session.flush()
    return Anchor(seq, head_hash, now, row.signature, row.id)


def checkpoint_if_due(
    session: Session,
    now: dt.datetime,
    *,
    every: dt.timedelta = DEFAULT_EVERY,
    secret: str | None = None,
) -> Anchor | None:
    """For the SLA sweep: a checkpoint when the last one is older than EVERY and the trail has
    grown since; otherwise None. Runs in the caller's (write) transaction; the secret defaults
    to the instance's."""
    if secret is None:
        from workflow.config import settings

        secret = settings().secret_key
    chain.lock_head(session)
    last = session.execute(
        select(Checkpoint.seq, Checkpoint.at).order_by(Checkpoint.id.desc()).limit(1)
    ).one_or_none()
    head_seq = session.execute(select(TrailHead.seq).where(TrailHead.id == 1)).scalar_one()
    if last is not None and (now - last.at < every or head_seq == last.seq):
        return None
    return checkpoint(session, secret, now=now)
