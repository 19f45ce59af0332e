"""Anchoring the trail: the chain head signed with the instance secret, which is not in the database.

Someone who can write to the database can recompute every hash after an edit, or cut the tail and
move the head back; they cannot sign a head without the secret. verify() holds the trail to every
signed checkpoint. A checkpoint row can still be deleted by such a writer, so `streetflow audit
checkpoint` also prints the signed head as one JSON line to keep outside (an *anchor*), which
`streetflow audit verify --anchors FILE` checks the same way.

With more than one trail partition a checkpoint covers every partition's head together: the
heads ([partition, seq, hash] in partition order) and their Merkle root (merkle_root()) are
kept with it, and the signature covers the root, the highest head seq and the time
(sign_root()). A checkpoint of a single-partition trail is signed as it always was (sign())."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
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
    # Every partition's head (partition, seq, hash), in partition order, when the trail has
    # more than one; then HASH is their Merkle root and SEQ the highest head seq.
    heads: tuple[tuple[int, int, str], ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "seq": self.seq,
            "hash": self.hash,
            "at": chain.format_at(self.at),
            "signature": self.signature,
        }
        if self.heads is not None:
            d["heads"] = [list(h) for h in self.heads]
            d["root"] = self.hash
        return d

    def partition_heads(self) -> dict[int, tuple[int, str]]:
        """What the anchor signed of each partition: a single-partition anchor signed the
        default partition's head (the whole trail then)."""
        if self.heads is None:
            return {chain.DEFAULT_PARTITION: (self.seq, self.hash)}
        return {p: (seq, h) for p, seq, h in self.heads}

    @classmethod
    def from_json(cls, line: str) -> Anchor:
        """An anchor line as `streetflow audit checkpoint` prints it; ValueError if malformed."""
        try:
            d = json.loads(line)
            at = dt.datetime.fromisoformat(d["at"].replace("Z", "+00:00"))
            if at.tzinfo is None:
                raise ValueError("naive time")
            heads = d.get("heads")
            if heads is not None:
                heads = tuple((int(p), int(seq), str(h)) for p, seq, h in heads)
            return cls(int(d["seq"]), str(d["hash"]), at, str(d["signature"]), heads=heads)
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not an anchor line: {exc}") from exc


def sign(secret: str, seq: int, head_hash: str, at: dt.datetime) -> str:
    """HMAC-SHA256 over what the checkpoint asserts, keyed by the instance secret."""
    message = f"streetflow-checkpoint\n{seq}\n{head_hash}\n{chain.format_at(at)}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _leaf(partition: int, seq: int, head_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + f"{partition}\n{seq}\n{head_hash}".encode()).digest()


def merkle_root(heads: Sequence[tuple[int, int, str]]) -> str:
    """The Merkle root of the partition heads (partition, seq, hash), in partition order: each
    leaf SHA-256(0x00 || "partition\nseq\nhash"), each inner node SHA-256(0x01 || left ||
    right), an odd node at the end of a level carried up as it is; hex."""
    level = [_leaf(*h) for h in sorted(heads)]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        nxt = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def sign_root(secret: str, seq: int, root: str, at: dt.datetime) -> str:
    """HMAC-SHA256 over a checkpoint of several partitions: the highest head seq, the heads'
    Merkle root and the time."""
    message = f"streetflow-checkpoint-merkle\n{seq}\n{root}\n{chain.format_at(at)}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_ok(secret: str, a: Anchor) -> bool:
    if a.heads is not None:
        # The heads give the root signed, and the root is what the signature covers.
        if merkle_root(a.heads) != a.hash or a.seq != max((h[1] for h in a.heads), default=0):
            return False
        return hmac.compare_digest(sign_root(secret, a.seq, a.hash, a.at), a.signature or "")
    return hmac.compare_digest(sign(secret, a.seq, a.hash, a.at), a.signature or "")


def checkpoint(session: Session, secret: str, *, now: dt.datetime | None = None) -> Anchor:
    """Record the current head, signed, in the caller's transaction (takes the chain's lock)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    chain.lock_head(session)
    heads = _heads(session)
    if len(heads) == 1:
        _, seq, head_hash = heads[0]
        row = Checkpoint(
            seq=seq, hash=head_hash, at=now, signature=sign(secret, seq, head_hash, now)
        )
        session.add(row)
        session.flush()
        return Anchor(seq, head_hash, now, row.signature, row.id)
    seq, root = max(h[1] for h in heads), merkle_root(heads)
    row = Checkpoint(
        seq=seq,
        hash=root,
        root=root,
        heads=[list(h) for h in heads],
        at=now,
        signature=sign_root(secret, seq, root, now),
    )
    session.add(row)
    session.flush()
    return Anchor(seq, root, now, row.signature, row.id, heads=tuple(heads))


def _heads(session: Session) -> list[tuple[int, int, str]]:
    """Every partition's head (partition, seq, hash), in partition order."""
    rows = session.execute(
        select(TrailHead.id, TrailHead.seq, TrailHead.hash).order_by(TrailHead.id)
    ).all()
    return [(r.id - 1, r.seq, r.hash) for r in rows]


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
    head_seq = max(h[1] for h in _heads(session))
    if last is not None and (now - last.at < every or head_seq == last.seq):
        return None
    return checkpoint(session, secret, now=now)
