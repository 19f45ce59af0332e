"""What the authority tests share: the Zhuhai Road variant of the incident route."""

from __future__ import annotations

from typing import Any

from workflow.config import DEFAULT_DEFINITIONS
from workflow.spec.loader import read_route_text
from workflow.spec.model import RouteSpec

INCIDENT = (DEFAULT_DEFINITIONS / "routes" / "incident.yaml").read_text(encoding="utf-8")
# Zhuhai Road's workstations may resolve a small incident on the spot, without accepting first.
ON_SITE = "  - {trigger: resolve_on_site, source: reported, dest: resolved, roles: [clerk]}\n"
VARIANT_YAML = INCIDENT.replace(
    "  - {trigger: accept, source: reported,", ON_SITE + "  - {trigger: accept, source: reported,"
)
assert VARIANT_YAML != INCIDENT


def variant() -> RouteSpec:
    route, problems = read_route_text(VARIANT_YAML, "incident.yaml")
    assert route is not None and not problems, problems
    return route


def variant_json() -> dict[str, Any]:
    from workflow.spec.serialize import route_to_data

    return route_to_data(variant())
