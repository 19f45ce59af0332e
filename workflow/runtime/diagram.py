"""A route as a picture, drawn by Graphviz: each tier a swimlane (a cluster with its own colour and
name), the final states beside them, a legend; in the words the caller gives (the console's
Chinese or English labels), else the route's own codes (the API and the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import graphviz

from workflow.errors import Unavailable
from workflow.spec.model import RouteSpec

TIER_COLOURS = {
    "workstation": "#dbeafe",
    "street_office": "#dcfce7",
    "agency": "#fef9c3",
    "department": "#fde2e2",
    "applicant": "#eeeeee",
    "party_committee": "#fce7f3",
    "mediation_committee": "#ede9fe",
    "street_party": "#ffedd5",
}
OTHER_COLOUR = "#f1f5f9"
FONT = "Noto Sans CJK SC"


def _same(code: str) -> str:
    return code


@dataclass(frozen=True)
class Words:
    """How the picture names things; the defaults are the route's codes."""

    state: Callable[[str], str] = _same
    trigger: Callable[[str], str] = _same
    tier: Callable[[str], str] = _same
    title: str | None = None
    tasks: Callable[[str, str], str] = field(
        default=lambda per, join: f"∥ tasks per {per}, join {join}"
    )
    legend: str = "legend"
    reason: str = "* a reason is required"
    final: str = "final state"


def _state_label(route: RouteSpec, name: str, words: Words) -> str:
    said = words.state(name)
    return said if said == name else f"{said}\n{name}"


def route_svg(route: RouteSpec, words: Words | None = None) -> bytes:
    """The route's diagram as SVG: states grouped by tier, transitions labelled by trigger (a
    star where a reason is required), a task state drawn as a stack."""
    w = words or Words()
    g = graphviz.Digraph(
        name=route.name,
        graph_attr={
            "rankdir": "LR",
            "fontname": FONT,
            "label": w.title or f"{route.name}: {route.title_zh}",
            "labelloc": "t",
            "fontsize": "16",
            "nodesep": "0.3",
            "ranksep": "0.5",
        },
        node_attr={"fontname": FONT, "fontsize": "11", "shape": "box", "style": "rounded,filled"},
        edge_attr={"fontname": FONT, "fontsize": "10", "color": "#475569"},
    )
    tiers: dict[str, list[str]] = {}
    for s in route.states:
        if s.final:
            g.node(s.name, _state_label(route, s.name, w), shape="doublecircle", fillcolor="white")
            continue
        tiers.setdefault(s.tier or "", []).append(s.name)
    for tier, names in tiers.items():
        colour = TIER_COLOURS.get(tier, OTHER_COLOUR)
        with g.subgraph(name=f"cluster_{tier or 'none'}") as lane:
            lane.attr(label=w.tier(tier) if tier else "", style="filled", color=colour)
            lane.attr(fillcolor=colour + "80", fontsize="12")
            for name in names:
                s = route.state(name)
                label = _state_label(route, name, w)
                if s.tasks is not None:
                    # A task state: parallel tasks, one per unit, and the join that lets it out.
                    label += "\n" + w.tasks(s.tasks.per, s.tasks.join)
                    lane.node(name, label, shape="box3d", style="filled", fillcolor=colour)
                else:
                    lane.node(name, label, fillcolor=colour)
    g.node("__start", "", shape="point", width="0.15")
    g.edge("__start", route.initial)
    for t in route.transitions:
        g.edge(t.source, t.dest, label=w.trigger(t.trigger) + ("*" if t.reason_required else ""))
    with g.subgraph(name="cluster_legend") as legend:
        legend.attr(label=w.legend, style="dashed", color="#94a3b8", fontsize="11")
        legend.node("__reason", w.reason, shape="plaintext", style="")
        legend.node("__final", w.final, shape="doublecircle", fillcolor="white", fontsize="9")
    try:
        svg: bytes = g.pipe(format="svg")
    except graphviz.ExecutableNotFound:  # the server's setup, not the request: said as such
        raise Unavailable(code="no_graphviz") from None
    return svg
