"""What fire() relies on in transitions, held directly: the package is pinned to its minor version
(pyproject.toml) and this says why. fire() never adds a case to a machine; it hands
`machine.events[trigger].trigger(model)` a short-lived model the machine never registered."""

from __future__ import annotations

from typing import Any

import pytest
from transitions import EventData, Machine, MachineError


class Model:
    def __init__(self, state: str) -> None:
        self.state = state
        self.calls: list[str] = []


def _machine(allow: bool = True) -> Machine:
    def condition(ev: EventData) -> bool:
        ev.model.calls.append("condition")
        return allow

    def before(ev: EventData) -> None:
        ev.model.calls.append(f"before:{ev.model.state}")

    def after(ev: EventData) -> None:
        ev.model.calls.append(f"after:{ev.model.state}")

    return Machine(
        model=None,
        states=["submitted", "processing", "completed"],
        transitions=[
            {
                "trigger": "accept",
                "source": "submitted",
                "dest": "processing",
                "conditions": [condition],
                "before": [before],
                "after": [after],
            },
            {"trigger": "complete", "source": "processing", "dest": "completed"},
        ],
        initial="submitted",
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )


def test_an_unregistered_model_moves_and_the_machine_keeps_no_model() -> None:
    machine = _machine()
    model = Model("processing")
    other = Model("submitted")
    assert machine.events["complete"].trigger(model) is True
    assert machine.events["accept"].trigger(other) is True
    assert (model.state, other.state) == ("completed", "processing")
    # Conditions and callbacks ran in order, with the state set between before and after.
    assert other.calls == ["condition", "before:submitted", "after:processing"]
    assert machine.models == []


def test_a_failed_condition_leaves_the_state() -> None:
    machine = _machine(allow=False)
    model = Model("submitted")
    assert machine.events["accept"].trigger(model) is False
    assert model.state == "submitted" and model.calls == ["condition"]


def test_a_trigger_from_the_wrong_state_raises_and_changes_nothing() -> None:
    machine = _machine()
    model = Model("completed")
    with pytest.raises(MachineError):
        machine.events["accept"].trigger(model)
    assert model.state == "completed"


def test_triggers_of_a_state_and_no_automatic_ones() -> None:
    machine = _machine()
    triggers: Any = machine.get_triggers("submitted")
    assert list(triggers) == ["accept"]
    assert set(machine.events) == {"accept", "complete"}  # no to_<state> triggers
