"""The engine's exceptions. The CLI prints them; the API maps each to its HTTP status.

A refusal carries a stable `code` and its `params` (workflow/messages.py) besides its English
`detail`, so that each interface words it in its own language: the API keeps the English detail
and adds the code, the console says it in Chinese."""

from __future__ import annotations

from collections.abc import Mapping


class WorkflowError(Exception):
    """Base of everything the engine refuses, with a message meant for the user."""

    title = "Refused"

    def __init__(
        self,
        detail: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        *,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
    ):
        from workflow import messages

        self.code = code
        self.params = dict(params or {})
        if detail is None:
            detail = messages.english(code or "", self.params)
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


class Unavailable(WorkflowError):
    """Something the server needs to answer is not there (a program not installed): the
    request was fine, the server cannot do it now."""

    title = "Not available"


class Conflict(WorkflowError):
    """The thing exists already or clashes with what is there (a second rating, a duplicate)."""

    title = "Conflict"
