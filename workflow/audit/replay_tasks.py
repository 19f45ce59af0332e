"""Tasks in replay: each task's row as its trail events build it (its steps carry its id)."""

from __future__ import annotations

from typing import Any

from workflow.runtime.tasks import TASK_ACTIONS

Row = dict[str, Any]

# What the trail determines of a task's row.
TASK_FIELDS = (
    "case_id",
    "round",
    "state",
    "unit",
    "lead",
    "required",
    "status",
    "version",
    "result",
    "report_due_at",
    "due_at",
    "created_at",
    "updated_at",
    # not an event's: the case's street, as the case's own events leave it (streets())
    "street",
)
__all__ = ["TASK_ACTIONS", "TASK_FIELDS", "apply", "extended", "streets"]


def apply(tasks: dict[int, Row], ev: Any, d: Row, at: str) -> None:
    """Fold one task event (oldest first) into the task rows."""
    task_id = d.get("task")
    if task_id is None:
        return
    if ev.action == "task.opened":
        tasks[task_id] = {
            "case_id": ev.case_id,
            "round": d.get("round"),
            "state": ev.to_state,
            "unit": ev.to_holder,
            "lead": d.get("lead"),
            "required": d.get("required"),
            "status": d.get("status"),
            "version": 1,
            "result": None,
            "report_due_at": d.get("report_due_at"),
            "due_at": d.get("due_at"),
            "created_at": at,
            "updated_at": at,
        }
        return
    task = tasks.setdefault(task_id, {"version": 0})
    task.update(status=d.get("status"), version=task["version"] + 1, updated_at=at)
    if "due_at" in d:
        task["due_at"] = d["due_at"]
    if "report_due_at" in d:
        task["report_due_at"] = d["report_due_at"]
    if ev.action == "task.done":
        task["result"] = d.get("result")


def extended(tasks: dict[int, Row], d: Row) -> None:
    """An approved extension of a task's step moves that step's limit (not a step: no version)."""
    task = tasks.get(d["task"])
    if task is not None and "task_due_at" in d:
        key = "report_due_at" if task.get("status") == "awaiting_report" else "due_at"
        task[key] = d["task_due_at"]


def streets(tasks: dict[int, Row], cases: dict[int, Row]) -> None:
    """Each task's street: its case's, as replayed (a task carries it for the street's boards;
    a case placed in another street moves its tasks along)."""
    for task in tasks.values():
        case_id = task.get("case_id")
        case = cases.get(case_id) if case_id is not None else None
        if case is not None and "street" in case:
            task["street"] = case["street"]
