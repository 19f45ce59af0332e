"""Who acts on a case: a user (name, unit, role), the resident through a channel, or the system.

Its own module because scope rules, queries and the trail's readers need it without the state
machines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who fires a trigger: a user (name, unit, role), the resident, or the system (the sweep)."""

    name: str
    unit: str | None
    role: str

    @property
    def label(self) -> str:
        return self.name


SYSTEM = Actor("system", None, "system")
