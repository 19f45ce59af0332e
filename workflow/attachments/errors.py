"""The refusals of a file, each with its HTTP status in api/problems.py."""

from __future__ import annotations

from workflow.errors import WorkflowError


class TooLarge(WorkflowError):
    """The file is over the size limit (STREETFLOW_ATTACHMENT_MAX_BYTES): 413."""

    title = "File too large"


class UnsupportedType(WorkflowError):
    """The file's content is not a kind we take, or not the kind it claims to be: 415."""

    title = "Unsupported file type"


class Damaged(WorkflowError):
    """A stored file is missing, or its bytes no longer give its SHA-256: never served (500),
    named by `streetflow attachments verify`."""

    title = "Stored file damaged"
