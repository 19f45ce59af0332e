"""The engine's refusals and the file checks' problems in the console user's language.

A refusal with a code (workflow/messages.py) is said from the console catalogue, its params named
in the user's words: a trigger, a state or a tier by its label, a unit by its name. Marshmallow's
own messages (a spreadsheet's cell, a route's field) are its fixed English sentences: the ones
users meet are translated here too. Anything else is shown as it came."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from flask_babel import gettext

from api.console import labels
from workflow import messages
from workflow.errors import WorkflowError
from workflow.messages import N_

# The words of a refusal's nouns and fields, as the console says them.
NOUNS = {
    "case": N_("case"),
    "task": N_("task"),
    "stage": N_("stage"),
    "step": N_("step"),
    "supervision": N_("supervision"),
    "extension": N_("extension request"),
    "return": N_("return request"),
    "return_request": N_("return request"),
    "feedback": N_("feedback"),
    "rating": N_("rating"),
    "appeal": N_("appeal"),
    "rectification": N_("rectification"),
    "reason": N_("reason"),
    "explanation": N_("explanation"),
    "report": N_("report"),
    "result": N_("result"),
    "description": N_("description"),
    "applicant_name": N_("applicant's name"),
    "applicant_phone": N_("applicant's phone"),
    "comment": N_("comment"),
    "data": N_("data"),
    "form": N_("form"),
    "lat": N_("latitude"),
    "long": N_("longitude"),
    "address": N_("address"),
    "route": N_("route"),
    "list": N_("item list"),
}

STATUSES = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "refused": N_("refused"),
    "lapsed": N_("lapsed"),
}


def _unit(code: object) -> str:
    from api.console.common import unit_name

    return unit_name(str(code)) if code else "—"


def _noun(value: object) -> str:
    word = NOUNS.get(str(value))
    return gettext(word) if word is not None else str(value)


def _status(value: object) -> str:
    key = str(value)
    if key in labels.TASK_STATUSES:
        return labels.label("task", key)
    word = STATUSES.get(key)
    return gettext(word) if word is not None else key


def _trigger_or_step(value: object) -> str:
    key = str(value)
    if key in labels.TRIGGERS:
        return labels.label("trigger", key)
    return labels.label("task_step", key)


def _fields(value: object) -> str:
    return _noun(value)


def _problem(value: object) -> str:
    """A file check's "place: sentence", its sentence in the user's language."""
    place, sep, message = str(value).partition(": ")
    return f"{place}{sep}{problem_text(message)}" if sep else problem_text(place)


# How each named param is said: by its name in the code's wording.
PARAMS: dict[str, Callable[[object], str]] = {
    "trigger": _trigger_or_step,
    "step": _trigger_or_step,
    "state": lambda v: labels.label("state", str(v)),
    "tier": lambda v: labels.label("tier", str(v)),
    "urgency": lambda v: labels.label("urgency", str(v)),
    "role": lambda v: labels.label("role", str(v)),
    "roles": lambda v: labels.label("role", str(v)),
    "allowed": _trigger_or_step,
    "status": _status,
    "holder": _unit,
    "unit": _unit,
    "units": _unit,
    "workstation": _unit,
    "target": _unit,
    "street": _unit,
    "centre": _unit,
    "definition": _noun,
    "states": lambda v: labels.label("state", str(v)),
    "what": _noun,
    "field": _noun,
    "fields": _fields,
    "kind": lambda v: labels.label("unit_kind", str(v)),
    "kinds": lambda v: labels.label("unit_kind", str(v)),
    "problems": _problem,
}


def _param(name: str, value: object) -> str:
    say = PARAMS.get(name)
    if isinstance(value, list | tuple):
        words = [say(v) if say else str(v) for v in value]
        if name == "problems":
            return "；".join(words) if labels.is_zh() else "; ".join(words)
        return "、".join(words) if labels.is_zh() else ", ".join(words)
    if say is None or value is None:
        return str(value)
    return say(value)


def say(exc: WorkflowError) -> str:
    """The refusal in the user's language: its code's wording, else its detail as it came
    (a refusal worded by the console itself, already translated)."""
    code = getattr(exc, "code", None)
    if code is None or code not in messages.MESSAGES:
        return exc.detail
    return say_code(code, exc.params)


def say_code(code: str, params: Mapping[str, object]) -> str:
    wording = messages.MESSAGES[code]
    return gettext(wording, **{k: _param(k, v) for k, v in params.items()})


# Marshmallow's own messages (its fields' and validators' defaults), as users meet them in the
# checks of an uploaded route or list. Exact sentences first, then those with values.
MARSHMALLOW = {
    "Not a valid integer.": N_("Not a valid integer."),
    "Not a valid number.": N_("Not a valid number."),
    "Not a valid string.": N_("Not a valid string."),
    "Not a valid boolean.": N_("Not a valid boolean."),
    "Not a valid list.": N_("Not a valid list."),
    "Not a valid mapping type.": N_("Not a valid mapping type."),
    "Not a valid date.": N_("Not a valid date."),
    "Not a valid datetime.": N_("Not a valid datetime."),
    "Not a valid email address.": N_("Not a valid email address."),
    "Missing data for required field.": N_("Missing data for required field."),
    "Field may not be null.": N_("Field may not be null."),
    "Unknown field.": N_("Unknown field."),
    "Invalid input type.": N_("Invalid input type."),
    "Invalid value.": N_("Invalid value."),
    "Shorter than minimum length 1.": N_("Must not be empty."),
    "Length must be between 1 and 1.": N_("Must be one character."),
}
_WITH_VALUES: list[tuple[re.Pattern[str], Callable[..., str]]] = [
    (
        re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"),
        lambda min: gettext("Must be %(min)s or more.", min=min),
    ),
    (
        re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"),
        lambda max: gettext("Must be %(max)s or less.", max=max),
    ),
    (
        re.compile(
            r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to "
            r"(?P<max>\S+)\.$"
        ),
        lambda min, max: gettext("Must be from %(min)s to %(max)s.", min=min, max=max),
    ),
    (
        re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"),
        lambda max: gettext("At most %(max)s characters.", max=max),
    ),
    (
        re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"),
        lambda min: gettext("At least %(min)s characters.", min=min),
    ),
    (
        re.compile(r"^Must be one of: (?P<choices>.*)\.$"),
        lambda choices: gettext("Must be one of: %(choices)s.", choices=choices),
    ),
    (
        re.compile(r"^String does not match expected pattern\.$"),
        lambda: gettext("Not in the expected form."),
    ),
]


def problem_text(message: str) -> str:
    """A file check's problem in the user's language where it is one of marshmallow's own
    sentences (or several, joined by spaces) or one of the definition checks' own
    (api/console/check_wording.py); otherwise as the check wrote it."""
    from api.console.check_wording import check_text

    said = check_text(message)
    if said is not None:
        return said
    parts = [p for p in re.split(r"(?<=\.) (?=[A-Z])", message) if p]
    out = []
    for part in parts:
        exact = MARSHMALLOW.get(part)
        if exact is not None:
            out.append(gettext(exact))
            continue
        for pattern, word in _WITH_VALUES:
            m = pattern.match(part)
            if m:
                out.append(word(**m.groupdict()))
                break
        else:
            out.append(part)
    return ("" if labels.is_zh() else " ").join(out)
