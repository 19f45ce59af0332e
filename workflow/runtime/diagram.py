"""A route as a picture: transitions' diagram support, drawn by Graphviz."""

from __future__ import annotations

from typing import Any

from transitions.extensions import GraphMachine

from workflow.spec.model import RouteSpec

TIER_COLOURS = {
    "workstation": "#dbeafe",
    "street_office": "#dcfce7",
    "agency": "#fef9c3",
    "department": "#fde2e2",
    "applicant": "#eeeeee",
}


class _Drawing:
    """A throwaway model: only the picture needs one; cases never do."""

    state: str


def route_svg(route: RouteSpec) -> bytes:
    states: list[dict[str, Any]] = []
    for s in route.states:
        label = s.name if s.final else f"{s.name}\n({s.tier})"
        states.append({"name": s.name, "final": s.final, "label": label})
    transitions = [
        {
            "trigger": t.trigger + ("*" if t.reason_required else ""),
            "source": t.source,
            "dest": t.dest,
        }
        for t in route.transitions
    ]
    model = _Drawing()
    machine = GraphMachine(
        model=model,
        states=[s["name"] for s in states],
        transitions=transitions,
        initial=route.initial,
        auto_transitions=False,
        graph_engine="graphviz",
        title=f"{route.name}: {route.title_zh}",
        show_state_attributes=False,
    )
    graph = machine.get_graph()
    for s in route.states:
        attrs = {"label": s.name if s.final else f"{s.name}\\n{s.tier}"}
        if s.final:
            attrs.update(shape="doublecircle", fillcolor="#ffffff")
        elif s.tier:
            attrs.update(style="rounded,filled", fillcolor=TIER_COLOURS[s.tier])
        if s.tasks is not None:
            # A task state: parallel tasks, one per unit, and the join that lets the case out.
            attrs.update(
                shape="box3d",
                style="filled",
                label=f"{s.name}\\n{s.tier}\\n∥ tasks per {s.tasks.per}, join {s.tasks.join}",
            )
        graph.node(s.name, **attrs)
    graph.graph_attr.update(fontname="Noto Sans CJK SC", rankdir="LR")
    svg: bytes = graph.pipe(format="svg")
    return svg
