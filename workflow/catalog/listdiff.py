"""What a new list of powers and responsibilities changes against the published one, and whom it touches.

A running case is pinned to the list version it was opened on, so publishing changes none of
them: the running cases a change "touches" are the cases of that item still running (not in a
final state), which keep their old values until an administrator moves them (routes migrate)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import NotFound
from workflow.instants import utcnow
from workflow.spec.model import ItemSpec
from workflow.spec.schemas import ITEM_COLUMNS
from workflow.spec.serialize import record_to_data
from workflow.store.models import Case


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.field}: {_show(self.old)} -> {_show(self.new)}"


def _show(value: Any) -> str:
    if value is None or value == ():
        return "(empty)"
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


@dataclass(frozen=True)
class ItemChange:
    code: str
    name_zh: str
    changes: tuple[FieldChange, ...] = ()
    # Running cases of this item: ids, oldest first, with the list version each is pinned to.
    running: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ListDiff:
    published_version: int
    added: tuple[ItemChange, ...] = ()
    removed: tuple[ItemChange, ...] = ()
    changed: tuple[ItemChange, ...] = ()
    order_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.order_changed)

    def lines(self) -> list[str]:
        """The diff as an administrator reads it, one line each."""
        out = [
            f"against list version {self.published_version}: {len(self.added)} added, "
            f"{len(self.removed)} removed, {len(self.changed)} changed"
        ]
        for c in self.added:
            out.append(f"+ {c.code} {c.name_zh}")
        for c in self.removed:
            out.append(f"- {c.code} {c.name_zh}")
            out.append(_running_line(c))
        for c in self.changed:
            out.append(f"~ {c.code} {c.name_zh}")
            out += [f"    {fc}" for fc in c.changes]
            out.append(_running_line(c))
        if self.order_changed and not (self.added or self.removed or self.changed):
            out.append("(only the order of the items changed)")
        return out

    def as_dict(self) -> dict[str, Any]:
        def one(c: ItemChange) -> dict[str, Any]:
            return {
                "code": c.code,
                "name_zh": c.name_zh,
                "changes": [
                    {"field": f.field, "old": _plain(f.old), "new": _plain(f.new)}
                    for f in c.changes
                ],
                "running_cases": [{"id": i, "list_version": v} for i, v in c.running],
            }

        return {
            "published_version": self.published_version,
            "added": [one(c) for c in self.added],
            "removed": [one(c) for c in self.removed],
            "changed": [one(c) for c in self.changed],
        }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _running_line(c: ItemChange) -> str:
    if not c.running:
        return "    running cases touched: none"
    ids = ", ".join(str(i) for i, _ in c.running[:20])
    more = f" and {len(c.running) - 20} more" if len(c.running) > 20 else ""
    versions = sorted({v for _, v in c.running})
    return (
        f"    running cases touched: {len(c.running)} ({ids}{more}); they stay on list "
        f"version {', '.join(map(str, versions))} until moved"
    )


def running_cases(session: Session, codes: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """Running (non-final) cases of each item code, oldest first: (id, list version)."""
    out: dict[str, list[tuple[int, int]]] = {c: [] for c in codes}
    if not codes:
        return out
    rows = session.execute(
        select(Case.item, Case.id, Case.list_version)
        .where(Case.item.in_(list(codes)), Case.closed_at.is_(None))
        .order_by(Case.id)
    )
    for code, cid, version in rows:
        out[code].append((cid, version))
    return out


def diff_lists(
    session: Session, new: Sequence[ItemSpec], old: Mapping[str, ItemSpec] | None = None
) -> ListDiff:
    """NEW against OLD (default: the published list), with the running cases of each change."""
    version = 0
    if old is None:
        try:
            old, version = registry.items(session)
        except NotFound:
            old = {}
    new_by = {i.code: i for i in new}
    added = [ItemChange(i.code, i.name_zh) for i in new if i.code not in old]
    gone = [code for code in old if code not in new_by]
    changed: list[tuple[str, str, tuple[FieldChange, ...]]] = []
    for i in new:
        was = old.get(i.code)
        if was is None:
            continue
        fields = tuple(
            FieldChange(c, getattr(was, c), getattr(i, c))
            for c in ITEM_COLUMNS
            if getattr(was, c) != getattr(i, c)
        )
        if fields:
            changed.append((i.code, i.name_zh, fields))
    running = running_cases(session, gone + [c for c, _, _ in changed])
    common_old = [c for c in old if c in new_by]
    common_new = [i.code for i in new if i.code in old]
    return ListDiff(
        published_version=version,
        added=tuple(added),
        removed=tuple(ItemChange(c, old[c].name_zh, (), tuple(running[c])) for c in gone),
        changed=tuple(ItemChange(c, n, f, tuple(running[c])) for c, n, f in changed),
        order_changed=common_old != common_new or len(added) > 0,
    )


def publish_list(
    session: Session, items: Sequence[ItemSpec], *, actor: str, now: dt.datetime | None = None
) -> registry.Change:
    """Publish ITEMS as the list (a new version only if it differs), with its trail event."""
    now = now or utcnow()
    chain.lock_head(session)
    content = {"items": [record_to_data(i) for i in items]}
    return registry.publish_one(session, "items", "items", content, actor=actor, now=now)
