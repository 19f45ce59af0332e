"""A definition file's own check sentences (workflow/spec/checks.py) in the user's language.

The checks word their problems in English for the CLI and the API; the upload page finds each
sentence's wording here (the English with its values as named params, a msgid of the console
catalogue) and says it from the catalogue. A sentence not listed is shown as the check wrote it."""

from __future__ import annotations

import re

from flask_babel import gettext

from workflow.messages import N_

CHECKS = [
    N_("unknown state '%(state)s'"),
    N_("a final state has no tier"),
    N_("a working state needs a tier"),
    N_("a final state has no timeout"),
    N_("no transition '%(trigger)s' leaves '%(state)s'"),
    N_("'%(trigger)s' must list the role 'system'"),
    N_("'%(trigger)s' leaves '%(state)s' twice"),
    N_("final state '%(state)s' cannot be left"),
    N_("no one may fire '%(trigger)s': roles %(roles)s do not act in a %(tier)s state"),
    N_("unreachable from the initial state"),
    N_("a working state with no way out"),
    N_("tasks are opened in a working state held by the commanding unit"),
    N_("the initial state cannot open tasks: nothing names their units yet"),
    N_("'%(trigger)s' enters '%(state)s' without naming its units (target: whistle_to)"),
    N_("a task state needs a way out for after the join"),
    N_("%(code)s appears twice"),
    N_("must name the district or a street_office unit"),
    N_("must name a %(kind)s unit"),
    N_("%(code)s has a %(kind)s already: %(other)s"),
    N_("a party department is not under the district government: leave it empty"),
    N_("must name a street office"),
    N_("only a stationed agency has one"),
    N_("unknown route '%(route)s'"),
    N_("a party item's department is a party body, not '%(department)s'"),
    N_("unknown department '%(department)s'"),
    N_("unknown agency kind '%(kind)s'"),
    N_("whistle target '%(target)s' is not a department"),
    N_("'%(code)s' is not a department"),
    N_("'%(code)s' is not among the item's whistle_to"),
    N_("'%(unit)s' leads already"),
    N_("assisting units need a lead unit"),
    N_(
        "a party item is received and decided on the party line (party_committee, "
        "street_party); route %(route)s puts %(states)s in a workstation clerk's hands"
    ),
    N_(
        "a people's mediation item starts at the residents' committee's mediation committee; "
        "route %(route)s starts elsewhere"
    ),
    N_("no %(body)s for %(units)s (and %(n)s more)"),
    N_("no %(body)s for %(units)s"),
    N_("route %(route)s needs it for %(state)s"),
    N_("route %(route)s needs a limit for the %(tier)s tier"),
    N_("route %(route)s can whistle: name at least one department"),
    # A street's routing table (workflow/catalog/street_routing.py).
    N_("%(street)s is not a street office"),
    N_("no item %(code)s in list version %(version)s"),
    N_("%(unit)s is neither %(street)s nor an agency stationed in it"),
    N_("route %(route)s has no %(tier)s stage"),
    N_("the district sets no such limit here"),
    N_(
        "%(mine)s working days would lengthen the district's %(district)s: "
        "a street may only shorten it"
    ),
    # The places files (workflow/places/files.py).
    N_("missing file (places/ needs the boundaries)"),
    N_("malformed JSON: %(error)s"),
    N_("more than %(n)s features"),
    N_("required: the workstation's code"),
    N_("%(code)s is not a workstation in units.csv"),
    N_("%(code)s has a boundary already at %(place)s"),
    N_("workstation %(code)s has no boundary: every community needs one"),
    N_("must be a Polygon or a MultiPolygon"),
    N_("malformed coordinates: rings of [longitude, latitude] pairs"),
    N_("empty"),
    N_("coordinates are [longitude, latitude] in decimal degrees"),
    N_("not a valid polygon: %(why)s"),
    N_("overlaps %(place)s by about %(m2)s m²: a place belongs to one community"),
    N_("one of %(choices)s"),
    N_("the range ends before it starts (%(start)s > %(end)s)"),
    N_("%(what)s is given to %(code)s at row %(row)s"),
]


def _pattern(wording: str) -> re.Pattern[str]:
    parts = re.split(r"%\((\w+)\)s", wording.replace("%%", "%"))
    rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(f"^{rx}$")


_PATTERNS = [(_pattern(w), w) for w in CHECKS]


def check_text(message: str) -> str | None:
    """MESSAGE in the user's language when it is one of the checks' sentences, else None."""
    for pattern, wording in _PATTERNS:
        m = pattern.match(message)
        if m:
            return gettext(wording, **m.groupdict())
    return None
