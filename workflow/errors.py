"""The engine's exceptions. The CLI prints them; the API maps each to its HTTP status."""

from __future__ import annotations

from collections.abc import Mapping


class WorkflowError(Exception):
    """Base of everything the engine refuses, with a message meant for the user."""

    title = "Refused"

    def __init__(self, detail: str, errors: Mapping[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors or {})


class NotFound(WorkflowError):
    title = "Not found"


class NotAllowed(WorkflowError):
    """The trigger exists in the route but cannot be fired from the case's current state."""

    title = "Not allowed in this state"


class NotHolder(WorkflowError):
    """The actor's unit does not hold the case, or their role may not fire this trigger."""

    title = "Not the holder"


class InvalidInput(WorkflowError):
    """An unknown trigger, a missing reason, a bad target, a bad value."""

    title = "Invalid input"


class StaleVersion(WorkflowError):
    """The case changed since the caller read it (optimistic locking)."""

    title = "Stale version"


class Conflict(WorkflowError):
    """The thing exists already or clashes with what is there (a second rating, a duplicate)."""

    title = "Conflict"
