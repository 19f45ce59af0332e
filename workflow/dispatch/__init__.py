"""The dispatch centre (派单中心, 12345/12349) and duplicates (合并).

- `centre`: a case opened at the centre's queue without a workstation (`open_at_dispatch`),
  classified, placed, dispatched (`dispatch`) or answered on the spot (`answer`); the queue.
- `duplicates`: likely duplicates of a case (`similar`) and merging one into another (`merge`).

The engine (workflow.runtime) knows nothing of either; they call it."""

from workflow.dispatch.centre import (
    DESTINATION_TIERS,
    Destination,
    answer,
    classify,
    default_centre,
    destinations,
    dispatch,
    open_at_dispatch,
    place,
    queue,
)
from workflow.dispatch.duplicates import merge, similar

__all__ = [
    "DESTINATION_TIERS",
    "Destination",
    "answer",
    "classify",
    "default_centre",
    "destinations",
    "dispatch",
    "merge",
    "open_at_dispatch",
    "place",
    "queue",
    "similar",
]
